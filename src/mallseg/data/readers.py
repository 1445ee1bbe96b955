r"""Read a user's file into a staging table of the workspace database, without loading it whole.

CSV (any of ``, ; TAB |`` as delimiter, UTF-8 or Latin-1, LF or CRLF, quoted fields, gzip)
is streamed in blocks through Arrow's CSV reader; lines that do not parse (too many or too
few fields) are kept with their line number as *parse rejects*. Parquet (a file, a folder of
parts or a glob) is read by DuckDB itself. Excel workbooks are small by nature and read with
openpyxl. Every value keeps its source form; typing and validation happen afterwards, in SQL.

Examples
--------
>>> import duckdb, pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_bytes(b"id;age\r\n1;30\r\n2;x;extra\r\n3;41\r\n")
>>> con = duckdb.connect()
>>> staged = stage_file(con, folder / "c.csv")
>>> staged.delimiter, staged.rows, [r.line for r in staged.parse_rejects]
(';', 2, [3])
>>> con.execute("SELECT id, _source_row FROM _staging ORDER BY 2").fetchall()
[('1', 2), ('3', 4)]
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import hashlib
import io
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from mallseg.data.errors import IngestError
from mallseg.sql_text import quote_identifier, quote_literal

__all__ = [
    "RESERVED_COLUMNS",
    "ParseReject",
    "ProgressCallback",
    "StagedFile",
    "normalise_delimiter",
    "normalise_encoding",
    "resolve_inputs",
    "stage_file",
]

ProgressCallback = Callable[[float], None]
"""Called with the fraction done, between 0 and 1."""

STAGING_TABLE = "_staging"
_SAMPLE_BYTES = 1 << 20
_BLOCK_BYTES = 8 << 20
_DELIMITERS = ",;\t|"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_MAX_REJECT_TEXT = 2000

RESERVED_COLUMNS = frozenset({"_source_file", "_source_row", "file_row_number", "filename"})
"""Column names the staging table uses for itself (compared case-insensitively)."""

_ENCODINGS = {
    "utf8": "utf8", "utf-8": "utf8", "utf_8": "utf8",
    "latin1": "latin1", "latin-1": "latin1", "iso-8859-1": "latin1", "iso8859-1": "latin1",
    "cp1252": "cp1252", "windows-1252": "cp1252",
}
_FALLBACK_ENCODINGS = ("cp1252", "latin1")


@dataclass(frozen=True)
class ParseReject:
    """A line that could not be split into the header's fields."""

    source_file: str
    line: int
    reason: str
    text: str


@dataclass
class StagedFile:
    """What :func:`stage_file` put into the staging table."""

    label: str
    files: list[Path]
    file_format: str
    columns: list[str]
    rows: int
    parse_rejects: list[ParseReject] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    content_sha256: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Data records found in the source: parsed rows plus parse rejects."""
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
        if not candidate.exists():
            raise IngestError(f"{text}: no such file")
        files = [candidate]
    if not files:
        raise IngestError(f"{text}: no files found there")
    return files


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    progress: ProgressCallback | None = None,
) -> StagedFile:
    """Read ``path`` into the temporary table ``_staging`` of ``con``.

    The staging table has the file's columns (CSV and Excel as text, Parquet with its own
    types) plus ``_source_file`` and ``_source_row``: the line number in a CSV file (exact
    unless the file has blank lines or line breaks inside quoted values after the header,
    which are not counted), the row number in a sheet, the ordinal in Parquet.

    Raises
    ------
    IngestError
        When the file is missing, empty, binary, not in a supported format, or its header
        cannot be read.
    """
    files = resolve_inputs(path)
    label = str(path)
    encoding = normalise_encoding(encoding) if encoding is not None else None
    delimiter = normalise_delimiter(delimiter) if delimiter is not None else None
    suffixes = {_format_of(f) for f in files}
    if len(suffixes) > 1:
        raise IngestError(f"{label}: mixes file formats ({', '.join(sorted(suffixes))})")
    file_format = suffixes.pop()
    con.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
    if file_format == "parquet":
        staged = _stage_parquet(con, files, label, progress)
    elif file_format == "excel":
        staged = _stage_excel(con, files, label, sheet)
    else:
        staged = _stage_csv(con, files, label, encoding, delimiter, progress)
    _check_column_names(staged.columns, label)
    staged.content_sha256 = _sha256(files)
    return staged


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


def _sha256(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()


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


def _detect_encoding(sample: bytes, label: str) -> str:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise IngestError(
            f"{label}: the file is UTF-16 encoded; expected UTF-8 or Latin-1 (re-save it as UTF-8)"
        )
    if b"\x00" in sample:
        raise IngestError(f"{label}: binary content (NUL bytes); expected a CSV text file")
    for encoding in ("utf8", *_FALLBACK_ENCODINGS):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin1"


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


def _stage_csv(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    label: str,
    encoding: str | None,
    delimiter: str | None,
    progress: ProgressCallback | None,
) -> StagedFile:
    total_bytes = sum(f.stat().st_size for f in files) or 1
    done_bytes = 0
    staged: StagedFile | None = None
    for path in files:
        sample = _read_sample(path)
        if not sample.strip():
            raise IngestError(f"{path}: the file is empty; expected a header line and data rows")
        file_encoding = encoding or _detect_encoding(sample, str(path))
        text = sample.decode(file_encoding, errors="replace").lstrip("\ufeff")
        file_delimiter = delimiter or _detect_delimiter(text, str(path))
        columns, blank_lines = _header(text, file_delimiter, str(path))
        if staged is None:
            staged = StagedFile(label=label, files=list(files), file_format="csv",
                                columns=columns, rows=0, encoding=file_encoding,
                                delimiter=file_delimiter)
            cols_sql = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in columns)
            con.execute(
                f"CREATE TEMP TABLE {STAGING_TABLE} ({cols_sql}, "
                "_source_file VARCHAR, _source_row BIGINT)"
            )
        elif columns != staged.columns:
            raise IngestError(
                f"{path}: its header differs from the first part's ({', '.join(staged.columns)})"
            )
        on_position = _position_reporter(progress, done_bytes, total_bytes)
        fallbacks = [] if encoding else [e for e in _FALLBACK_ENCODINGS if e != file_encoding]
        while True:
            try:
                rows, rejects = _stream_csv_file(con, path, columns, file_encoding,
                                                 file_delimiter, blank_lines + 1, on_position)
                break
            except UnicodeError as exc:
                if not fallbacks:
                    raise IngestError(
                        f"{path}: text is not valid {file_encoding}; give the file's encoding "
                        "with --encoding"
                    ) from exc
                con.execute(f"DELETE FROM {STAGING_TABLE} WHERE _source_file = ?", [str(path)])
                staged.notes.append(
                    f"{path.name}: not valid {file_encoding} further in; read as {fallbacks[0]}"
                )
                file_encoding = fallbacks.pop(0)
                staged.encoding = file_encoding
        staged.rows += rows
        staged.parse_rejects.extend(rejects)
        done_bytes += path.stat().st_size
    assert staged is not None
    _report(progress, total_bytes, total_bytes)
    return staged


def _stream_csv_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: list[str],
    encoding: str,
    delimiter: str,
    skip_rows: int,
    on_position: Callable[[int], None],
) -> tuple[int, list[ParseReject]]:
    rejects: list[ParseReject] = []

    def keep_invalid(row: pacsv.InvalidRow) -> str:
        reason = (
            f"malformed line: {row.actual_columns} fields where the header has "
            f"{row.expected_columns}"
        )
        rejects.append(ParseReject(str(path), int(row.number or -1), reason,
                                   (row.text or "")[:_MAX_REJECT_TEXT]))
        return "skip"

    stream, raw = _open_bytes(path)
    try:
        return _stream_batches(con, path, columns, encoding, delimiter, skip_rows, on_position,
                               stream, raw, keep_invalid, rejects)
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message.lower() or "decode" in message.lower():
            raise UnicodeError(message) from exc
        raise IngestError(f"{path}: cannot be read as CSV ({message.splitlines()[0]})") from exc
    except UnicodeDecodeError as exc:
        raise UnicodeError(str(exc)) from exc
    except (OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot be read ({exc})") from exc
    finally:
        stream.close()


def _stream_batches(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: list[str],
    encoding: str,
    delimiter: str,
    skip_rows: int,
    on_position: Callable[[int], None],
    stream: pa.NativeFile,
    raw: pa.NativeFile,
    keep_invalid: Callable[[pacsv.InvalidRow], str],
    rejects: list[ParseReject],
) -> tuple[int, list[ParseReject]]:
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            encoding=encoding, block_size=_BLOCK_BYTES, use_threads=False,
            column_names=columns, skip_rows=skip_rows,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, newlines_in_values=True, invalid_row_handler=keep_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False,
        ),
    )
    rows = 0
    for batch in reader:
        n = batch.num_rows
        lines = _line_numbers(rows, n, rejects) + (skip_rows - 1)
        table = pa.Table.from_batches([batch]).append_column(
            "_source_file", pa.array([str(path)] * n, pa.string())
        ).append_column("_source_row", pa.array(lines, pa.int64()))
        con.register("_arrow_batch", table)
        con.execute(f"INSERT INTO {STAGING_TABLE} SELECT * FROM _arrow_batch")
        con.unregister("_arrow_batch")
        rows += n
        on_position(raw.tell())
    return rows, rejects


def _line_numbers(done: int, n: int, rejects: Sequence[ParseReject]) -> np.ndarray:
    """File line numbers (header = line 1) of parsed records ``done + 1 .. done + n``.

    A record's line is its ordinal among data records plus one for the header, shifted
    by the rejected lines that came before it.
    """
    ordinals = np.arange(done + 1, done + n + 1, dtype=np.int64)
    if not rejects:
        return ordinals + 1
    positions = np.array(sorted(r.line - 1 for r in rejects if r.line > 0), dtype=np.int64)
    shifted = positions - np.arange(len(positions), dtype=np.int64)
    return ordinals + np.searchsorted(shifted, ordinals, side="right") + 1


def _position_reporter(
    progress: ProgressCallback | None, base: int, total: int
) -> Callable[[int], None]:
    def on_position(position: int) -> None:
        _report(progress, base + position, total)

    return on_position


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(min(1.0, done / max(total, 1)))


# -- Parquet ---------------------------------------------------------------------------------
def _stage_parquet(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    label: str,
    progress: ProgressCallback | None,
) -> StagedFile:
    file_list = "[" + ", ".join(quote_literal(f) for f in files) + "]"
    try:
        columns = [
            row[0] for row in con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({file_list}, union_by_name = true)"
            ).fetchall()
        ]
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise IngestError(f"{label}: cannot be read as Parquet ({first_line})") from exc
    sql = (
        f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT * EXCLUDE (file_row_number), "
        "file_row_number + 1 AS _source_row "
        f"FROM read_parquet({file_list}, union_by_name = true, filename = '_source_file', "
        "file_row_number = true)"
    )
    run_with_progress(con, sql, progress)
    rows = con.execute(f"SELECT count(*) FROM {STAGING_TABLE}").fetchone()
    return StagedFile(label=label, files=list(files), file_format="parquet", columns=columns,
                      rows=int(rows[0]) if rows else 0)


def run_with_progress(
    con: duckdb.DuckDBPyConnection, sql: str, progress: ProgressCallback | None
) -> None:
    """Execute ``sql``, reporting DuckDB's own progress estimate while it runs."""
    if progress is None:
        con.execute(sql)
        return
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        value = con.query_progress()
        if value >= 0:
            progress(min(1.0, value / 100.0))
        time.sleep(0.1)
    thread.join()
    if failure:
        raise failure[0]
    progress(1.0)


# -- Excel -----------------------------------------------------------------------------------
def _stage_excel(
    con: duckdb.DuckDBPyConnection, files: Sequence[Path], label: str, sheet: str | None
) -> StagedFile:
    import pandas as pd

    frames = []
    for path in files:
        try:
            frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False,
                                  engine="openpyxl", header=None)
        except ValueError as exc:
            raise IngestError(f"{path}: {exc}") from exc
        except Exception as exc:
            raise IngestError(f"{path}: cannot be read as an Excel workbook ({exc})") from exc
        if frame.empty:
            raise IngestError(f"{path}: the sheet is empty; expected a header row and data rows")
        names = [str(c).strip() or f"column_{i + 1}" for i, c in enumerate(frame.iloc[0])]
        _check_column_names(names, str(path))
        frame = frame.iloc[1:].set_axis(names, axis=1)
        frame["_source_file"] = str(path)
        frame["_source_row"] = np.arange(2, len(frame) + 2, dtype=np.int64)
        blank = (frame[names].apply(lambda col: col.str.strip()) == "").all(axis=1)
        frames.append(frame[~blank])
    data = pd.concat(frames, ignore_index=True)
    con.register("_excel_frame", data)
    con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT * FROM _excel_frame")
    con.unregister("_excel_frame")
    columns = [c for c in data.columns if c not in ("_source_file", "_source_row")]
    return StagedFile(label=label, files=list(files), file_format="excel", columns=columns,
                      rows=len(data))
