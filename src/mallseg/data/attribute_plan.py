"""Which extra columns become customer attributes, under which names, kinds and families.

The decision is taken once per file, from its first rows, like every parsing decision.
Attribute names are the source names in snake_case (``MntWines`` -> ``mnt_wines``); a
name equal to a canonical customers column gets the suffix ``_attr``. Wide columns group
into families: two or more money columns sharing a prefix (``mnt``, ``spend``, ``amount``,
``amt``, ``sales``) form the family ``spend`` with the rest of the name as member
(``mnt_meat_products`` -> ``meat_products``), and so do columns named explicitly as spend
columns; count columns sharing a first and last word (``NumWebPurchases``,
``NumStorePurchases``) form the family of their last word (``purchases``: ``web``,
``store``).

Examples
--------
>>> specs = name_attributes(
...     [("MntWines", "money"), ("MntGoldProds", "money"), ("NumWebPurchases", "count"),
...      ("NumStorePurchases", "count"), ("Age", "numeric")],
...     table_name="customers", spend_columns=(), levels={})
>>> [(s.attribute, s.family, s.member) for s in specs]  # doctest: +NORMALIZE_WHITESPACE
[('mnt_wines', 'spend', 'wines'), ('mnt_gold_prods', 'spend', 'gold_prods'),
 ('num_web_purchases', 'purchases', 'web'), ('num_store_purchases', 'purchases', 'store'),
 ('age_attr', None, None)]
>>> specs[0].meaning
'MntWines: spend on wines, from the customers file'
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mallseg.core.personal_data import name_words
from mallseg.core.schema import CANONICAL_TABLES
from mallseg.core.sql_text import quote_literal
from mallseg.data.attribute_kinds import BOOLEAN_PAIRS, snake_case, value_type_of
from mallseg.data.parsing import number_expr

__all__ = ["AttributeSpec", "name_attributes"]

_SPEND_PREFIXES = frozenset({"mnt", "spend", "amount", "amt", "sales"})
_COUNT_PREFIXES = frozenset({"num", "count", "n", "number", "no"})
_KIND_WORDS = {
    "count": "a count",
    "money": "an amount of money",
    "share": "a share between 0 and 1",
    "numeric": "a number",
}


@dataclass(frozen=True)
class AttributeSpec:
    """One customer attribute: where it comes from, what it is, how its values are read.

    >>> AttributeSpec("kidhome", "customers", "Kidhome", "count", None, None, "").value_type
    'number'
    """

    attribute: str
    source_table: str
    source_column: str
    kind: str
    family: str | None
    member: str | None
    meaning: str
    true_value: str | None = None
    """For a flag: the lower-case spelling of yes (``1``, ``yes``, ``true`` ...)."""
    decimal_comma: bool = False
    most_often: bool = False
    """From an event file, where the value varies: the customer's most frequent one."""

    @property
    def value_type(self) -> str:
        """number, boolean or category."""
        return value_type_of(self.kind)

    def value_sql(self, text: str) -> tuple[str, str]:
        """SQL of (number, text) of the attribute from ``text``, the raw value as text.

        >>> spec = AttributeSpec("response", "customers", "Response", "flag", None, None,
        ...                      "Response: yes/no", true_value="1")
        >>> spec.value_sql("v")
        ("CASE WHEN lower(v) = '1' THEN 1.0 WHEN lower(v) = '0' THEN 0.0 END", 'NULL')
        """
        if self.kind == "categorical":
            return "NULL", text
        if self.kind == "flag":
            pair = next((p for p in BOOLEAN_PAIRS if p[0] == self.true_value), ("1", "0"))
            return (f"CASE WHEN lower({text}) = {quote_literal(pair[0])} THEN 1.0 "
                    f"WHEN lower({text}) = {quote_literal(pair[1])} THEN 0.0 END", "NULL")
        return number_expr(text, decimal_comma=self.decimal_comma), "NULL"

    def unreadable_note(self, count: int) -> str:
        """The note for ``count`` values that could not be read.

        >>> AttributeSpec("mnt_wines", "customers", "MntWines", "money", "spend", "wines",
        ...               "").unreadable_note(3)
        'mnt_wines: 3 values are not numbers, left empty'
        """
        what = {"flag": f"yes/no values ({self.true_value or '1'}/…)"}.get(self.kind, "numbers")
        verb = "value is" if count == 1 else "values are"
        return f"{self.attribute}: {count:,} {verb} not {what}, left empty"

    def catalog_row(self) -> tuple[str, str, str, str, str, str | None, str | None, str]:
        """The catalog row of the attribute, ingest id and time left out.

        (attribute, source_table, source_column, value_type, kind, family, member, meaning)
        """
        return (self.attribute, self.source_table, self.source_column, self.value_type,
                self.kind, self.family, self.member, self.meaning)


def _unique_names(sources: Sequence[str], table_name: str, suffix: str) -> list[str]:
    reserved = set(CANONICAL_TABLES["customers"].column_names)
    taken: set[str] = set()
    names = []
    for source in sources:
        base = snake_case(source) + suffix
        if base in reserved:
            base += "_attr"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names.append(name)
    return names


def _families(
    items: Sequence[tuple[str, str]], spend_columns: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """Source column -> (family, member) for the columns that belong to a family."""
    found: dict[str, tuple[str, str]] = {}
    for source in spend_columns:
        found[source] = ("spend", snake_case(source))
    spend: dict[str, list[tuple[str, str]]] = defaultdict(list)
    counts: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for source, kind in items:
        if source in found:
            continue
        words = name_words(source)
        if kind == "money" and len(words) >= 2 and words[0] in _SPEND_PREFIXES:
            spend[words[0]].append((source, "_".join(words[1:])))
        elif kind == "count" and len(words) >= 3 and words[0] in _COUNT_PREFIXES:
            counts[(words[0], words[-1])].append((source, "_".join(words[1:-1])))
    for members in spend.values():
        if len(members) >= 2:
            found.update({source: ("spend", member) for source, member in members})
    for (_prefix, last), members in counts.items():
        if len(members) >= 2:
            found.update({source: (last, member) for source, member in members})
    return found


def _meaning(source: str, kind: str, family: tuple[str, str] | None, table_name: str,
             levels: int | None, true_value: str | None, most_often: bool,
             constant: bool) -> str:
    origin = f"from the {table_name} file"
    if most_often:
        return f"{source}: the customer's most frequent value, {origin}"
    if family is not None and family[0] == "spend":
        return f"{source}: spend on {family[1].replace('_', ' ')}, {origin}"
    if family is not None:
        return f"{source}: number of {family[1].replace('_', ' ')} {family[0]}, {origin}"
    if kind == "flag":
        what = f"yes/no ({true_value} = yes)" if true_value else "yes/no"
    elif kind == "categorical":
        what = f"a category ({levels} values)" if levels else "a category"
    else:
        what = _KIND_WORDS.get(kind, "a value")
    per_customer = ", one value per customer" if constant else ""
    return f"{source}: {what}{per_customer}, {origin}"


def name_attributes(
    kinds: Sequence[tuple[str, str]],
    *,
    table_name: str,
    spend_columns: Sequence[str],
    levels: Mapping[str, int],
    true_values: Mapping[str, str] | None = None,
    decimal_commas: Sequence[str] = (),
    most_often: Sequence[str] = (),
) -> list[AttributeSpec]:
    """Attribute specs for ``(source column, kind)`` pairs, with names and families.

    Parameters
    ----------
    kinds:
        The kept columns of the file, in file order, with their kinds.
    table_name:
        The canonical table the file was loaded into.
    spend_columns:
        Columns named by the user as the spend family.
    levels:
        Number of levels of each categorical column.
    true_values:
        The spelling of yes of each flag.
    decimal_commas:
        Columns whose numbers use a decimal comma.
    most_often:
        Columns (of an event file) kept as the customer's most frequent value.

    >>> [s.attribute for s in name_attributes([("pay", "categorical")], table_name="visits",
    ...                                       spend_columns=(), levels={}, most_often=["pay"])]
    ['pay_most_often']
    """
    true_values = dict(true_values or {})
    sources = [s for s, _ in kinds]
    plain = [s for s in sources if s not in most_often]
    names = dict(zip(plain, _unique_names(plain, table_name, ""), strict=True))
    frequent = [s for s in sources if s in most_often]
    names.update(zip(frequent, _unique_names(frequent, table_name, "_most_often"), strict=True))
    families = _families(kinds, spend_columns) if table_name == "customers" else {}
    specs = []
    for source, kind in kinds:
        family = families.get(source)
        specs.append(AttributeSpec(
            attribute=names[source],
            source_table=table_name,
            source_column=source,
            kind=kind,
            family=family[0] if family else None,
            member=family[1] if family else None,
            meaning=_meaning(source, kind, family, table_name, levels.get(source),
                             true_values.get(source), source in most_often,
                             constant=table_name != "customers" and source not in most_often),
            true_value=true_values.get(source),
            decimal_comma=source in decimal_commas,
            most_often=source in most_often,
        ))
    return specs
