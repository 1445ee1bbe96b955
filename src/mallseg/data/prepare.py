r"""Check that a file can be loaded into a table before anything is written.

Only the header (and, for a workbook, the sheet) is read: the table exists, the file is
readable, every required column has a source, no mapped column holds nested values, and
the value mapping and spend columns name columns the file has. ``mallseg ingest all``
prepares every table's file this way before it loads any.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
>>> _ = path.write_text("Kunde,Sex\nA,1\n")
>>> prepared = prepare_ingest("customers", path, column_map={"Kunde": "customer_id"},
...                           value_map={"Sex": {"1": "female"}})
>>> prepared.mapping.canonical_to_source, prepared.value_map
({'customer_id': 'Kunde', 'gender': 'Sex'}, {'gender': {'1': 'female'}})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mallseg.core.schema import CANONICAL_TABLES, Table
from mallseg.data.errors import IngestError
from mallseg.data.event_attributes import EVENT_TABLES
from mallseg.data.mapping import ColumnMapping, column_list, map_columns, match_columns
from mallseg.data.readers import open_source
from mallseg.data.staging import Source

__all__ = ["PreparedIngest", "prepare_ingest"]


@dataclass(frozen=True)
class PreparedIngest:
    """A source checked to be usable for a table: readable, with a complete mapping.

    >>> from mallseg.core.schema import CANONICAL_TABLES
    >>> from mallseg.data.mapping import ColumnMapping
    >>> PreparedIngest(CANONICAL_TABLES["stores"], Source("s.csv", [], "csv", ["id"]),
    ...                ColumnMapping("stores", {"store_id": "id"})).spend_columns
    ()
    """

    table: Table
    source: Source
    mapping: ColumnMapping
    value_map: dict[str, dict[str, str]] = field(default_factory=dict)
    """Raw value rewrites per canonical column."""
    spend_columns: tuple[str, ...] = ()
    """Columns of a customers file kept as the attribute family ``spend``."""


def prepare_ingest(
    table_name: str,
    path: str | Path,
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    value_map: Mapping[str, Mapping[str, str]] | None = None,
    spend_columns: Sequence[str] | None = None,
) -> PreparedIngest:
    r"""Check that ``path`` can be loaded into ``table_name``, reading only its header.

    Raises
    ------
    IngestError
        When the table is unknown or the file cannot be used at all.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = path.write_text("Customer,Fresh,Milk\nW1,12669,9656\n")
    >>> prepare_ingest("customers", path, spend_columns=["Fresh", "Milk"]).spend_columns
    ('Fresh', 'Milk')
    >>> prepare_ingest("visits", path)
    Traceback (most recent call last):
    ...
    mallseg.data.errors.IngestError: ... no column for visits.customer_id ... SOURCE=customer_id
    """
    if table_name not in CANONICAL_TABLES:
        known = ", ".join(CANONICAL_TABLES)
        raise IngestError(f"unknown table {table_name!r}: expected one of {known}")
    table = CANONICAL_TABLES[table_name]
    source = open_source(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    mapping = map_columns(source.columns, table, column_map, source_label=source.label,
                          single_column_advice=_sheet_advice(source))
    _refuse_nested(source, mapping, table)
    return PreparedIngest(
        table=table,
        source=source,
        mapping=mapping,
        value_map=_checked_value_map(value_map or {}, source, mapping, table),
        spend_columns=_checked_spend_columns(spend_columns or (), source, mapping, table),
    )


def _sheet_advice(source: Source) -> str | None:
    if source.file_format != "excel":
        return None
    others = [s for s in source.sheets_with_data if s != source.sheet]
    listed = f" (sheets with data: {', '.join(others)})" if others else ""
    return (f"the sheet {source.sheet!r} holds no table with a header row: choose the sheet "
            f"that holds it with --sheet NAME{listed}")


def _refuse_nested(source: Source, mapping: ColumnMapping, table: Table) -> None:
    for canonical, column in mapping.canonical_to_source.items():
        if column in source.nested_columns:
            raise IngestError(
                f"{source.label}: column {column!r} (mapped to {table.name}.{canonical}) holds "
                "nested values (lists or structs); expected one value per row: flatten it "
                "before ingest, or map another column"
            )


def _checked_value_map(
    value_map: Mapping[str, Mapping[str, str]], source: Source, mapping: ColumnMapping,
    table: Table,
) -> dict[str, dict[str, str]]:
    """The value mapping keyed by canonical column; refuse names the file cannot use."""
    mapped = mapping.canonical_to_source
    by_source = {s: c for c, s in mapped.items()}
    usable = dict(mapped)
    if table.name in EVENT_TABLES:
        usable.update(match_columns(mapping.ignored, CANONICAL_TABLES["customers"],
                                    exclude={"customer_id": mapped.get("customer_id", "")}))
        by_source.update({s: c for c, s in usable.items()})
    checked: dict[str, dict[str, str]] = {}
    for name, values in value_map.items():
        canonical = name if name in usable else by_source.get(name)
        if canonical is None:
            raise IngestError(
                f"{source.label}: --values names {name!r}, which is no mapped column of this "
                f"file; expected one of: {', '.join(usable) or 'none'}"
            )
        checked.setdefault(canonical, {}).update({str(k): str(v) for k, v in values.items()})
    return checked


def _checked_spend_columns(
    columns: Sequence[str], source: Source, mapping: ColumnMapping, table: Table
) -> tuple[str, ...]:
    if not columns:
        return ()
    if table.name != "customers":
        raise IngestError(
            f"{source.label}: --spend-columns applies to a customers file, not to {table.name}"
        )
    by_source = {s: c for c, s in mapping.canonical_to_source.items()}
    for column in columns:
        if column not in source.columns:
            raise IngestError(
                f"{source.label}: --spend-columns names {column!r}, which the file does not "
                f"have; its columns are: {column_list(source.columns)}"
            )
        if column in by_source:
            raise IngestError(
                f"{source.label}: --spend-columns names {column!r}, which maps to "
                f"customers.{by_source[column]}; name only columns of spend per category"
            )
        if column in mapping.dropped_pii:
            raise IngestError(
                f"{source.label}: --spend-columns names {column!r}, which carries personal "
                "data and is never stored"
            )
    return tuple(dict.fromkeys(columns))
