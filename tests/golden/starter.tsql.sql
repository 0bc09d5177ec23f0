WITH [ev] AS (
  SELECT
    [lead_id] AS [k],
    LOWER([kind]) AS [typ],
    1772323200000000 - DATEDIFF_BIG(MICROSECOND, '1970-01-01', [occurred_at]) AS [age],
    LOWER([page]) AS [e0]
  FROM [events]
  WHERE
    1772323200000000 - DATEDIFF_BIG(MICROSECOND, '1970-01-01', [occurred_at]) >= 0
), [agg] AS (
  SELECT
    [k],
    COUNT(CASE WHEN [typ] = 'demo_request' THEN 1 END) AS [a0],
    COUNT(CASE WHEN (
      [typ] = 'email_open'
    ) AND (
      [age] < 2592000000000
    ) THEN 1 END) AS [a1],
    COUNT(CASE WHEN (
      [typ] = 'page_view'
    ) AND (
      [e0] = '/pricing'
    ) THEN 1 END) AS [a2]
  FROM [ev]
  GROUP BY
    [k]
), [base] AS (
  SELECT
    [l].[id] AS [k],
    CAST([l].[employees] AS FLOAT) AS [f0],
    LOWER([l].[title]) AS [f1],
    COALESCE([agg].[a0], 0) AS [a0],
    COALESCE([agg].[a1], 0) AS [a1],
    COALESCE([agg].[a2], 0) AS [a2]
  FROM [leads] AS [l]
  LEFT JOIN [agg] AS [agg]
    ON [l].[id] = [agg].[k]
), [s0] AS (
  SELECT
    *,
    CASE
      WHEN CHARINDEX('director', [f1]) > 0
      THEN CAST(10 AS FLOAT)
      ELSE CAST(0 AS FLOAT)
    END AS [b0],
    CASE
      WHEN [f0] >= CAST(200 AS FLOAT)
      THEN CAST(10 AS FLOAT)
      ELSE CAST(0 AS FLOAT)
    END AS [b1],
    [a1] AS [b3],
    [a2] AS [b5],
    [a0] AS [b7],
    NULL AS [b11],
    'default' AS [b12],
    CASE WHEN [a0] > CAST(0 AS FLOAT) THEN 1 ELSE 0 END AS [b14]
  FROM [base]
), [s1] AS (
  SELECT
    *,
    [b0] + [b1] AS [b2],
    LEAST(CAST(2 AS FLOAT) * [b3], CAST(10 AS FLOAT)) AS [b4],
    CASE WHEN [b5] >= CAST(1 AS FLOAT) THEN CAST(20 AS FLOAT) ELSE CAST(0 AS FLOAT) END AS [b6],
    CASE WHEN [b7] >= CAST(1 AS FLOAT) THEN CAST(40 AS FLOAT) ELSE CAST(0 AS FLOAT) END AS [b8],
    [b14] AS [b15]
  FROM [s0]
), [s2] AS (
  SELECT
    *,
    [b4] + [b6] + [b8] AS [b9]
  FROM [s1]
), [s3] AS (
  SELECT
    *,
    [b2] + [b9] AS [b10]
  FROM [s2]
), [s4] AS (
  SELECT
    *,
    CASE WHEN [b10] >= CAST(50 AS FLOAT) THEN 1 ELSE 0 END AS [b13],
    CASE WHEN [b10] >= CAST(20 AS FLOAT) THEN 1 ELSE 0 END AS [b16]
  FROM [s3]
), [s5] AS (
  SELECT
    *,
    CASE
      WHEN NOT (
        [b11] IS NULL
      )
      THEN 'disqualified'
      ELSE CASE
        WHEN (
          [b13] = 1
        ) AND (
          [b15] = 1
        )
        THEN 'hot'
        WHEN [b16] = 1
        THEN 'warm'
        ELSE 'cold'
      END
    END AS [b17],
    CASE
      WHEN NOT (
        [b11] IS NULL
      )
      THEN NULL
      ELSE CASE
        WHEN (
          [b13] = 1
        ) AND (
          [b15] = 1
        )
        THEN NULL
        WHEN [b13] = 1
        THEN 'hot'
        WHEN [b16] = 1
        THEN NULL
        ELSE NULL
      END
    END AS [b18]
  FROM [s4]
)
SELECT
  [s5].[k] AS [id],
  [s5].[b2] AS [fit],
  [s5].[b9] AS [interest],
  [s5].[b10] AS [total],
  [s5].[b12] AS [segment],
  [s5].[b17] AS [tier],
  [s5].[b18] AS [held_from],
  [s5].[b11] AS [disqualified_by]
FROM [s5]
ORDER BY
  [s5].[k];
