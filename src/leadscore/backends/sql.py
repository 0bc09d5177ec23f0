"""IR -> one SQL query, built as sqlglot expressions.

Shape of the query (one scan and one aggregate over the events table):

    ev     : events with as_of - time >= 0, text lower-cased, age in microseconds
    agg    : GROUP BY lead over ev, one conditional aggregate per IR aggregate
    base   : leads LEFT JOIN agg, lead fields normalized, empty aggregates filled
    s0..sN : one CTE per binding stage (a stage only uses earlier stages)
    final  : the output columns, ordered by key

Every identifier is quoted and every literal escaped by sqlglot, for every dialect.
"""

from __future__ import annotations

from sqlglot import exp

from ..compiler import ir
from ..compiler.regex import compile_portable
from ..gcpause import gc_paused
from .dialects import DUCKDB, Dialect, Unsupported
from .python import field_usage

US_PER_DAY = 86_400_000_000
CMP = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
ARITH = {"add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "div": exp.Div}


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


class SqlUnsupported(Exception):
    """A construct the target dialect cannot express, with where the model uses it."""

    def __init__(self, message: str, where: str | None):
        super().__init__(message)
        self.where = where


class _SqlGen:
    def __init__(self, model: ir.Model, dialect: Dialect, as_of_us: int | None):
        self.m = model
        self.d = dialect
        self.aggs = {a.id: a for a in model.aggregates}
        self.bindings = {b.name: b for b in model.bindings}
        self.lead_cols = {n: f"f{i}" for i, n in enumerate(sorted(model.schema.lead_fields))}
        self.event_cols = {n: f"e{i}" for i, n in enumerate(sorted(model.schema.event_fields))}
        self.binding_cols = {b.name: f"b{i}" for i, b in enumerate(model.bindings)}
        self.as_of_us = as_of_us
        # LEAST/GREATEST inputs are never null, so any engine's null rule will do; this keeps
        # sqlglot from guarding DuckDB's (null-ignoring) LEAST with a CASE repeating both operands
        self.plain = {"ignore_nulls": True} if dialect.sqlglot == "duckdb" else {}

    def as_of(self) -> exp.Expression:
        if self.as_of_us is None:
            return exp.Placeholder(this="as_of_us")
        return _number(self.as_of_us)

    def num(self, value: float) -> exp.Expression:
        text = str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
        return self.d.double(_number(text))

    def nullable(self, e: ir.E) -> bool:
        return ir.nullable(e, self.aggs, self.bindings)

    def never_null(self, pred: exp.Expression, *parts: ir.E) -> exp.Expression:
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

    def pred(self, e: ir.E) -> exp.Expression:
        """`e` (a condition) where the SQL expects a predicate."""
        node = self.expr(e)
        if not self.d.bool_values and e.op in ("const", "field", "ref"):
            return exp.EQ(this=node, expression=_number(1))
        return node

    def cond(self, e: ir.E) -> exp.Expression:
        """`e` where only its truth matters (WHEN, FILTER, WHERE): a null test there already
        acts as false, so the COALESCE(..., FALSE) of two-valued logic is left out, except
        under NOT, where null and false differ."""
        if e.op in ("and", "or"):
            return _balanced(exp.And if e.op == "and" else exp.Or, [_p(self.cond(x)) for x in e.args])
        if e.op in ("cmp", "in", "str_test", "regex"):
            return self.test(e, raw=True)
        return self.pred(e)

    def value(self, e: ir.E) -> exp.Expression:
        """`e` where the SQL expects a value (a column, a comparison operand)."""
        node = self.expr(e)
        if not self.d.bool_values and e.type == ir.BOOL and e.op not in ("const", "field", "ref"):
            return self.as_flag(node)
        return node

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.E) -> exp.Expression:
        op, a = e.op, e.args
        if op == "const":
            v = a[0]
            if v is None:
                return exp.Null()
            if isinstance(v, bool):
                if not self.d.bool_values:
                    return _number(1 if v else 0)
                return exp.true() if v else exp.false()
            if isinstance(v, str):
                return exp.Literal.string(v)
            return self.num(v)
        if op == "field":
            return _col(self.lead_cols[a[0]])
        if op == "ev_field":
            return _col(self.event_cols[a[0]])
        if op == "ev_type":
            return _col("typ")
        if op == "ev_age":
            return _col("age")
        if op == "agg":
            return _col(a[0])
        if op == "ref":
            return _col(self.binding_cols[a[0]])
        if op in ARITH:
            left, right = self.expr(a[0]), self.expr(a[1])
            if op == "div" and not (a[1].op == "const" and a[1].args[0]):
                # division by zero gives missing; NULLIF neither repeats the divisor (a CASE
                # would, doubling the SQL at every nested division) nor nests a level
                right = exp.Nullif(this=right, expression=self.num(0))
            # a left operand of the same precedence is a chain (`a + b + c`): written without
            # parentheses it does not nest, which engines with shallow parsers need
            chained = isinstance(left, (exp.Add, exp.Sub) if op in ("add", "sub") else (exp.Mul, exp.Div))
            return ARITH[op](this=left if chained else _p(left), expression=_p(right))
        if op == "neg":
            return exp.Neg(this=_p(self.expr(a[0])))
        if op == "min":
            return exp.Least(this=self.expr(a[0]), expressions=[self.expr(a[1])], **self.plain)
        if op == "max":
            return exp.Greatest(this=self.expr(a[0]), expressions=[self.expr(a[1])], **self.plain)
        if op == "floor":
            return exp.Floor(this=self.expr(a[0]))
        if op == "pow":
            return exp.Pow(this=self.expr(a[0]), expression=self.expr(a[1]))
        if op == "coalesce":
            return exp.Coalesce(this=self.expr(a[0]), expressions=[self.expr(a[1])])
        if op == "whole_days":
            return exp.Floor(this=exp.Div(this=self.d.double(_p(self.expr(a[0]))),
                                          expression=self.num(US_PER_DAY)))
        if op == "days":
            return exp.Div(this=self.d.double(_p(self.expr(a[0]))), expression=self.num(US_PER_DAY))
        if op == "age_us":
            return exp.Sub(this=self.as_of(), expression=_p(self.expr(a[0])))
        if op in ("cmp", "in", "str_test", "regex"):
            return self.test(e)
        if op in ("and", "or"):
            return _balanced(exp.And if op == "and" else exp.Or, [_p(self.pred(x)) for x in a])
        if op == "not":
            return exp.Not(this=_p(self.pred(a[0])))
        if op == "is_null":
            return exp.Is(this=self.expr(a[0]), expression=exp.Null())
        if op == "case":
            whens, else_ = a
            return exp.Case(ifs=[exp.If(this=self.cond(c), true=self.value(v)) for c, v in whens],
                            default=self.value(else_))
        raise AssertionError(f"unknown IR op {op!r}")

    def test(self, e: ir.E, raw: bool = False) -> exp.Expression:
        """A comparison, membership, text or regex test; false on null unless `raw`."""
        op, a = e.op, e.args
        if op == "cmp":
            sym, left, right = a
            lv, rv = self.value(left), self.value(right)
            if left.op == "ev_age" and right.op == "const" and float(right.args[0]).is_integer():
                rv = _number(int(right.args[0]))  # integer ages: no cast per row
            node = CMP[sym](this=lv, expression=rv)
            parts = (left, right)
        elif op == "in":
            value, items = a
            lits = [self.expr(ir.const(v, value.type)) for v in items]
            node = (exp.EQ(this=self.expr(value), expression=lits[0]) if len(lits) == 1
                    else exp.In(this=self.expr(value), expressions=lits))
            parts = (value,)
        elif op == "str_test":
            test, value, needle = a
            build = {"starts_with": self.d.starts_with, "ends_with": self.d.ends_with,
                     "contains": self.d.contains}[test]
            node = build(self.expr(value), self.expr(needle))
            parts = (value, needle)
        else:
            value, pattern = a
            try:
                node = self.d.regex_search(self.expr(value), compile_portable(pattern))
            except Unsupported as err:
                raise SqlUnsupported(f"`matches` cannot be compiled for {self.d.name}: {err}",
                                     self.m.regexes.get(pattern)) from None
            parts = (value,)
        return node if raw else self.never_null(node, *parts)

    # ------------------------------------------------------------ query
    def aggregate(self, a: ir.Aggregate) -> exp.Expression:
        if a.where == ir.TRUE:
            if a.fn == "count":
                return exp.Count(this=exp.Star())
            value = self.value(a.value)
            if a.fn == "count_distinct":
                return exp.Count(this=exp.Distinct(expressions=[value]))
            return {"sum": exp.Sum, "min": exp.Min, "max": exp.Max}[a.fn](this=value)
        cond = self.cond(a.where)
        if a.fn == "count":
            if self.d.name == "duckdb":  # a FILTER clause skips the CASE per row
                return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=cond))
            inner = exp.Case(ifs=[exp.If(this=cond, true=_number(1))])
            return exp.Count(this=inner)
        value = exp.Case(ifs=[exp.If(this=cond, true=self.value(a.value))])
        if a.fn == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[value]))
        if a.fn == "sum":
            return exp.Sum(this=value)
        return (exp.Min if a.fn == "min" else exp.Max)(this=value)

    def query(self, leads: str, events: str) -> exp.Select:
        s = self.m.schema
        ctes: list[tuple[str, exp.Select]] = []

        if self.m.aggregates:
            age = exp.Sub(this=self.as_of(), expression=_p(self.d.epoch_us(_col(s.event_time))))
            ev_cols: list[exp.Expression] = [
                _alias(_col(s.event_lead), "k"),
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
            ctes.append(("ev", ev))
            agg_cols = [_col("k")] + [_alias(self.aggregate(a), a.id)
                                      for a in self.m.aggregates]
            ctes.append(("agg", exp.select(*agg_cols).from_(_table("ev"), copy=False)
                         .group_by(_col("k"), copy=False)))

        base_cols: list[exp.Expression] = [_alias(_col(s.lead_key, "l"), "k")]
        for name, col in self.lead_cols.items():
            base_cols.append(_alias(self.field_value(name, s.lead_fields[name], "l"), col))
        for a in self.m.aggregates:
            value: exp.Expression = _col(a.id, "agg")
            if a.fn in ("count", "count_distinct"):
                value = exp.Coalesce(this=value, expressions=[_number(0)])
            elif a.fn == "sum":
                value = exp.Coalesce(this=self.d.double(value), expressions=[self.num(0)])
            base_cols.append(_alias(value, a.id))
        base = exp.select(*base_cols).from_(_table(leads, "l"), copy=False)
        if self.m.aggregates:
            base = base.join(_table("agg", "agg"),
                             on=exp.EQ(this=_col(s.lead_key, "l"), expression=_col("k", "agg")),
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
        longest = 0
        for a in self.m.aggregates:
            items, stack = [], [a.where]
            while stack:
                x = stack.pop()
                if x.op == "and":
                    stack.extend(x.args)
                else:
                    items.append(x)
            bounds = [x.args[2].args[0] for x in items
                      if x.op == "cmp" and x.args[0] == "<" and x.args[1].op == "ev_age"
                      and x.args[2].op == "const" and float(x.args[2].args[0]).is_integer()]
            if not bounds:
                return None
            longest = max(longest, int(min(bounds)))
        return longest

    def field_value(self, name: str, type_: str, table: str | None = None) -> exp.Expression:
        col = _col(name, table)
        if type_ == "text":
            return self.d.lower(col)
        if type_ in ("int", "float"):
            return self.d.double(col)
        if type_ == "timestamp":
            return self.d.epoch_us(col)
        return col


def build_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: int | None = None,
                leads: str | None = None, events: str | None = None) -> exp.Select:
    """The scoring query as a sqlglot tree. Without `as_of_us`, a `:as_of_us` placeholder."""
    s = model.schema
    return _SqlGen(model, dialect, as_of_us).query(leads or s.lead_table or "leads",
                                                   events or s.event_table or "events")


def to_sql(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: int | None = None,
           leads: str | None = None, events: str | None = None, pretty: bool = True) -> str:
    with gc_paused():  # a large model's query is tens of thousands of nodes
        return dialect.render(build_query(model, dialect, as_of_us, leads, events), pretty)
