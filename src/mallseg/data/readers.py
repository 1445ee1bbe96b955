r"""Read a user's file into the workspace database in units, never loading it whole.

:func:`open_source` looks at a file (or a folder of parts, or a glob): its format, header,
encoding and delimiter. :func:`stage_units` then fills the temporary table ``_staging``
with one unit of rows after another (about :data:`UNIT_ROWS` rows each), so that typing,
checks and the merge work on a bounded amount of data at a time whatever the file's size.

CSV (any of ``, ; TAB |`` as delimiter, UTF-8, Windows-1252 or Latin-1, LF or CRLF, quoted
fields, gzip) is streamed in blocks (:mod:`mallseg.data.csv_reader`); Parquet by row
batches, keeping its types (:mod:`mallseg.data.parquet_reader`); Excel workbooks are small
by nature and read in one unit (:mod:`mallseg.data.excel_reader`). CSV and Excel values
stay text; typing happens afterwards in SQL.

Examples
--------
>>> import duckdb, pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_bytes(b"id;age\r\n1;30\r\n2;x;extra\r\n3;41\r\n")
>>> con = duckdb.connect()
>>> source = open_source(folder / "c.csv")
>>> source.delimiter, source.columns
(';', ['id', 'age'])
>>> units = [(u.rows, [r.line for r in u.parse_rejects]) for u in stage_units(con, source)]
>>> units
[(2, [3])]
"""

from __future__ import annotations

import glob
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from mallseg.data.csv_reader import csv_units, inspect_csv
from mallseg.data.errors import IngestError
from mallseg.data.excel_reader import excel_unit, inspect_excel
from mallseg.data.parquet_reader import parquet_schema, parquet_units
from mallseg.data.staging import (
    DECISION_ROWS,
    RESERVED_COLUMNS,
    STAGING_TABLE,
    UNIT_ROWS,
    ParseReject,
    ProgressCallback,
    Source,
    StagedUnit,
    check_column_names,
)

__all__ = [
    "DECISION_ROWS",
    "RESERVED_COLUMNS",
    "STAGING_TABLE",
    "UNIT_ROWS",
    "ParseReject",
    "ProgressCallback",
    "Source",
    "StagedUnit",
    "normalise_delimiter",
    "normalise_encoding",
    "open_source",
    "resolve_inputs",
    "stage_units",
]

_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_ENCODINGS = {
    "utf8": "utf8", "utf-8": "utf8", "utf_8": "utf8",
    "latin1": "latin1", "latin-1": "latin1", "iso-8859-1": "latin1", "iso8859-1": "latin1",
    "cp1252": "cp1252", "windows-1252": "cp1252",
}


def resolve_inputs(path: str | Path) -> list[Path]:
    r"""Expand a file, a folder of parts or a glob into the list of files to read.

    Raises
    ------
    IngestError
        When nothing matches.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("part-1.csv", "part-0.csv", ".hidden", "_SUCCESS"):
    ...     _ = (folder / name).write_text("id\n1\n")
    >>> [p.name for p in resolve_inputs(folder)]
    ['part-0.csv', 'part-1.csv']
    """
    text = str(path)
    candidate = Path(text)
    if candidate.is_file():
        return [candidate]
    if candidate.is_dir():
        files = sorted(
            p for p in candidate.iterdir()
            if p.is_file() and not p.name.startswith((".", "_"))
        )
    elif any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text))
    else:
        raise IngestError(f"{text}: no such file")
    if not files:
        raise IngestError(f"{text}: no files found there")
    return files


def open_source(
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> Source:
    r"""Look at ``path``: format, columns and (CSV) encoding and delimiter.

    Raises
    ------
    IngestError
        When the file is missing, empty, binary, in an unsupported format or encoding,
        or its header cannot be used.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_text("id\tage\n1\t30\n")
    >>> source = open_source(path)
    >>> source.file_format, source.delimiter == chr(9), source.columns
    ('csv', True, ['id', 'age'])
    """
    files = resolve_inputs(path)
    label = str(path)
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise IngestError(f"{label}: mixes file formats ({', '.join(sorted(formats))})")
    file_format = formats.pop()
    source = Source(label=label, files=files, file_format=file_format, columns=[], sheet=sheet)
    if file_format == "parquet":
        source.columns, source.nested_columns = parquet_schema(files, label)
    elif file_format == "excel":
        inspect_excel(source, sheet)
    else:
        inspect_csv(source, normalise_encoding(encoding) if encoding else None,
                    normalise_delimiter(delimiter) if delimiter else None)
    check_column_names(source.columns, label)
    return source


def stage_units(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    *,
    unit_rows: int = UNIT_ROWS,
    progress: ProgressCallback | None = None,
) -> Iterator[StagedUnit]:
    r"""Fill ``_staging`` with one unit of rows after another.

    The staging table has the source's columns (CSV and Excel as text, Parquet with its
    own types) plus ``_source_file`` and ``_source_row``: the line number in a CSV file
    (exact unless the file has blank lines or line breaks inside quoted values after the
    header), the row number in a sheet, the ordinal in a Parquet file. Each yielded unit
    replaces the previous one.

    >>> import duckdb, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_text("id\n" + "".join(f"C{i}\n" for i in range(5)))
    >>> con = duckdb.connect()
    >>> [u.rows for u in stage_units(con, open_source(path))]
    [5]
    """
    con.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    try:
        if source.file_format == "parquet":
            yield from parquet_units(con, source, unit_rows, progress)
        elif source.file_format == "excel":
            yield excel_unit(con, source)
        else:
            yield from csv_units(con, source, unit_rows, progress)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")


def normalise_encoding(name: str) -> str:
    """The reader's name for a user-given encoding.

    >>> normalise_encoding("Latin-1"), normalise_encoding("UTF-8")
    ('latin1', 'utf8')

    Raises
    ------
    IngestError
        For an encoding mallseg does not read.
    """
    key = name.strip().lower()
    if key not in _ENCODINGS:
        raise IngestError(
            f"--encoding {name!r}: expected utf8, latin1 or cp1252 (Windows-1252)"
        )
    return _ENCODINGS[key]


def normalise_delimiter(text: str) -> str:
    r"""The one-character delimiter a user means (``tab`` and ``\t`` are a TAB).

    >>> normalise_delimiter("tab") == chr(9), normalise_delimiter(";")
    (True, ';')

    Raises
    ------
    IngestError
        When it is not a single character.
    """
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(text.strip().lower(), text)
    if len(value) != 1 or value in "\"\r\n":
        raise IngestError(
            f"--delimiter {text!r}: expected one character such as , ; | or tab"
        )
    return value


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(".xls"):
        raise IngestError(f"{path}: .xls (Excel 97-2003) is not supported; save it as .xlsx or CSV")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or name.endswith(_EXCEL_SUFFIXES):
        return _zip_format(path)
    return "csv"


def _zip_format(path: Path) -> str:
    """``excel`` for a workbook; a clear error for any other zip archive (or a broken one)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(
            f"{path}: cannot be read as an Excel workbook (not a valid .xlsx: {exc})"
        ) from exc
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return "excel"
    shown = ", ".join(n for n in names[:3] if not n.endswith("/")) or "nothing"
    more = ", ..." if len(names) > 3 else ""
    raise IngestError(
        f"{path}: is a zip archive (holding {shown}{more}), not a workbook, CSV or Parquet "
        "file: unzip it and ingest the file inside"
    )
