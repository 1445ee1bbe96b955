r"""Delimited text: encoding, delimiter and header detection, then streamed units.

The whole file is scanned once before anything is staged (about a gigabyte a second), so
that neither a stray byte of another encoding nor a NUL byte far into a large export can
surprise the load half-way. Rows are then streamed through Arrow's CSV reader in blocks;
lines that do not split into the header's fields are kept with their line number as
parse rejects.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
>>> _ = path.write_bytes(b"id|age\n1|30\n")
>>> source = Source(label=str(path), files=[path], file_format="csv", columns=[])
>>> inspect_csv(source, encoding=None, delimiter=None)
>>> source.delimiter, source.columns, source.encoding
('|', ['id', 'age'], 'utf8')
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from mallseg.core.sql_text import quote_identifier
from mallseg.data import staging
from mallseg.data.errors import IngestError
from mallseg.data.staging import (
    STAGING_TABLE,
    ParseReject,
    ProgressCallback,
    Source,
    StagedUnit,
    check_column_names,
    insert_batch,
    report_progress,
)

__all__ = ["csv_units", "inspect_csv", "line_numbers"]

_SAMPLE_BYTES = 1 << 20
_BLOCK_BYTES = 8 << 20
_SCAN_BYTES = 16 << 20
_DELIMITERS = ",;\t|"
_MAX_REJECT_TEXT = 2000
_BINARY_CONTROL_SHARE = 0.05
_DETECTED_ENCODINGS = ("utf8", "cp1252", "latin1")
_EMPTY = "the file is empty; expected a header line and data rows"


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


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-32 or UTF-16 (with or without a byte-order mark), recognised from the bytes."""
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    head = sample[:4096]
    if len(head) >= 8:
        zeros = head.count(0) / len(head)
        quads = [head[i:i + 4] for i in range(0, len(head) - 3, 4)]
        if zeros >= 0.7 and sum(q.count(0) == 3 for q in quads) >= 0.9 * len(quads):
            return "UTF-32"
        odd = head[1::2].count(0) / max(1, len(head[1::2]))
        even = head[0::2].count(0) / max(1, len(head[0::2]))
        if max(odd, even) >= 0.9 and min(odd, even) <= 0.1:
            return "UTF-16"
    return None


def _scan(path: Path, encoding: str | None) -> tuple[bool, int | None]:
    """Read the whole file once: whether it decodes, and where its first NUL byte is.

    Returns whether it decodes (always true without an encoding to check) and the line of
    the first NUL byte, if any.
    """
    decoder = codecs.getincrementaldecoder(encoding)() if encoding else None
    stream, _raw = _open_bytes(path)
    newlines = 0
    nul_line: int | None = None
    try:
        while chunk := stream.read(_SCAN_BYTES):
            if nul_line is None:
                position = chunk.find(b"\x00")
                if position >= 0:
                    nul_line = newlines + chunk.count(b"\n", 0, position) + 1
                else:
                    newlines += chunk.count(b"\n")
            if decoder is not None:
                decoder.decode(chunk, final=False)
        if decoder is not None:
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, nul_line
    except (OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot be read ({exc})") from exc
    finally:
        stream.close()
    return True, nul_line


def _detect_encoding(path: Path, sample: bytes, encoding: str | None) -> tuple[str, int | None]:
    """The encoding to read ``path`` with, and the line of its first NUL byte (if any).

    Without a given encoding: the first of UTF-8, Windows-1252 and Latin-1 that decodes
    the whole file.
    """
    wide = _wide_encoding(sample)
    if wide is not None:
        raise IngestError(
            f"{path}: the file is {wide} encoded; expected UTF-8, Windows-1252 or Latin-1 "
            "(re-save it as UTF-8)"
        )
    if encoding is not None:
        return encoding, _scan(path, None)[1]
    decodes, nul_line = _scan(path, "utf8")
    if decodes:
        return "utf8", nul_line
    if _scan(path, "cp1252")[0]:
        return "cp1252", nul_line
    return "latin1", nul_line


def _detect_delimiter(text: str, label: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    if not lines:
        raise IngestError(f"{label}: {_EMPTY}")
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > 0 else ","


def _header(text: str, delimiter: str, label: str, whole_file: bool) -> tuple[list[str], int]:
    """The header's column names and the number of blank lines before it."""
    lines = text.splitlines(keepends=True)
    blank = 0
    for line in lines:
        if line.strip():
            break
        blank += 1
    rest = "".join(lines[blank:])
    try:
        first = next(csv.reader(io.StringIO(rest), delimiter=delimiter), None)
    except csv.Error:
        # A carriage return the reader cannot place ("\r\x00\n"): read the header line alone.
        try:
            first = next(csv.reader([lines[blank].rstrip("\r\n")], delimiter=delimiter), None)
        except csv.Error as exc:
            raise IngestError(f"{label}: the header line cannot be read as CSV ({exc}); check "
                              "its quoting and line breaks") from exc
    if not first or not any(c.strip() for c in first):
        raise IngestError(f"{label}: {_EMPTY}")
    if whole_file and not rest.rstrip(" \t").endswith(("\n", "\r")) and len(
            rest.splitlines()) == 1:
        raise IngestError(
            f"{label}: no data rows below the header, and the file ends inside its header "
            "line (no line break after it): was it cut short? Export it again"
        )
    names = [c.strip().lstrip("\ufeff") or f"column_{i + 1}" for i, c in enumerate(first)]
    check_column_names(names, label)
    return names, blank


def _control_share(sample: bytes) -> float:
    """Share of the bytes that are control characters no text file holds."""
    controls = sum(sample.count(b) for b in (*range(0, 9), 11, 12, *range(14, 27), *range(28, 32)))
    return controls / max(1, len(sample))


def _check_nul(path: Path, sample: bytes, nul_line: int | None, header_line: int) -> None:
    """Refuse a binary file, or a NUL byte in the header; a NUL further down rejects its line."""
    if nul_line is None:
        return
    if nul_line <= header_line or _control_share(sample) > _BINARY_CONTROL_SHARE:
        raise IngestError(
            f"{path}: binary content (NUL bytes, the first on line {nul_line}); expected a "
            "CSV text file"
        )


def inspect_csv(source: Source, encoding: str | None, delimiter: str | None) -> None:
    r"""Fill in the encoding, delimiter, header and header lines of a CSV ``source``.

    Raises
    ------
    IngestError
        When a file is empty, binary, in an unsupported encoding, cut inside its header,
        or its parts disagree.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_bytes("\n\nid;name\n1;Zoë\n".encode("latin-1"))
    >>> source = Source(label=str(path), files=[path], file_format="csv", columns=[])
    >>> inspect_csv(source, encoding=None, delimiter=None)
    >>> source.encoding, source.header_line[path], source.notes
    ('cp1252', 3, ['read as cp1252'])
    """
    for path in source.files:
        sample = _read_sample(path)
        if not sample.strip():
            raise IngestError(f"{path}: {_EMPTY}")
        file_encoding, nul_line = _detect_encoding(path, sample, encoding)
        _check_nul(path, sample, nul_line, header_line=0)
        text = sample.decode(file_encoding, errors="replace").lstrip("\ufeff")
        file_delimiter = delimiter or _detect_delimiter(text, str(path))
        columns, blank_lines = _header(text, file_delimiter, str(path),
                                       whole_file=len(sample) < _SAMPLE_BYTES)
        _check_nul(path, sample, nul_line, header_line=blank_lines + 1)
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
        if nul_line is not None and source.nul_line is None:
            source.nul_line = nul_line
    if source.encoding != "utf8":
        source.notes.append(f"read as {source.encoding}")


def csv_units(
    con: duckdb.DuckDBPyConnection, source: Source, unit_rows: int,
    progress: ProgressCallback | None,
) -> Iterator[StagedUnit]:
    r"""Stage a CSV source unit by unit (values as text).

    >>> import duckdb, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.csv"
    >>> _ = path.write_text("id,age\n1,30\n2\n")
    >>> source = Source(label=str(path), files=[path], file_format="csv", columns=[])
    >>> inspect_csv(source, encoding=None, delimiter=None)
    >>> con = duckdb.connect()
    >>> [(u.rows, [r.reason for r in u.parse_rejects]) for u in csv_units(con, source, 10, None)]
    [(1, ['malformed line: 1 fields where the header has 2'])]
    """
    cols_sql = ", ".join(f"{quote_identifier(c)} VARCHAR" for c in source.columns)
    con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({cols_sql}, "
                "_source_file VARCHAR, _source_row BIGINT)")
    total_bytes = sum(f.stat().st_size for f in source.files) or 1
    done_bytes = 0
    staged = 0
    threshold = max(unit_rows, staging.DECISION_ROWS)
    pending: list[ParseReject] = []  # rejects not yet handed out with a unit
    for path in source.files:
        positions: list[int] = []  # every reject's place among the file's data records
        parsed = 0
        stream, raw = _open_bytes(path)
        try:
            for batch in _csv_batches(path, source, stream, pending, positions):
                n = batch.num_rows
                lines = line_numbers(parsed, n, positions, source.header_line[path])
                insert_batch(con, batch, path, lines)
                parsed += n
                staged += n
                report_progress(progress, done_bytes + raw.tell(), total_bytes)
                if staged >= threshold:
                    yield StagedUnit(staged, list(pending))
                    con.execute(f"DELETE FROM {STAGING_TABLE}")
                    pending.clear()  # in place: the reader's handler keeps appending here
                    staged, threshold = 0, unit_rows
        except pa.ArrowInvalid as exc:
            raise IngestError(f"{path}: cannot be read as CSV ({_arrow_reason(exc)})") from exc
        except (OSError, EOFError) as exc:
            raise IngestError(f"{path}: cannot be read ({exc})") from exc
        finally:
            stream.close()
        done_bytes += path.stat().st_size
    if staged or pending:
        yield StagedUnit(staged, list(pending))
    report_progress(progress, total_bytes, total_bytes)


def _arrow_reason(exc: pa.ArrowInvalid) -> str:
    first = str(exc).splitlines()[0]
    if "straddling" in first or "block size" in first:
        return ("a value runs on for more than 8 MB: most likely a quote (\") opens a value "
                "and never closes; check the quoting")
    return first


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


def line_numbers(done: int, n: int, positions: Sequence[int], header_line: int) -> np.ndarray:
    """File line numbers of parsed records ``done + 1 .. done + n``.

    ``positions`` holds the place (1 = first line after the header) of every malformed line
    seen so far, in order; a record's line is the header's line plus its ordinal among data
    records plus the malformed lines before it.

    >>> line_numbers(0, 3, [2], header_line=1).tolist()
    [2, 4, 5]
    """
    ordinals = np.arange(done + 1, done + n + 1, dtype=np.int64)
    if not positions:
        return ordinals + header_line
    placed = np.asarray(positions, dtype=np.int64)
    shifted = placed - np.arange(len(placed), dtype=np.int64)
    return ordinals + np.searchsorted(shifted, ordinals, side="right") + header_line
