r"""Read a user's file into the workspace database in units, never loading it whole.

:func:`open_source` looks at a file (or a folder of parts, or a glob): its format, header,
encoding and delimiter. :func:`stage_units` then fills the temporary table ``_staging``
with one unit of rows after another (about :data:`UNIT_ROWS` rows each), so that typing,
checks and the merge work on a bounded amount of data at a time whatever the file's size.

CSV (any of ``, ; TAB |`` as delimiter, UTF-8, Windows-1252 or Latin-1, LF or CRLF, quoted
fields, gzip) is streamed in blocks through Arrow's CSV reader; lines that do not parse (too
many or too few fields) are kept with their line number as *parse rejects*. Parquet is
streamed by row batches and keeps its types. Excel workbooks are small by nature and read
with openpyxl in one unit. CSV and Excel values stay text; typing happens afterwards in SQL.

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

import codecs
import csv
import glob
import gzip
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mallseg.core.sql_text import quote_identifier
from mallseg.data.errors import IngestError

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

ProgressCallback = Callable[[float], None]
"""Called with the fraction done, between 0 and 1."""

STAGING_TABLE = "_staging"
UNIT_ROWS = 2_000_000
"""Rows staged, typed, checked and merged at a time."""

DECISION_ROWS = 20_000
"""The first unit holds at least this many rows: parsing decisions (date formats, decimal
commas, income unit) are taken from the first rows of the file, whatever the unit size."""

_SAMPLE_BYTES = 1 << 20
_BLOCK_BYTES = 8 << 20
_SCAN_BYTES = 16 << 20
_PARQUET_BATCH_ROWS = 262_144
_DELIMITERS = ",;\t|"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_MAX_REJECT_TEXT = 2000

RESERVED_COLUMNS = frozenset({"_source_file", "_source_row"})
"""Column names the staging table uses for itself (compared case-insensitively)."""

_ENCODINGS = {
    "utf8": "utf8", "utf-8": "utf8", "utf_8": "utf8",
    "latin1": "latin1", "latin-1": "latin1", "iso-8859-1": "latin1", "iso8859-1": "latin1",
    "cp1252": "cp1252", "windows-1252": "cp1252",
}
_DETECTED_ENCODINGS = ("utf8", "cp1252", "latin1")


@dataclass(frozen=True)
class ParseReject:
    """A line that could not be split into the header's fields."""

    source_file: str
    line: int
    reason: str
    text: str


@dataclass
class Source:
    """A file (or folder of parts) ready to be staged: format, header, dialect."""

    label: str
    files: list[Path]
    file_format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_line: dict[Path, int] = field(default_factory=dict)
    """CSV: the line number of each file's header (blank lines may precede it)."""
    notes: list[str] = field(default_factory=list)

    def content_sha256(self) -> str:
        """Digest of the files' bytes, to recognise the same content loaded again."""
        digest = hashlib.sha256()
        for f in self.files:
            with f.open("rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
        return digest.hexdigest()


@dataclass
class StagedUnit:
    """One unit of rows now in the staging table."""

    rows: int
    parse_rejects: list[ParseReject]

    @property
    def rows_read(self) -> int:
        """Records of the source in this unit: parsed rows plus parse rejects."""
        return self.rows + len(self.parse_rejects)


def resolve_inputs(path: str | Path) -> list[Path]:
    """Expand a file, a folder of parts or a glob into the list of files to read.

    Raises
    ------
    IngestError
        When nothing matches.
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
    """Look at ``path``: format, columns and (CSV) encoding and delimiter.

    Raises
    ------
    IngestError
        When the file is missing, empty, binary, in an unsupported format or encoding,
        or its header cannot be used.
    """
    files = resolve_inputs(path)
    label = str(path)
    formats = {_format_of(f) for f in files}
    if len(formats) > 1:
        raise IngestError(f"{label}: mixes file formats ({', '.join(sorted(formats))})")
    file_format = formats.pop()
    source = Source(label=label, files=files, file_format=file_format, columns=[], sheet=sheet)
    if file_format == "parquet":
        source.columns = _parquet_columns(files, label)
    elif file_format == "excel":
        source.columns = _excel_header(files[0], sheet)
    else:
        _inspect_csv(source, normalise_encoding(encoding) if encoding else None,
                     normalise_delimiter(delimiter) if delimiter else None)
    _check_column_names(source.columns, label)
    return source


def stage_units(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    *,
    unit_rows: int = UNIT_ROWS,
    progress: ProgressCallback | None = None,
) -> Iterator[StagedUnit]:
    """Fill ``_staging`` with one unit of rows after another.

    The staging table has the source's columns (CSV and Excel as text, Parquet with its
    own types) plus ``_source_file`` and ``_source_row``: the line number in a CSV file
    (exact unless the file has blank lines or line breaks inside quoted values after the
    header), the row number in a sheet, the ordinal in a Parquet file. Each yielded unit
    replaces the previous one.
    """
    con.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    try:
        if source.file_format == "parquet":
            yield from _parquet_units(con, source, unit_rows, progress)
        elif source.file_format == "excel":
            yield _excel_unit(con, source)
        else:
            yield from _csv_units(con, source, unit_rows, progress)
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


def _check_column_names(columns: Sequence[str], label: str) -> None:
    seen: dict[str, str] = {}
    for name in columns:
        key = name.lower()
        if key in RESERVED_COLUMNS:
            raise IngestError(
                f"{label}: column {name!r} has a name mallseg reserves for itself; "
                "rename it in the file"
            )
        if key in seen:
            raise IngestError(
                f"{label}: column {name!r} appears twice in the header"
                + ("" if seen[key] == name else f" (as {seen[key]!r} too)")
            )
        seen[key] = name


# -- formats ---------------------------------------------------------------------------------
def _format_of(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(_EXCEL_SUFFIXES):
        return "excel"
    if name.endswith(".xls"):
        raise IngestError(f"{path}: .xls (Excel 97-2003) is not supported; save it as .xlsx or CSV")
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    return "csv"


# -- CSV -------------------------------------------------------------------------------------
def _open_bytes(path: Path) -> tuple[pa.NativeFile, pa.NativeFile]:
    """Return (stream to read, raw file whose position tells progress)."""
    raw = pa.OSFile(str(path), "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return pa.CompressedInputStream(raw, "gzip"), raw
    return raw, raw


def _read_sample(path: Path) -> bytes:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(_SAMPLE_BYTES)
        except (EOFError, OSError) as exc:
            raise IngestError(f"{path}: damaged gzip file ({exc})") from exc
    with path.open("rb") as fh:
        return fh.read(_SAMPLE_BYTES)


def _detect_encoding(path: Path) -> str:
    """The first of UTF-8, Windows-1252 and Latin-1 that decodes the whole file.

    The whole file is read once (decoding runs at about a gigabyte a second), so that a
    stray byte far into a large export cannot surprise the load half-way.
    """
    sample = _read_sample(path)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IngestError(
            f"{path}: the file is UTF-16 encoded; expected UTF-8, Windows-1252 or Latin-1 "
            "(re-save it as UTF-8)"
        )
    if b"\x00" in sample:
        raise IngestError(f"{path}: binary content (NUL bytes); expected a CSV text file")
    for encoding in _DETECTED_ENCODINGS[:-1]:
        if _decodes(path, encoding):
            return encoding
    return "latin1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    stream, _raw = _open_bytes(path)
    try:
        while chunk := stream.read(_SCAN_BYTES):
            decoder.decode(chunk, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    except (OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot be read ({exc})") from exc
    finally:
        stream.close()
    return True


def _detect_delimiter(text: str, label: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    if not lines:
        raise IngestError(f"{label}: the file is empty; expected a header line and data rows")
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _header(text: str, delimiter: str, label: str) -> tuple[list[str], int]:
    """The header's column names and the number of blank lines before it."""
    blank = 0
    for line in text.splitlines():
        if line.strip():
            break
        blank += 1
    rest = "\n".join(text.splitlines()[blank:])
    first = next(csv.reader(io.StringIO(rest), delimiter=delimiter), None)
    if not first or not any(c.strip() for c in first):
        raise IngestError(f"{label}: the file is empty; expected a header line and data rows")
    names = [c.strip().lstrip("\ufeff") or f"column_{i + 1}" for i, c in enumerate(first)]
    _check_column_names(names, label)
    return names, blank


def _inspect_csv(source: Source, encoding: str | None, delimiter: str | None) -> None:
    for path in source.files:
        sample = _read_sample(path)
        if not sample.strip():
            raise IngestError(f"{path}: the file is empty; expected a header line and data rows")
        file_encoding = encoding or _detect_encoding(path)
        text = sample.decode(file_encoding, errors="replace").lstrip("\ufeff")
        file_delimiter = delimiter or _detect_delimiter(text, str(path))
        columns, blank_lines = _header(text, file_delimiter, str(path))
        if not source.columns:
            source.columns = columns
            source.encoding = file_encoding
            source.delimiter = file_delimiter
        elif columns != source.columns:
            raise IngestError(
                f"{path}: its header differs from the first part's ({', '.join(source.columns)})"
            )
        elif (file_encoding, file_delimiter) != (source.encoding, source.delimiter):
            raise IngestError(f"{path}: its encoding or delimiter differs from the first part's")
        source.header_line[path] = blank_lines + 1
    if source.encoding != "utf8":
        source.notes.append(f"read as {source.encoding}")


def _csv_units(
    con: duckdb.DuckDBPyConnection, source: Source, unit_rows: int,
    progress: ProgressCallback | None,
) -> Iterator[StagedUnit]:
    cols_sql = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in source.columns)
    con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({cols_sql}, "
                "_source_file VARCHAR, _source_row BIGINT)")
    total_bytes = sum(f.stat().st_size for f in source.files) or 1
    done_bytes = 0
    staged = 0
    threshold = max(unit_rows, DECISION_ROWS)
    pending: list[ParseReject] = []  # rejects not yet handed out with a unit
    for path in source.files:
        positions: list[int] = []  # every reject's place among the file's data records
        parsed = 0
        stream, raw = _open_bytes(path)
        try:
            for batch in _csv_batches(path, source, stream, pending, positions):
                n = batch.num_rows
                lines = _line_numbers(parsed, n, positions, source.header_line[path])
                _insert_batch(con, batch, path, lines)
                parsed += n
                staged += n
                _report(progress, done_bytes + raw.tell(), total_bytes)
                if staged >= threshold:
                    yield StagedUnit(staged, list(pending))
                    con.execute(f"DELETE FROM {STAGING_TABLE}")
                    pending.clear()  # in place: the reader's handler keeps appending here
                    staged, threshold = 0, unit_rows
        except pa.ArrowInvalid as exc:
            first = str(exc).splitlines()[0]
            raise IngestError(f"{path}: cannot be read as CSV ({first})") from exc
        except (OSError, EOFError) as exc:
            raise IngestError(f"{path}: cannot be read ({exc})") from exc
        finally:
            stream.close()
        done_bytes += path.stat().st_size
    if staged or pending:
        yield StagedUnit(staged, list(pending))
    _report(progress, total_bytes, total_bytes)


def _csv_batches(
    path: Path, source: Source, stream: pa.NativeFile, rejects: list[ParseReject],
    positions: list[int],
) -> Iterator[pa.RecordBatch]:
    header_line = source.header_line[path]

    def keep_invalid(row: pacsv.InvalidRow) -> str:
        reason = (
            f"malformed line: {row.actual_columns} fields where the header has "
            f"{row.expected_columns}"
        )
        line = int(row.number or -1)
        rejects.append(ParseReject(str(path), line, reason, (row.text or "")[:_MAX_REJECT_TEXT]))
        if line > 0:
            positions.append(line - header_line)
        return "skip"

    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            encoding=source.encoding or "utf8", block_size=_BLOCK_BYTES, use_threads=False,
            column_names=source.columns, skip_rows=source.header_line[path],
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=source.delimiter or ",", newlines_in_values=True,
            invalid_row_handler=keep_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in source.columns}, strings_can_be_null=False,
        ),
    )
    yield from reader


def _insert_batch(
    con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch, path: Path, rows: np.ndarray
) -> None:
    n = batch.num_rows
    table = pa.Table.from_batches([batch]).append_column(
        "_source_file", pa.array([str(path)] * n, pa.string())
    ).append_column("_source_row", pa.array(rows, pa.int64()))
    con.register("_arrow_batch", table)
    con.execute(f"INSERT INTO {STAGING_TABLE} SELECT * FROM _arrow_batch")
    con.unregister("_arrow_batch")


def _line_numbers(done: int, n: int, positions: Sequence[int], header_line: int) -> np.ndarray:
    """File line numbers of parsed records ``done + 1 .. done + n``.

    ``positions`` holds the place (1 = first line after the header) of every malformed line
    seen so far, in order; a record's line is the header's line plus its ordinal among data
    records plus the malformed lines before it.

    >>> _line_numbers(0, 3, [2], header_line=1).tolist()
    [2, 4, 5]
    """
    ordinals = np.arange(done + 1, done + n + 1, dtype=np.int64)
    if not positions:
        return ordinals + header_line
    placed = np.asarray(positions, dtype=np.int64)
    shifted = placed - np.arange(len(placed), dtype=np.int64)
    return ordinals + np.searchsorted(shifted, ordinals, side="right") + header_line


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(min(1.0, done / max(total, 1)))


# -- Parquet ---------------------------------------------------------------------------------
def _parquet_columns(files: Sequence[Path], label: str) -> list[str]:
    schema: pa.Schema | None = None
    for path in files:
        try:
            part = pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as exc:
            raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc
        if schema is None:
            schema = part
        elif part.names != schema.names:
            raise IngestError(
                f"{path}: its columns differ from the first part's ({', '.join(schema.names)})"
            )
        else:
            for a, b in zip(schema, part, strict=True):
                if a.type != b.type and not pa.types.is_null(a.type) and not (
                        pa.types.is_null(b.type)):
                    raise IngestError(
                        f"{path}: column {a.name!r} is {b.type} here but {a.type} in the "
                        "first part; write every part with the same types"
                    )
    return list(schema.names) if schema is not None else []


def _parquet_units(
    con: duckdb.DuckDBPyConnection, source: Source, unit_rows: int,
    progress: ProgressCallback | None,
) -> Iterator[StagedUnit]:
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in source.files) or 1
    done = 0
    staged = 0
    threshold = max(unit_rows, DECISION_ROWS)
    created = False
    for path in source.files:
        ordinal = 0
        for batch in _parquet_batches(path):
            n = batch.num_rows
            rows = np.arange(ordinal + 1, ordinal + n + 1, dtype=np.int64)
            if not created:
                con.register("_arrow_batch", pa.Table.from_batches([batch.slice(0, 0)]))
                con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT *, "
                            "CAST(NULL AS VARCHAR) AS _source_file, "
                            "CAST(NULL AS BIGINT) AS _source_row FROM _arrow_batch")
                con.unregister("_arrow_batch")
                created = True
            _insert_batch(con, batch, path, rows)
            ordinal += n
            staged += n
            done += n
            _report(progress, done, total)
            if staged >= threshold:
                yield StagedUnit(staged, [])
                con.execute(f"DELETE FROM {STAGING_TABLE}")
                staged, threshold = 0, unit_rows
    if not created:
        cols = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in source.columns)
        con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({cols}, _source_file VARCHAR, "
                    "_source_row BIGINT)")
    if staged:
        yield StagedUnit(staged, [])


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=_PARQUET_BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: cannot be read as Parquet ({exc})") from exc


# -- Excel -----------------------------------------------------------------------------------
def _read_sheet(path: Path, sheet: str | None, rows: int | None = None) -> pd.DataFrame:
    """The sheet as text cells, header row included; ``rows`` limits how many are read."""
    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, header=None, nrows=rows,
                              keep_default_na=False, engine="openpyxl")
    except ValueError as exc:
        raise IngestError(f"{path}: {exc}") from exc
    except Exception as exc:
        raise IngestError(f"{path}: cannot be read as an Excel workbook ({exc})") from exc
    if frame.empty:
        raise IngestError(f"{path}: the sheet is empty; expected a header row and data rows")
    return frame


def _sheet_header(frame: pd.DataFrame) -> list[str]:
    return [str(c).strip() or f"column_{i + 1}" for i, c in enumerate(frame.iloc[0])]


def _excel_header(path: Path, sheet: str | None) -> list[str]:
    return _sheet_header(_read_sheet(path, sheet, rows=1))


def _excel_unit(con: duckdb.DuckDBPyConnection, source: Source) -> StagedUnit:
    frames = []
    for path in source.files:
        frame = _read_sheet(path, source.sheet)
        names = _sheet_header(frame)
        _check_column_names(names, str(path))
        if names != source.columns:
            raise IngestError(f"{path}: its columns differ from the first workbook's")
        frame = frame.iloc[1:].set_axis(names, axis=1)
        frame["_source_file"] = str(path)
        frame["_source_row"] = np.arange(2, len(frame) + 2, dtype=np.int64)
        blank = (frame[names].apply(lambda col: col.str.strip()) == "").all(axis=1)
        frames.append(frame[~blank])
    data = pd.concat(frames, ignore_index=True)
    con.register("_excel_frame", data)
    con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT * FROM _excel_frame")
    con.unregister("_excel_frame")
    return StagedUnit(len(data), [])
