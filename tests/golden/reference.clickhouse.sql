WITH "ev" AS (
  SELECT
    "lead_id" AS "k",
    lowerUTF8(replaceAll(replaceAll("kind", 'İ', 'i'), 'Σ', 'σ')) AS "typ",
    1772323200000000 - toUnixTimestamp64Micro("occurred_at") AS "age",
    "asset" AS "e0",
    lowerUTF8(replaceAll(replaceAll("page", 'İ', 'i'), 'Σ', 'σ')) AS "e1"
  FROM "events"
  WHERE
    1772323200000000 - toUnixTimestamp64Micro("occurred_at") >= 0
), "fade" AS (
  SELECT
    *,
    LEAST(
      CAST("age" AS Nullable(Float64)) / CAST(86400000000 AS Nullable(Float64)) / CAST(30 AS Nullable(Float64)),
      CAST(31 AS Nullable(Float64))
    ) AS "hx30",
    FLOOR(
      LEAST(
        CAST("age" AS Nullable(Float64)) / CAST(86400000000 AS Nullable(Float64)) / CAST(30 AS Nullable(Float64)),
        CAST(31 AS Nullable(Float64))
      )
    ) AS "hn30",
    LEAST(
      CAST("age" AS Nullable(Float64)) / CAST(86400000000 AS Nullable(Float64)) / CAST(30 AS Nullable(Float64)),
      CAST(31 AS Nullable(Float64))
    ) - FLOOR(
      LEAST(
        CAST("age" AS Nullable(Float64)) / CAST(86400000000 AS Nullable(Float64)) / CAST(30 AS Nullable(Float64)),
        CAST(31 AS Nullable(Float64))
      )
    ) AS "hf30"
  FROM "ev"
), "agg" AS (
  SELECT
    "k",
    COUNT(CASE WHEN (
      "typ" = 'page_view'
    ) AND (
      "age" < 604800000000
    ) THEN 1 END) AS "a0",
    COUNT(
      CASE
        WHEN (
          (
            "typ" = 'page_view'
          ) AND (
            "e1" = '/pricing'
          )
        )
        AND (
          "age" < 2592000000000
        )
        THEN 1
      END
    ) AS "a1",
    COUNT(CASE WHEN "typ" = 'demo_request' THEN 1 END) AS "a2",
    COUNT(CASE WHEN (
      "typ" = 'email_open'
    ) AND (
      "age" < 7776000000000
    ) THEN 1 END) AS "a3",
    COUNT(CASE WHEN "typ" = 'email_click' THEN 1 END) AS "a4",
    COUNT(CASE WHEN (
      "typ" = 'page_view'
    ) AND startsWith("e1", '/lp/') THEN 1 END) AS "a5",
    COUNT(
      CASE
        WHEN (
          "typ" = 'form_submit'
        ) AND (
          NOT (
            "e0" IS NULL
          )
        )
        THEN 1
      END
    ) AS "a6",
    COUNT(CASE WHEN (
      "typ" = 'page_view'
    ) AND (
      "e1" = '/pricing'
    ) THEN 1 END) AS "a7",
    COUNT(CASE WHEN "typ" = 'webinar' THEN 1 END) AS "a8",
    SUM(
      CASE
        WHEN "typ" = 'webinar'
        THEN FLOOR(
          (
            (
              CAST(1 AS Nullable(Float64)) + (
                "hf30" * (
                  CAST(-0.693147180559919 AS Nullable(Float64)) + (
                    "hf30" * (
                      CAST(0.240226506957841 AS Nullable(Float64)) + (
                        "hf30" * (
                          CAST(-0.0555041086437632 AS Nullable(Float64)) + (
                            "hf30" * (
                              CAST(0.00961812893247503 AS Nullable(Float64)) + (
                                "hf30" * CAST(-0.00133335497467228 AS Nullable(Float64))
                              )
                            )
                          )
                        )
                      )
                    )
                  )
                )
              ) + (
                "hf30" * "hf30" * "hf30" * "hf30" * "hf30" * "hf30" * (
                  CAST(0.000154032804189845 AS Nullable(Float64)) + (
                    "hf30" * (
                      CAST(-0.0000152479582594481 AS Nullable(Float64)) + (
                        "hf30" * (
                          CAST(1.31566625130589e-06 AS Nullable(Float64)) + (
                            "hf30" * (
                              CAST(-9.7233150272112E-8 AS Nullable(Float64)) + (
                                "hf30" * CAST(5.00900713988073e-09 AS Nullable(Float64))
                              )
                            )
                          )
                        )
                      )
                    )
                  )
                )
              )
            ) * (
              POWER(CAST(0.5 AS Nullable(Float64)), "hn30")
            ) * CAST(1000000000 AS Nullable(Float64))
          ) + CAST(0.5 AS Nullable(Float64))
        )
      END
    ) AS "a9",
    COUNT(CASE WHEN (
      "typ" = 'page_view'
    ) AND startsWith("e1", '/careers') THEN 1 END) AS "a10",
    COUNT(CASE WHEN "typ" = 'unsubscribe' THEN 1 END) AS "a11",
    MIN("age") AS "a12"
  FROM "fade"
  GROUP BY
    "k"
), "base" AS (
  SELECT
    "l"."id" AS "k",
    lowerUTF8(replaceAll(replaceAll("l"."account", 'İ', 'i'), 'Σ', 'σ')) AS "f0",
    lowerUTF8(replaceAll(replaceAll("l"."country", 'İ', 'i'), 'Σ', 'σ')) AS "f1",
    toUnixTimestamp64Micro("l"."created_at") AS "f2",
    lowerUTF8(replaceAll(replaceAll("l"."email", 'İ', 'i'), 'Σ', 'σ')) AS "f3",
    CAST("l"."employees" AS Nullable(Float64)) AS "f4",
    lowerUTF8(replaceAll(replaceAll("l"."industry", 'İ', 'i'), 'Σ', 'σ')) AS "f5",
    lowerUTF8(replaceAll(replaceAll("l"."plan_interest", 'İ', 'i'), 'Σ', 'σ')) AS "f6",
    lowerUTF8(replaceAll(replaceAll("l"."title", 'İ', 'i'), 'Σ', 'σ')) AS "f7",
    COALESCE("agg"."a0", 0) AS "a0",
    COALESCE("agg"."a1", 0) AS "a1",
    COALESCE("agg"."a2", 0) AS "a2",
    COALESCE("agg"."a3", 0) AS "a3",
    COALESCE("agg"."a4", 0) AS "a4",
    COALESCE("agg"."a5", 0) AS "a5",
    COALESCE("agg"."a6", 0) AS "a6",
    COALESCE("agg"."a7", 0) AS "a7",
    COALESCE("agg"."a8", 0) AS "a8",
    COALESCE(CAST("agg"."a9" AS Nullable(Float64)), CAST(0 AS Nullable(Float64))) AS "a9",
    COALESCE("agg"."a10", 0) AS "a10",
    COALESCE("agg"."a11", 0) AS "a11",
    "agg"."a12" AS "a12"
  FROM "leads" AS "l"
  LEFT JOIN "agg" AS "agg"
    ON "l"."id" = "agg"."k"
), "s0" AS (
  SELECT
    *,
    CASE
      WHEN "f5" IN ('software', 'saas', 'it services')
      THEN CAST(20 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b0",
    CASE
      WHEN match("f7", '(chief|head|director|vp)')
      THEN CAST(15 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b1",
    CASE
      WHEN "f4" >= CAST(200 AS Nullable(Float64))
      THEN CAST(10 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b2",
    CASE
      WHEN "f1" IN ('cr', 'pa')
      THEN CAST(8 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b3",
    CASE
      WHEN match("f7", 'student')
      THEN CAST(-30 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b4",
    CASE
      WHEN endsWith("f3", '@gmail.com')
      THEN CAST(-10 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b5",
    "a3" AS "b7",
    "a4" AS "b9",
    "a5" AS "b11",
    "a6" AS "b13",
    "a7" AS "b15",
    "a2" AS "b17",
    "a8" AS "b19",
    CAST(20 AS Nullable(Float64)) * "a9" / CAST(1000000000 AS Nullable(Float64)) AS "b20",
    CASE
      WHEN "a0" >= CAST(3 AS Nullable(Float64))
      THEN CAST(10 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b21",
    "a10" AS "b22",
    "a11" AS "b24",
    CASE WHEN endsWith("f3", '@rival.com') THEN 'competitor' ELSE NULL END AS "b29",
    CASE
      WHEN "f4" >= CAST(1000 AS Nullable(Float64))
      THEN 'enterprise'
      WHEN "f4" < CAST(50 AS Nullable(Float64))
      THEN 'smb'
      ELSE 'default'
    END AS "b30",
    "a2" > CAST(0 AS Nullable(Float64)) AS "b32",
    "a1" > CAST(0 AS Nullable(Float64)) AS "b35",
    "a2" > CAST(0 AS Nullable(Float64)) AS "b39",
    "a1" > CAST(0 AS Nullable(Float64)) AS "b42"
  FROM "base"
), "s1" AS (
  SELECT
    *,
    "b0" + "b1" + "b2" + "b3" + "b4" + "b5" AS "b6",
    LEAST(CAST(1 AS Nullable(Float64)) * "b7", CAST(10 AS Nullable(Float64))) AS "b8",
    LEAST(CAST(5 AS Nullable(Float64)) * "b9", CAST(25 AS Nullable(Float64))) AS "b10",
    LEAST(CAST(15 AS Nullable(Float64)) * "b11", CAST(45 AS Nullable(Float64))) AS "b12",
    LEAST(
      CASE
        WHEN "b13" >= CAST(1 AS Nullable(Float64))
        THEN CAST(25 AS Nullable(Float64)) + (
          CAST(5 AS Nullable(Float64)) * (
            "b13" - CAST(1 AS Nullable(Float64))
          )
        )
        ELSE CAST(0 AS Nullable(Float64))
      END,
      CAST(40 AS Nullable(Float64))
    ) AS "b14",
    CASE
      WHEN "b15" >= CAST(1 AS Nullable(Float64))
      THEN CAST(30 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b16",
    CASE
      WHEN "b17" >= CAST(1 AS Nullable(Float64))
      THEN CAST(50 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b18",
    GREATEST(CAST(-10 AS Nullable(Float64)) * "b22", CAST(-20 AS Nullable(Float64))) AS "b23",
    CASE
      WHEN "b24" >= CAST(1 AS Nullable(Float64))
      THEN CAST(-50 AS Nullable(Float64))
      ELSE CAST(0 AS Nullable(Float64))
    END AS "b25",
    "b32" AS "b33",
    "b35" AS "b36",
    "b39" AS "b40",
    "b42" AS "b43"
  FROM "s0"
), "s2" AS (
  SELECT
    *,
    LEAST(
      "b8" + "b10" + "b12" + "b14" + "b16" + "b18" + "b20" + "b21" + "b23" + "b25",
      CAST(150 AS Nullable(Float64))
    ) AS "b26",
    CASE
      WHEN "b6" >= CAST(40 AS Nullable(Float64))
      THEN 'A'
      WHEN "b6" >= CAST(25 AS Nullable(Float64))
      THEN 'B'
      WHEN "b6" >= CAST(10 AS Nullable(Float64))
      THEN 'C'
      ELSE 'D'
    END AS "b47"
  FROM "s1"
), "s3" AS (
  SELECT
    *,
    CASE
      WHEN "b26" > CAST(0 AS Nullable(Float64))
      THEN GREATEST(
        CAST(0 AS Nullable(Float64)),
        "b26" - (
          CAST(10 AS Nullable(Float64)) * GREATEST(
            CAST(0 AS Nullable(Float64)),
            COALESCE(
              FLOOR(
                FLOOR(
                  CAST(COALESCE("a12", 1772323200000000 - "f2") AS Nullable(Float64)) / CAST(86400000000 AS Nullable(Float64))
                ) / CAST(30 AS Nullable(Float64))
              ),
              CAST(0 AS Nullable(Float64))
            )
          )
        )
      )
      ELSE "b26"
    END AS "b27"
  FROM "s2"
), "s4" AS (
  SELECT
    *,
    GREATEST(CAST(0 AS Nullable(Float64)), LEAST("b6" + "b27", CAST(200 AS Nullable(Float64)))) AS "b28"
  FROM "s3"
), "s5" AS (
  SELECT
    *,
    "b28" >= CAST(150 AS Nullable(Float64)) AS "b31",
    "b28" >= CAST(100 AS Nullable(Float64)) AS "b34",
    "b28" >= CAST(40 AS Nullable(Float64)) AS "b37",
    "b28" >= CAST(190 AS Nullable(Float64)) AS "b38",
    "b28" >= CAST(140 AS Nullable(Float64)) AS "b41",
    "b28" >= CAST(60 AS Nullable(Float64)) AS "b44"
  FROM "s4"
), "s6" AS (
  SELECT
    *,
    CASE
      WHEN NOT (
        "b29" IS NULL
      )
      THEN 'disqualified'
      ELSE CASE
        WHEN "b30" = 'enterprise'
        THEN CASE
          WHEN "b38" AND "b40"
          THEN 'sql'
          WHEN "b41" AND "b43"
          THEN 'mql'
          WHEN "b44"
          THEN 'nurture'
          ELSE 'cold'
        END
        ELSE CASE
          WHEN "b31" AND "b33"
          THEN 'sql'
          WHEN "b34" AND "b36"
          THEN 'mql'
          WHEN "b37"
          THEN 'nurture'
          ELSE 'cold'
        END
      END
    END AS "b45",
    CASE
      WHEN NOT (
        "b29" IS NULL
      )
      THEN NULL
      ELSE CASE
        WHEN "b30" = 'enterprise'
        THEN CASE
          WHEN "b38" AND "b40"
          THEN NULL
          WHEN "b38"
          THEN 'sql'
          WHEN "b41" AND "b43"
          THEN NULL
          WHEN "b41"
          THEN 'mql'
          WHEN "b44"
          THEN NULL
          ELSE NULL
        END
        ELSE CASE
          WHEN "b31" AND "b33"
          THEN NULL
          WHEN "b31"
          THEN 'sql'
          WHEN "b34" AND "b36"
          THEN NULL
          WHEN "b34"
          THEN 'mql'
          WHEN "b37"
          THEN NULL
          ELSE NULL
        END
      END
    END AS "b46"
  FROM "s5"
), "s7" AS (
  SELECT
    *,
    CASE
      WHEN "b30" = 'enterprise'
      THEN CASE
        WHEN "b45" = 'cold'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A4'
          WHEN "b47" = 'B'
          THEN 'B4'
          WHEN "b47" = 'C'
          THEN 'C4'
          WHEN "b47" = 'D'
          THEN 'D4'
          ELSE NULL
        END
        WHEN "b45" = 'nurture'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A3'
          WHEN "b47" = 'B'
          THEN 'B3'
          WHEN "b47" = 'C'
          THEN 'C3'
          WHEN "b47" = 'D'
          THEN 'D3'
          ELSE NULL
        END
        WHEN "b45" = 'mql'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A2'
          WHEN "b47" = 'B'
          THEN 'B2'
          WHEN "b47" = 'C'
          THEN 'C2'
          WHEN "b47" = 'D'
          THEN 'D2'
          ELSE NULL
        END
        WHEN "b45" = 'sql'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A1'
          WHEN "b47" = 'B'
          THEN 'B1'
          WHEN "b47" = 'C'
          THEN 'C1'
          WHEN "b47" = 'D'
          THEN 'D1'
          ELSE NULL
        END
        ELSE NULL
      END
      ELSE CASE
        WHEN "b45" = 'cold'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A4'
          WHEN "b47" = 'B'
          THEN 'B4'
          WHEN "b47" = 'C'
          THEN 'C4'
          WHEN "b47" = 'D'
          THEN 'D4'
          ELSE NULL
        END
        WHEN "b45" = 'nurture'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A3'
          WHEN "b47" = 'B'
          THEN 'B3'
          WHEN "b47" = 'C'
          THEN 'C3'
          WHEN "b47" = 'D'
          THEN 'D3'
          ELSE NULL
        END
        WHEN "b45" = 'mql'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A2'
          WHEN "b47" = 'B'
          THEN 'B2'
          WHEN "b47" = 'C'
          THEN 'C2'
          WHEN "b47" = 'D'
          THEN 'D2'
          ELSE NULL
        END
        WHEN "b45" = 'sql'
        THEN CASE
          WHEN "b47" = 'A'
          THEN 'A1'
          WHEN "b47" = 'B'
          THEN 'B1'
          WHEN "b47" = 'C'
          THEN 'C1'
          WHEN "b47" = 'D'
          THEN 'D1'
          ELSE NULL
        END
        ELSE NULL
      END
    END AS "b48"
  FROM "s6"
)
SELECT
  "s7"."k" AS "id",
  "s7"."b6" AS "fit",
  "s7"."b27" AS "engagement",
  "s7"."b28" AS "total",
  "s7"."b30" AS "segment",
  "s7"."b45" AS "tier",
  "s7"."b46" AS "held_from",
  "s7"."b29" AS "disqualified_by",
  "s7"."b47" AS "grade",
  "s7"."b48" AS "matrix"
FROM "s7"
ORDER BY
  "s7"."k"
SETTINGS join_use_nulls = 1;
