r"""Every column a user brings is usable: extra columns become customer attributes.

For a **customers** file, each column that maps to no canonical column is profiled over
the file's first rows and either kept as an attribute (see
:mod:`mallseg.data.attribute_kinds`) or set aside with the reason; columns whose values
look like personal data are set aside too, and never stored anywhere. The values of the
kept ones are written unit by unit, for the rows that load. Event files (transactions,
visits) are handled by :mod:`mallseg.data.event_attributes`.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> rows = "".join(f"C{i},{i % 3},{'yes' if i % 2 else 'no'},3\n" for i in range(40))
>>> _ = (folder / "c.csv").write_text("ID,Kidhome,Complain,Z_CostContact\n" + rows)
>>> with Workspace.open(folder / "ws") as ws:
...     report = ingest_file(ws, "customers", folder / "c.csv")
>>> report.attributes, report.set_aside
({'kidhome': 'count', 'complain': 'flag'}, {'Z_CostContact': 'constant, says nothing'})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from mallseg.core.personal_data import personal_data_value_reason
from mallseg.core.sql_text import quote_identifier
from mallseg.data import staging
from mallseg.data.attribute_kinds import (
    BOOLEAN_PAIRS,
    ColumnDecision,
    ColumnProfile,
    classify_column,
)
from mallseg.data.attribute_plan import AttributeSpec, name_attributes
from mallseg.data.attribute_profile import CandidateProfile, attribute_text, profile_columns
from mallseg.data.attribute_store import replace_attribute_values
from mallseg.data.errors import IngestError
from mallseg.data.references import scalar
from mallseg.data.staging import STAGING_TABLE, TYPED_TABLE, Source
from mallseg.data.typing_plan import FILE_ORDER

__all__ = [
    "NESTED_REASON",
    "AttributePlan",
    "CustomerFill",
    "first_rows",
    "plan_customer_attributes",
    "profile_candidates",
    "store_unit_attributes",
    "true_value",
]

NESTED_REASON = "nested values (lists or structs) cannot be attributes"
_VALUES_PER_BATCH = 4_000_000
"""Attribute values written per statement: bounds memory on units of millions of rows."""


@dataclass(frozen=True)
class CustomerFill:
    """A canonical customers column found in an event file, filling empty customer values.

    >>> CustomerFill("gender", "sex", "gender_sql", "TRUE").source
    'sex'
    """

    column: str
    source: str
    value_sql: str
    """SQL of the typed value over the staged row ``src``."""
    valid_sql: str
    """SQL that is true when the value passes the column's checks."""


@dataclass(frozen=True)
class AttributePlan:
    """What a file's extra columns become.

    >>> plan = AttributePlan(specs=(AttributeSpec("kidhome", "customers", "Kidhome", "count",
    ...                                           None, None, ""),))
    >>> plan.kept_sources, plan.typed_columns()[0].endswith("AS _a0")
    (['Kidhome'], True)
    """

    specs: tuple[AttributeSpec, ...] = ()
    set_aside: dict[str, str] = field(default_factory=dict)
    """Source column -> why it is not stored."""
    personal: dict[str, str] = field(default_factory=dict)
    """Source columns whose values look like personal data -> why."""
    fills: tuple[CustomerFill, ...] = ()

    @property
    def kept_sources(self) -> list[str]:
        """Source columns stored in some form: attributes and customer fills."""
        return [s.source_column for s in self.specs] + [f.source for f in self.fills]

    def typed_columns(self) -> list[str]:
        """Extra columns of the typed table: each attribute's raw text, each fill's value.

        They are named ``_a0, _a1, ...`` (attributes, in spec order) and ``_f0, _f1, ...``
        (fills), so that the values never need a second look at the staged rows.
        """
        columns = [f"{attribute_text('src.' + quote_identifier(s.source_column))} AS _a{i}"
                   for i, s in enumerate(self.specs)]
        columns += [f"CASE WHEN {f.valid_sql} THEN CAST({f.value_sql} AS VARCHAR) END AS _f{i}"
                    for i, f in enumerate(self.fills)]
        return columns


def first_rows() -> str:
    """The rows parsing decisions are taken from: the first rows of the file.

    >>> first_rows().startswith("(SELECT * FROM _staging ORDER BY _source_file, _source_row")
    True
    """
    return (f"(SELECT * FROM {STAGING_TABLE} ORDER BY {FILE_ORDER} "
            f"LIMIT {staging.DECISION_ROWS})")


def profile_candidates(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str], types: Mapping[str, str],
) -> tuple[dict[str, CandidateProfile], dict[str, str]]:
    """Profiles of extra columns over the first rows, and those whose values are personal.

    Returns the profiles of the columns that may be stored, and source column -> reason for
    the columns whose sampled values look like personal data.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging AS SELECT * FROM (VALUES ('a@b.org', 'x', 'f', 1)"
    ...                 ") t(contact, tier, _source_file, _source_row)")
    >>> kept, personal = profile_candidates(con, ["contact", "tier"],
    ...                                     {"contact": "VARCHAR", "tier": "VARCHAR"})
    >>> list(kept), personal
    (['tier'], {'contact': 'personal data: values look like e-mail addresses (1 of 1 sampled)'})
    """
    profiled = profile_columns(con, first_rows(), {c: types[c] for c in columns})
    personal: dict[str, str] = {}
    for column in columns:
        reason = personal_data_value_reason(profiled[column].samples)
        if reason is not None:
            personal[column] = reason
            del profiled[column]
    return profiled, personal


def true_value(profile: ColumnProfile) -> str | None:
    """The spelling of yes of a yes/no column (``1``, ``yes``, ``true`` ...).

    >>> true_value(ColumnProfile("Response", "VARCHAR", 9, 2, levels=("no", "yes")))
    'yes'
    """
    levels = set(profile.levels)
    return next((p[0] for p in BOOLEAN_PAIRS if set(p) == levels), None)


def plan_customer_attributes(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    candidates: Sequence[str],
    types: Mapping[str, str],
    spend_columns: Sequence[str],
) -> AttributePlan:
    """Decide what each extra column of a customers file is (from its first rows).

    Raises
    ------
    IngestError
        When a column named as a spend column does not hold numbers.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE _staging AS SELECT * FROM (VALUES ('1', 'c.csv', 2), "
    ...                 "('0', 'c.csv', 3)) t(Complain, _source_file, _source_row)")
    >>> plan = plan_customer_attributes(con, Source("c.csv", [], "csv", ["Complain"]),
    ...                                 ["Complain"], {"Complain": "VARCHAR"}, ())
    >>> [(s.attribute, s.kind, s.true_value) for s in plan.specs]
    [('complain', 'flag', '1')]
    """
    kinds: list[tuple[str, str]] = []
    set_aside = {c: NESTED_REASON for c in candidates if c in source.nested_columns}
    profiled, personal = profile_candidates(
        con, [c for c in candidates if c not in set_aside], types)
    levels: dict[str, int] = {}
    true_values: dict[str, str] = {}
    commas: list[str] = []
    for column, found in profiled.items():
        profile = found.profile
        decision = classify_column(profile)
        if column in spend_columns:
            decision = _spend_decision(profile, source.label)
        if decision.kind is None:
            set_aside[column] = decision.reason or "not usable"
            continue
        kinds.append((column, decision.kind))
        levels[column] = profile.distinct
        if found.decimal_comma:
            commas.append(column)
        if decision.kind == "flag":
            true_values[column] = true_value(profile) or "true"
    specs = name_attributes(kinds, table_name="customers", spend_columns=spend_columns,
                            levels=levels, true_values=true_values, decimal_commas=commas)
    return AttributePlan(specs=tuple(specs), set_aside=set_aside, personal=personal)


def _spend_decision(profile: ColumnProfile, label: str) -> ColumnDecision:
    if profile.non_null and profile.numbers >= 0.9 * profile.non_null:
        return ColumnDecision("money")
    raise IngestError(
        f"{label}: --spend-columns names {profile.name!r}, whose values are not amounts "
        f"({profile.numbers:,} of {profile.non_null:,} read as numbers); name only columns "
        "of spend per category"
    )


def store_unit_attributes(
    con: duckdb.DuckDBPyConnection, plan: AttributePlan, ingest_id: str,
) -> dict[str, int]:
    """Write the attributes of the unit's valid rows; return unreadable values per attribute.

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('A', '2', ''), "
    ...                 "('B', 'two', ''), ('C', '1', 'age: x')) t(customer_id, _a0, _reason)")
    >>> plan = AttributePlan(specs=(AttributeSpec("kidhome", "customers", "Kidhome", "count",
    ...                                           None, None, ""),))
    >>> store_unit_attributes(con, plan, "i1")
    {'kidhome': 1}
    >>> con.execute("SELECT customer_id, number FROM customer_attributes").fetchall()
    [('A', 2.0)]
    """
    if not plan.specs:
        return {}
    valid = f"(SELECT * FROM {TYPED_TABLE} WHERE _reason = '')"
    rows = max(1, scalar(con, f"SELECT count(*) FROM {valid}"))
    customers = f"(SELECT customer_id FROM {valid})"
    unreadable: dict[str, int] = {}
    per_batch = max(1, _VALUES_PER_BATCH // rows)
    for start in range(0, len(plan.specs), per_batch):
        batch = plan.specs[start:start + per_batch]
        as_named = ", ".join(f"_a{start + i} AS {quote_identifier(s.attribute)}"
                             for i, s in enumerate(batch))
        values = (f"(UNPIVOT (SELECT customer_id, {as_named} FROM {valid}) "
                  "ON COLUMNS(* EXCLUDE (customer_id)) INTO NAME attribute VALUE raw)")
        unreadable.update(replace_attribute_values(con, batch, values, customers, ingest_id))
    return unreadable
