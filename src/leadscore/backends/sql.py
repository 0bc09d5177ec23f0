"""IR -> one SQL query, built as sqlglot expressions.

Shape of the query (one scan and one aggregate over the events table):

    ev     : events with as_of - time >= 0, text lower-cased, age in microseconds
    fade   : ev with the per-event values fading weights share (only if a rule fades)
    agg    : GROUP BY lead over ev, one conditional aggregate per IR aggregate
    base   : leads LEFT JOIN agg, lead fields normalized, empty aggregates filled
    s0..sN : one CTE per binding stage (a stage only uses earlier stages)
    final  : the output columns, ordered by key

Every identifier is quoted and every literal escaped by sqlglot, for every dialect.
"""

from __future__ import annotations

from sqlglot import exp

from ..compiler import ir
from ..compiler.fold import FOLDS
from ..engines import DUCKDB, Dialect, Unsupported
from .python import field_usage

CMP = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
ARITH = {"add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "div": exp.Div}
# a left operand of one of these is a chain with the operator (`a + b + c`), not a nesting
CHAIN = {"add": (exp.Add, exp.Sub), "sub": (exp.Add, exp.Sub), "mul": (exp.Mul, exp.Div),
         "div": (exp.Mul, exp.Div)}
# as_of: epoch microseconds, None for the dialect's parameter placeholder, or a timestamp
# expression that the dialect's `epoch_us` turns into microseconds
AsOf = int | exp.Expression | None
AGGREGATES = {"count": exp.Count, "sum": exp.Sum, "min": exp.Min, "max": exp.Max, "avg": exp.Avg}


# The query has tens of thousands of nodes for a large model: they are built with the
# constructors directly, not sqlglot's builder helpers (which parse, copy or check their inputs).
def _id(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_id(name), table=_id(table) if table else None)


def _alias(node: exp.Expression, name: str) -> exp.Alias:
    return exp.Alias(this=node, alias=_id(name))


def _number(value: int | str) -> exp.Expression:
    text = str(value)
    if text.isdigit():
        return exp.Literal(this=text, is_string=False)
    return exp.Literal.number(text)  # a sign or exponent: sqlglot's own rules


def _p(node: exp.Expression) -> exp.Expression:
    """Parenthesize an operand that is itself an operator; sqlglot prints trees as given."""
    return exp.Paren(this=node) if isinstance(node, (exp.Binary, exp.Unary)) else node


def _balanced(cls, items: list[exp.Expression]) -> exp.Expression:
    """AND/OR of many items as a balanced tree: depth log2(n), so a 20 000-way `or` parses
    on every engine (DataFusion's parser stops at 50 levels)."""
    if len(items) == 1:
        return items[0]
    mid = len(items) // 2
    return cls(this=_balanced(cls, items[:mid]), expression=_balanced(cls, items[mid:]))


def _table(name: str, alias: str | None = None) -> exp.Table:
    parts = name.split(".")
    return exp.Table(this=_id(parts[-1]), db=_id(parts[-2]) if len(parts) > 1 else None,
                     catalog=_id(parts[-3]) if len(parts) > 2 else None,
                     alias=exp.TableAlias(this=_id(alias)) if alias else None)


RAW = "raw"  # the column of a lead field carried as written (`build_query(raw=...)`)


class SqlUnsupported(Exception):
    """A construct the target dialect cannot express, with where the model uses it
    (`path:line:col`, or None)."""

    def __init__(self, message: str, where: str | None):
        super().__init__(message)
        self.where = where


class _SqlGen:
    """The translation of one model for one dialect: one `<key>_sql` method per IR node."""

    def __init__(self, model: ir.Model, dialect: Dialect, as_of_us: AsOf,
                 previous_tier: bool = False):
        self.m = model
        self.previous_tier = previous_tier  # whether the leads relation has ir.PREVIOUS_TIER
        self.d = dialect
        self.aggs = {a.id: a for a in model.aggregates}
        self.bindings = {b.name: b for b in model.bindings}
        self.lead_cols = {n: f"f{i}" for i, n in enumerate(sorted(model.schema.lead_fields))}
        self.event_cols = {n: f"e{i}" for i, n in enumerate(sorted(model.schema.event_fields))}
        self.binding_cols = {b.name: f"b{i}" for i, b in enumerate(model.bindings)}
        self.as_of_us = as_of_us
        # LEAST/GREATEST printed as they are where the engine allows (`extremes_ignore_nulls`)
        self.plain = {"ignore_nulls": True} if dialect.extremes_ignore_nulls else {}
        # node key -> its translation, looked up once per node (tens of thousands per query)
        self.emit = {key: self.test if key in self.TESTS else getattr(self, f"{key}_sql")
                     for key in ir.OPS if key != "when"}

    def as_of(self) -> exp.Expression:
        if self.as_of_us is None:
            return self.d.placeholder("as_of_us")
        if isinstance(self.as_of_us, exp.Expression):  # a timestamp, e.g. dbt's templated as_of
            return self.d.epoch_us(self.as_of_us.copy())
        return _number(self.as_of_us)

    def num(self, value: float) -> exp.Expression:
        text = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
        return self.d.double(_number(text))

    def nullable(self, e: ir.Expr) -> bool:
        return ir.nullable(e, self.aggs, self.bindings)

    def never_null(self, pred: exp.Expression, parts: tuple[ir.Expr, ...]) -> exp.Expression:
        """Two-valued logic: a test on a null value is false, not unknown."""
        if any(self.nullable(p) for p in parts):
            if not self.d.bool_values:
                return exp.EQ(this=self.as_flag(pred), expression=_number(1))
            return exp.Coalesce(this=pred, expressions=[exp.false()])
        return pred

    # Engines without boolean values (T-SQL) keep conditions as 1/0 flags in columns and
    # turn them back into predicates where a condition is expected.
    @staticmethod
    def as_flag(pred: exp.Expression) -> exp.Expression:
        return exp.Case(ifs=[exp.If(this=pred, true=_number(1))], default=_number(0))

    def pred(self, e: ir.Expr) -> exp.Expression:
        """`e` (a condition) where the SQL expects a predicate."""
        node = self.expr(e)
        if not self.d.bool_values and e.key in ("const", "field", "ref"):
            return exp.EQ(this=node, expression=_number(1))
        return node

    def cond(self, e: ir.Expr) -> exp.Expression:
        """`e` where only its truth matters (WHEN, FILTER, WHERE): a null test there already
        acts as false, so the COALESCE(..., FALSE) of two-valued logic is left out, except
        under NOT, where null and false differ."""
        if isinstance(e, (ir.And, ir.Or)):
            return _balanced(exp.And if e.key == "and" else exp.Or,
                             [_p(self.cond(x)) for x in e.items])
        if e.key in self.TESTS:
            return self.TESTS[e.key](self, e)
        return self.pred(e)

    def value(self, e: ir.Expr) -> exp.Expression:
        """`e` where the SQL expects a value (a column, a comparison operand)."""
        node = self.expr(e)
        if not self.d.bool_values and e.type == ir.BOOL and e.key not in ("const", "field", "ref"):
            return self.as_flag(node)
        return node

    def expr(self, e: ir.Expr) -> exp.Expression:
        return self.emit[e.key](e)

    # ------------------------------------------------------------ one method per node
    def const_sql(self, e: ir.Const) -> exp.Expression:
        v = e.value
        if v is None:
            return exp.Null()
        if isinstance(v, bool):
            if not self.d.bool_values:
                return _number(1 if v else 0)
            return exp.true() if v else exp.false()
        if isinstance(v, str):
            return exp.Literal.string(v)
        return self.num(v)

    def field_sql(self, e: ir.Field) -> exp.Expression:
        return _col(self.lead_cols[e.name])

    def ev_field_sql(self, e: ir.EvField) -> exp.Expression:
        return _col(self.event_cols[e.name])

    def ev_type_sql(self, e: ir.EvType) -> exp.Expression:
        return _col("typ")

    def ev_age_sql(self, e: ir.EvAge) -> exp.Expression:
        return _col("age")

    def agg_sql(self, e: ir.Agg) -> exp.Expression:
        return _col(e.id)

    def local_sql(self, e: ir.Local) -> exp.Expression:
        return _col(e.name)  # a column of the `fade` CTE

    def ref_sql(self, e: ir.Ref) -> exp.Expression:
        return _col(self.binding_cols[e.name])

    def arith_sql(self, e: ir.Arith) -> exp.Expression:
        left, right = self.expr(e.left), self.expr(e.right)
        if e.fn == "div" and not (isinstance(e.right, ir.Const) and e.right.value):
            # division by zero gives missing; NULLIF neither repeats the divisor (a CASE
            # would, doubling the SQL at every nested division) nor nests a level
            right = exp.Nullif(this=right, expression=self.num(0))
        # a chain written without parentheses does not nest, which shallow parsers need
        chained = isinstance(left, CHAIN[e.fn])
        return ARITH[e.fn](this=left if chained else _p(left), expression=_p(right))

    def neg_sql(self, e: ir.Neg) -> exp.Expression:
        return exp.Neg(this=_p(self.expr(e.value)))

    def extreme_sql(self, e: ir.Extreme) -> exp.Expression:
        return (exp.Least if e.fn == "min" else exp.Greatest)(
            this=self.expr(e.left), expressions=[self.expr(e.right)], **self.plain)

    def floor_sql(self, e: ir.Floor) -> exp.Expression:
        return exp.Floor(this=self.expr(e.value))

    def pow_sql(self, e: ir.Pow) -> exp.Expression:
        return exp.Pow(this=self.expr(e.base), expression=self.expr(e.exponent))

    def coalesce_sql(self, e: ir.Coalesce) -> exp.Expression:
        return exp.Coalesce(this=self.expr(e.value), expressions=[self.expr(e.fallback)])

    def days_sql(self, e: ir.Days | ir.WholeDays) -> exp.Expression:
        return exp.Div(this=self.d.double(_p(self.expr(e.value))), expression=self.num(ir.US_PER_DAY))

    def whole_days_sql(self, e: ir.WholeDays) -> exp.Expression:
        return exp.Floor(this=self.days_sql(e))

    def age_us_sql(self, e: ir.AgeUs) -> exp.Expression:
        return exp.Sub(this=self.as_of(), expression=_p(self.expr(e.value)))

    def and_sql(self, e: ir.And) -> exp.Expression:
        return _balanced(exp.And, [_p(self.pred(x)) for x in e.items])

    def or_sql(self, e: ir.Or) -> exp.Expression:
        return _balanced(exp.Or, [_p(self.pred(x)) for x in e.items])

    def not_sql(self, e: ir.Not) -> exp.Expression:
        return exp.Not(this=_p(self.pred(e.value)))

    def is_null_sql(self, e: ir.IsNull) -> exp.Expression:
        return exp.Is(this=self.expr(e.value), expression=exp.Null())

    def case_sql(self, e: ir.Case) -> exp.Expression:
        return exp.Case(ifs=[exp.If(this=self.cond(w.cond), true=self.value(w.value))
                             for w in e.whens], default=self.value(e.default))

    # Tests (comparison, membership, text, regex) are false on null: as values they are
    # guarded (`never_null`); where only their truth matters (`cond`) they are not.
    def test(self, e: ir.Expr) -> exp.Expression:
        return self.never_null(self.TESTS[e.key](self, e), tuple(e.children()))

    def cmp_test(self, e: ir.Cmp) -> exp.Expression:
        lv, rv = self.value(e.left), self.value(e.right)
        if (isinstance(e.left, ir.EvAge) and isinstance(e.right, ir.Const)
                and float(e.right.value).is_integer()):
            rv = _number(int(e.right.value))  # integer ages: no cast per row
        return CMP[e.op](this=lv, expression=rv)

    def in_test(self, e: ir.In) -> exp.Expression:
        lits = [self.const_sql(ir.Const(v, e.value.type)) for v in e.items]
        if len(lits) == 1:
            return exp.EQ(this=self.expr(e.value), expression=lits[0])
        return exp.In(this=self.expr(e.value), expressions=lits)

    def str_test(self, e: ir.StrTest) -> exp.Expression:
        return getattr(self.d, e.test)(self.expr(e.value), self.expr(e.needle))

    def regex_test(self, e: ir.Regex) -> exp.Expression:
        try:
            return self.d.regex_search(self.expr(e.value), e.pattern)
        except Unsupported as err:
            raise SqlUnsupported(f"`matches` cannot be compiled for {self.d.name}: {err}",
                                 str(e.span) if e.span else None) from None

    TESTS = {"cmp": cmp_test, "in": in_test, "str_test": str_test, "regex": regex_test}

    # ------------------------------------------------------------ query
    def aggregate(self, a: ir.Aggregate) -> exp.Expression:
        where = a.event_filter()
        value = a.fade.weight(local=True) if a.fade is not None else a.event_value()
        if where == ir.TRUE:
            if a.fn == "count":
                return exp.Count(this=exp.Star())
            if a.fn == "count_distinct":
                return exp.Count(this=exp.Distinct(expressions=[self.value(value)]))
            return AGGREGATES[a.fn](this=self.value(value))
        cond = self.cond(where)
        if a.fn == "count":
            if self.d.filter_clause:  # skips the CASE per row
                return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))
            return exp.Count(this=exp.Case(ifs=[exp.If(this=cond, true=_number(1))]))
        kept = exp.Case(ifs=[exp.If(this=cond, true=self.value(value))])
        if a.fn == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[kept]))
        return AGGREGATES[a.fn](this=kept)

    def empty_filled(self, a: ir.Aggregate, value: exp.Expression) -> exp.Expression:
        """An aggregate's column with the fold's result over nothing where SQL gives null (a
        lead without events is missing from the GROUP BY; SUM over no rows is null)."""
        fold = FOLDS[a.fn]
        if fold.empty is None:
            return value
        if fold.whole:
            return exp.Coalesce(this=value, expressions=[_number(int(fold.empty))])
        return exp.Coalesce(this=self.d.double(value), expressions=[self.num(fold.empty)])

    def event_ctes(self, events: str) -> list[tuple[str, exp.Select]]:
        """`ev` (the events as of now, normalized, only the columns used) and `agg` (one
        GROUP BY lead with every aggregate)."""
        s = self.m.schema
        age = exp.Sub(this=self.as_of(), expression=_p(self.d.epoch_us(_col(s.event_time))))
        ev_cols: list[exp.Expression] = [
            _alias(self.d.key(_col(s.event_lead)), "k"),
            _alias(self.d.lower(_col(s.event_type)), "typ"),
            _alias(age, "age"),
        ]
        _, used, folded, _ = field_usage(self.m, events_only=True)
        for name, col in self.event_cols.items():
            if name not in used:
                continue
            type_ = s.event_fields[name]
            if type_ == "text" and f"event:{name}" not in folded:
                type_ = "raw"  # only tested for presence: lower-casing cannot change that
            ev_cols.append(_alias(self.field_value(name, type_), col))
        keep: exp.Expression = exp.GTE(this=age.copy(), expression=_number(0))
        window = self.window()
        if window is not None:  # every aggregate looks back at most `window`: skip older
            keep = exp.And(this=keep, expression=exp.LT(
                this=age.copy(), expression=_number(window)))
        ev = exp.select(*ev_cols).from_(_table(events), copy=False).where(keep, copy=False)
        ctes = [("ev", ev)]
        # the values a fade's weight reads more than once (ir.Fade.locals), once per event: the
        # weight stays a short expression, shallow enough for every engine's parser
        local = {n: v for a in self.m.aggregates if a.fade is not None
                 for n, v in ir.inline(a.fade.locals()).items()}  # a column cannot read its neighbour
        if local:
            cols = [exp.Star()] + [_alias(self.expr(v), n) for n, v in local.items()]
            ctes.append(("fade", exp.select(*cols).from_(_table("ev"), copy=False)))
        agg_cols = [_col("k")] + [_alias(self.aggregate(a), a.id) for a in self.m.aggregates]
        agg = exp.select(*agg_cols).from_(_table(ctes[-1][0]), copy=False).group_by(
            _col("k"), copy=False)
        return ctes + [("agg", agg)]

    def query(self, leads: str, events: str, raw: str | None = None) -> exp.Select:
        s = self.m.schema
        ctes = self.event_ctes(events) if self.m.aggregates else []
        base_cols: list[exp.Expression] = [_alias(self.d.key(_col(s.lead_key, "l")), "k")]
        for name, col in self.lead_cols.items():
            if name == ir.PREVIOUS_TIER and not self.previous_tier:  # no previous tiers: null
                value: exp.Expression = exp.Cast(this=exp.Null(),
                                                 to=exp.DataType(this=exp.DataType.Type.TEXT))
            else:
                value = self.field_value(name, s.lead_fields[name], "l")
            base_cols.append(_alias(value, col))
        if raw is not None:
            base_cols.append(_alias(_col(raw, "l"), RAW))
        for a in self.m.aggregates:
            base_cols.append(_alias(self.empty_filled(a, _col(a.id, "agg")), a.id))
        base = exp.select(*base_cols).from_(_table(leads, "l"), copy=False)
        if self.m.aggregates:
            base = base.join(_table("agg", "agg"),
                             on=exp.EQ(this=self.d.key(_col(s.lead_key, "l")),
                                       expression=_col("k", "agg")),
                             join_type="left", copy=False)
        ctes.append(("base", base))

        prev = "base"
        for i, stage in enumerate(self.m.stages):
            cols = [exp.Star()] + [_alias(self.value(b.expr), self.binding_cols[b.name])
                                   for b in stage]
            name = f"s{i}"
            ctes.append((name, exp.select(*cols).from_(_table(prev), copy=False)))
            prev = name

        # columns qualified by their CTE: an output named like an internal column (a score
        # called `k`) must not capture it (ClickHouse resolves aliases anywhere in a SELECT)
        final_cols = [_alias(_col("k", prev), s.lead_key)]
        final_cols += [_alias(_col(self.binding_cols[b], prev), column) for column, b in self.m.outputs]
        query = exp.select(*final_cols).from_(_table(prev), copy=False).order_by(
            _col("k", prev), copy=False)
        for name, cte in ctes:
            query = query.with_(_id(name), as_=cte, copy=False)
        return self.d.finish(query)

    def window(self) -> int | None:
        """The longest `within` window (microseconds) if every aggregate has one, else None."""
        if any(a.window is None for a in self.m.aggregates):
            return None
        return max(a.window for a in self.m.aggregates) * ir.US_PER_DAY

    def field_value(self, name: str, type_: str, table: str | None = None) -> exp.Expression:
        col = _col(name, table)
        if type_ == "text":
            return self.d.lower(col)
        if type_ in ("int", "float"):
            return self.d.double(col)
        if type_ == "timestamp":
            return self.d.epoch_us(col)
        return col


def build_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
                leads: str | None = None, events: str | None = None,
                previous_tier: bool = False, raw: str | None = None) -> exp.Select:
    """The scoring query as a sqlglot tree. Without `as_of_us`, the dialect's `as_of_us`
    parameter placeholder (`Dialect.placeholder`). With `previous_tier`, the leads relation
    has the column `ir.PREVIOUS_TIER` that sticky tiers read; without, the query reads null
    there (a model without sticky tiers reads neither). With `raw`, that lead field is also
    carried as written, in the column `RAW` of every stage (the account query spells keys
    with it)."""
    s = model.schema
    return _SqlGen(model, dialect, as_of_us, previous_tier).query(
        leads or s.lead_table or "leads", events or s.event_table or "events", raw)


def to_sql(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
           leads: str | None = None, events: str | None = None, pretty: bool = True,
           previous_tier: bool = False) -> str:
    return dialect.render(build_query(model, dialect, as_of_us, leads, events, previous_tier),
                          pretty)
