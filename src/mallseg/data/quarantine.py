"""The quarantine: every rejected row with its line, its reason and what may be kept of it.

A rejected row keeps the raw values of the columns that are stored anyway (the mapped
canonical columns and the customer attributes), and nothing else: an unmapped column may
hold anything, personal data included. For a line that did not split into the header's
fields, the values may be shifted, so only the fields before the first column that is not
kept are kept.

Examples
--------
>>> from mallseg.data.staging import Source
>>> source = Source("c.csv", [], "csv", ["customer_id", "email", "age"], delimiter=",")
>>> reject_fields("c3,carol@example.com,40,extra", source, {"customer_id", "age"})
{'customer_id': 'c3'}
>>> reject_fields("c3,carol@example.com,40", source, {"customer_id", "age"})
{'customer_id': 'c3', 'age': '40'}
>>> reason_kind("duplicate customer_id '7' (first at row 3)")
'duplicate customer_id … (first at row …)'
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_identifier, quote_literal
from mallseg.data.references import scalar
from mallseg.data.staging import STAGING_TABLE, TYPED_TABLE, Source, StagedUnit

__all__ = [
    "quarantine_unit",
    "reason_kind",
    "reject_fields",
    "replace_earlier_quarantine",
    "top_reasons",
]

_TOP_REASONS = 5
_EXAMPLE_CHARS = 240

# (pattern, replacement) in the order applied; the same in SQL and in Python
_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"'[^']*'", "…"),
    (r": [^;]*? (is outside|is before|is more than|is after|looks like)", r": … \1"),
    (r"row [0-9]+", "row …"),
    (r"median [0-9,.]+", "median …"),
)


def reason_kind(reason: str) -> str:
    """A reason with its values left out, so that like reasons group together.

    >>> reason_kind("annual_income: 5e+28 is outside 0..100000000 (full currency units)")
    'annual_income: … is outside 0..100000000 (full currency units)'
    """
    kind = reason
    for pattern, replacement in _KIND_RULES:
        kind = re.sub(pattern, replacement.replace(r"\1", r"\g<1>"), kind)
    return kind


def _kind_sql(column: str) -> str:
    sql = column
    for pattern, replacement in _KIND_RULES:
        sql = f"regexp_replace({sql}, {quote_literal(pattern)}, {quote_literal(replacement)}, 'g')"
    return sql


def top_reasons(con: duckdb.DuckDBPyConnection, ingest_id: str) -> list[tuple[str, int, str]]:
    """The most frequent kinds of reason of an ingest: (kind, count, first example).

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("INSERT INTO quarantine VALUES ('i1', 'customers', 'c.csv', 3, "
    ...                 "'age: 150 is outside 10..110', '{}', now()), ('i1', 'customers', "
    ...                 "'c.csv', 2, 'age: 999 is outside 10..110', '{}', now())")
    >>> top_reasons(con, "i1")
    [('age: … is outside 10..110', 2, 'age: 999 is outside 10..110')]
    """
    rows = con.execute(
        f"SELECT kind, count(*), arg_min(reason, (source_file, source_row)) FROM ("
        f"SELECT {_kind_sql('reason')} AS kind, reason, source_file, source_row "
        "FROM quarantine WHERE ingest_id = ?) GROUP BY kind ORDER BY count(*) DESC, kind "
        f"LIMIT {_TOP_REASONS}",
        [ingest_id],
    ).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2])[:_EXAMPLE_CHARS]) for r in rows]


def reject_fields(text: str, source: Source, kept: Collection[str]) -> dict[str, str]:
    """The kept fields of a line that did not split into the header's fields.

    >>> source = Source("c.csv", [], "csv", ["id", "age"], delimiter=";")
    >>> reject_fields("A;30;x", source, {"id", "age"})
    {'id': 'A', 'age': '30'}
    """
    fields = next(csv.reader(io.StringIO(text), delimiter=source.delimiter or ","), [])
    if len(fields) != len(source.columns):
        not_kept = [i for i, c in enumerate(source.columns) if c not in kept]
        if not_kept:
            fields = fields[: not_kept[0]]
    return {
        source.columns[position]: value
        for position, value in enumerate(fields)
        if position < len(source.columns) and source.columns[position] in kept
    }


def quarantine_unit(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    source: Source,
    kept: Sequence[str],
    unit: StagedUnit,
    ingest_id: str,
    started: datetime,
    *,
    id_source: str | None = None,
    pseudonymise: Callable[[str], str] | None = None,
    erased_reason: str | None = None,
) -> int:
    """Quarantine the unit's rejected rows (typed and unparsed); return how many.

    With ``id_source`` and ``pseudonymise``, the raw record holds the customer's pseudonym
    in place of the raw id of source column ``id_source`` (the typed pseudonym, else the
    pseudonym of the trimmed raw value). A row rejected with ``erased_reason`` keeps no
    raw record at all.

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("CREATE TEMP TABLE _staging AS SELECT 'B' AS id, 'x' AS secret, "
    ...                 "'c.csv' AS _source_file, 3 AS _source_row")
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT 'c.csv' AS _source_file, "
    ...                 "3 AS _source_row, 'age is empty' AS _reason")
    >>> source = Source("c.csv", [], "csv", ["id", "secret"])
    >>> quarantine_unit(con, "customers", source, ["id"], StagedUnit(1, []), "i1",
    ...                 datetime(2026, 1, 1))
    1
    >>> con.execute("SELECT source_row, raw_record FROM quarantine").fetchall()
    [(3, '{"id":"B"}')]
    """
    rejected_rows = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {TYPED_TABLE} WHERE _reason <> '')").fetchall()[0][0]
    if not rejected_rows and not unit.parse_rejects:
        return 0  # the usual unit: no join with the staged rows at all
    hide_id = id_source is not None and pseudonymise is not None
    if pseudonymise is not None and id_source is not None:
        hasher = pseudonymise

        def trimmed_pseudonym(value: str) -> str:
            return hasher(value.strip())

        con.create_function("_quarantine_pseudonym", trimmed_pseudonym, ["VARCHAR"], "VARCHAR")

    def raw_value(column: str) -> str:
        if hide_id and column == id_source:
            return ("coalesce(t.customer_id, _quarantine_pseudonym("
                    f"CAST(s.{quote_identifier(column)} AS VARCHAR)))")
        return f"s.{quote_identifier(column)}"

    raw_cols = ", ".join(
        f"{quote_identifier(c)} := {raw_value(c)}" for c in kept
    ) or "empty := NULL"
    record = f"CAST(to_json(struct_pack({raw_cols})) AS VARCHAR)"
    if erased_reason is not None:
        erased = quote_literal(erased_reason)
        record = f"CASE WHEN t._reason = {erased} THEN '{{}}' ELSE {record} END"
    try:
        rejected = scalar(
            con,
            "INSERT INTO quarantine SELECT ?, ?, t._source_file, t._source_row, t._reason, "
            f"{record}, ? "
            f"FROM {TYPED_TABLE} t JOIN {STAGING_TABLE} s "
            "ON s._source_file = t._source_file AND s._source_row = t._source_row "
            "WHERE t._reason <> ''",
            [ingest_id, table_name, started],
        )
    finally:
        if hide_id:
            con.remove_function("_quarantine_pseudonym")
    if unit.parse_rejects:
        kept_set = set(kept)
        rejects = pd.DataFrame({
            "ingest_id": ingest_id,
            "table_name": table_name,
            "source_file": [r.source_file for r in unit.parse_rejects],
            "source_row": [r.line for r in unit.parse_rejects],
            "reason": [r.reason for r in unit.parse_rejects],
            "raw_record": [json.dumps(_hidden(reject_fields(r.text, source, kept_set),
                                              id_source, pseudonymise))
                           for r in unit.parse_rejects],
            "quarantined_at": started,
        })
        con.register("_rejects", rejects)
        con.execute("INSERT INTO quarantine SELECT * FROM _rejects")
        con.unregister("_rejects")
    return rejected + len(unit.parse_rejects)


def _hidden(
    fields: dict[str, str], id_source: str | None, pseudonymise: Callable[[str], str] | None
) -> dict[str, str]:
    """The fields of a line with its raw customer id replaced by the pseudonym."""
    if id_source is None or pseudonymise is None or not fields.get(id_source, "").strip():
        return fields
    return {**fields, id_source: pseudonymise(fields[id_source].strip())}


def replace_earlier_quarantine(
    con: duckdb.DuckDBPyConnection, table_name: str, ingest_id: str, digest: str, label: str
) -> None:
    """Drop the quarantine of an earlier load of the same content, or a stopped load of it.

    >>> import duckdb
    >>> from mallseg.workspace.tables import SYSTEM_DDL
    >>> con = duckdb.connect()
    >>> for ddl in SYSTEM_DDL:
    ...     _ = con.execute(ddl)
    >>> _ = con.execute("INSERT INTO ingest_log (ingest_id, table_name, source_file, "
    ...                 "content_sha256, status) VALUES ('i1', 'stores', 's.csv', 'abc', "
    ...                 "'complete')")
    >>> _ = con.execute("INSERT INTO quarantine (ingest_id, table_name) VALUES ('i1', 'stores')")
    >>> replace_earlier_quarantine(con, "stores", "i2", "abc", "s.csv")
    >>> con.execute("SELECT count(*) FROM quarantine").fetchone()
    (0,)
    """
    con.execute(
        "DELETE FROM quarantine WHERE table_name = ? AND ingest_id <> ? AND ingest_id IN ("
        "SELECT ingest_id FROM ingest_log WHERE table_name = ? AND (content_sha256 = ? "
        "OR (source_file = ? AND status = 'stopped')))",
        [table_name, ingest_id, table_name, digest, label],
    )
