"""Any file, however malformed, either loads with reconciled counts or fails with one line.

Hypothesis writes files in every format mallseg reads (CSV of any delimiter and encoding,
gzip, Parquet, .xlsx) with broken quoting, ragged rows, junk bytes, empty files, huge
numbers, NaN and infinity, bad dates, duplicate keys and headers only, and pushes each
through ``ingest_file`` as customers or transactions. The only exception allowed is an
``IngestError`` of one line; a file that loads reconciles (read = loaded + quarantined)
and loading it again adds nothing.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace

CASES_TRIED = {"files": 0, "loaded": 0, "refused": 0}
"""How many generated files went through ingest, and how each ended."""

EXAMPLES = int(os.environ.get("MALLSEG_FUZZ_INGEST_EXAMPLES", "70"))

NAMES = ["customer_id", "CustomerID", "ID", "age", "Age", "Income", "gender", "Genre",
         "signup_date", "purchased_at", "InvoiceDate", "amount", "Quantity", "UnitPrice",
         "price", "email", "Country", "notes", "MntWines", "Kidhome", "x", "", " ",
         "_source_row", "a,b", 'q"uote', "Ünïcode"]
NASTY = ["", " ", "NaN", "nan", "inf", "-inf", "1e308", "1e400", "-0", "5e28", "12,5",
         "1.234,56", "$40", "45-54", "0000-01-01", "9999-12-31", "2026-13-45", "31/02/2024",
         "Jan 01 2021", "2026-01-01 10:00", "Total", "=1+1", "@SUM(A1)", "Kadın", "männlich",
         "yes", "0", "1", "2", "-5", "99999999999999999999", "a\"b", '"', '""', "x,y", "\r",
         "\n", "\t", "\x00", "\x1a", "∞", "A", "B", "C", "C0001", "ann@example.org",
         "+44 20 7946 0958", "4111111111111111"]
CELL = st.one_of(st.sampled_from(NASTY), st.text(max_size=8), st.integers(-10**6, 10**6)
                 .map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr))


REQUIRED = {
    "customers": (("customer_id",), ("CustomerID",), ("ID",)),
    "transactions": (("customer_id", "purchased_at", "amount"),
                     ("CustomerID", "InvoiceDate", "Quantity", "UnitPrice")),
}
"""Headers that map, so that most generated files get as far as their rows."""


RARELY = st.sampled_from([False] * 7 + [True])
"""True about one time in eight (Hypothesis leans towards the first choices)."""


@st.composite
def tables(draw: st.DrawFn, table: str) -> tuple[list[str], list[list[str]]]:
    header = [] if draw(RARELY) else list(draw(st.sampled_from(REQUIRED[table])))
    header += draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True))
    header = draw(st.permutations(header)) if header else ["x"]
    width = len(header)
    row = st.lists(CELL, min_size=max(0, width - 2), max_size=width + 2)
    regular = st.lists(CELL, min_size=width, max_size=width)
    rows = draw(st.lists(st.one_of(regular, regular, row), max_size=12))
    if rows and draw(st.booleans()):
        rows.append(list(rows[0]))  # a duplicate key
    return header, rows


def csv_bytes(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quote = draw(st.booleans())

    def line(cells: list[str]) -> str:
        if quote:
            cells = ['"' + c.replace('"', '""') + '"' if draw(st.booleans()) else c
                     for c in cells]
        return delimiter.join(cells)

    text = newline.join(line(r) for r in [header, *rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16",
                                     "utf-32"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=6)) + data[at:]  # junk bytes
    if draw(RARELY):
        data = data[: draw(st.integers(len(data) // 3, len(data)))]  # cut short
    return data


def parquet_bytes(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> bytes:
    names = header
    columns: list[pa.Array] = []
    for position, _name in enumerate(names):
        values = [r[position] if position < len(r) else None for r in rows]
        kind = draw(st.sampled_from(["text", "float", "int", "list", "time", "bool"]))
        if kind == "float":
            array = pa.array([_float(v) for v in values], pa.float64())
        elif kind == "int":
            array = pa.array([None if v is None else len(v) - 3 for v in values], pa.int64())
        elif kind == "list":
            array = pa.array([[v] if v else [] for v in values], pa.list_(pa.string()))
        elif kind == "time":
            array = pa.array([None if v is None else 10**15 * len(v) for v in values],
                             pa.timestamp("us"))
        elif kind == "bool":
            array = pa.array([None if v is None else len(v) % 2 == 0 for v in values])
        else:
            array = pa.array(values, pa.string())
        columns.append(array)
    table = pa.Table.from_arrays(columns, names=names)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def xlsx_bytes(draw: st.DrawFn, header: list[str], rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if draw(st.booleans()):
        sheet = book.create_sheet("Data")  # the first sheet stays empty
    top, left = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    for r, cells in enumerate([header, *rows]):
        for c, value in enumerate(cells):
            clean = "".join(ch for ch in value if ch >= " " or ch in "\t\n\r")
            number = _float(clean) if draw(st.booleans()) else None
            cell: Any = number if number is not None and abs(number) < 1e300 else clean
            sheet.cell(row=top + r, column=left + c, value=cell or None)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@st.composite
def files(draw: st.DrawFn, table: str) -> tuple[str, bytes]:
    header, rows = draw(tables(table))
    kind = draw(st.sampled_from(["csv", "parquet", "xlsx", "csv", "gz", "empty"]))
    if kind == "empty":
        return "c.csv", draw(st.sampled_from([b"", b"\n\n", b"\xef\xbb\xbf", b" "]))
    if kind == "parquet":
        return "c.parquet", parquet_bytes(draw, header, rows)
    if kind == "xlsx":
        return "c.xlsx", xlsx_bytes(draw, header, rows)
    data = csv_bytes(draw, header, rows)
    if kind == "gz":
        packed = gzip.compress(data)
        if draw(RARELY):
            packed = packed[: len(packed) // 2]  # a damaged archive
        return "c.csv.gz", packed
    return "c.csv", data


def _counts(ws: Workspace) -> tuple[int, ...]:
    return tuple(ws.table_count(t) for t in ("customers", "transactions", "stores",
                                             "quarantine", "customer_attributes"))


def _reconciles(report: Any) -> bool:
    return (report.rows_read == report.rows_loaded + report.rows_quarantined
            and report.rows_loaded == report.rows_new + report.rows_updated
            + report.rows_unchanged)


def _push(name: str, data: bytes, table: str, register: bool) -> None:
    CASES_TRIED["files"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with Workspace.open(Path(folder) / "ws") as ws:
            try:
                first = ingest_file(ws, table, path, register_unknown=register)
            except IngestError as exc:
                message = str(exc)
                note(message)
                assert message and "\n" not in message and "Traceback" not in message
                CASES_TRIED["refused"] += 1
                event("refused")
                return
            CASES_TRIED["loaded"] += 1
            event("loaded")
            assert _reconciles(first), first
            before = _counts(ws)
            again = ingest_file(ws, table, path, register_unknown=register)
            assert _reconciles(again), again
            assert (again.rows_new, again.rows_updated) == (0, 0), again
            assert again.rows_read == first.rows_read
            assert _counts(ws) == before


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=st.sampled_from(["customers", "transactions"]).flatmap(
    lambda table: st.tuples(st.just(table), files(table))), register=st.booleans())
def _any_file_loads_or_fails_with_one_line(
    case: tuple[str, tuple[str, bytes]], register: bool
) -> None:
    table, (name, data) = case
    _push(name, data, table=table, register=register)


def test_any_malformed_file_loads_or_fails_with_one_line() -> None:
    CASES_TRIED.update(files=0, loaded=0, refused=0)
    _any_file_loads_or_fails_with_one_line()
    print(f"\ningest properties: {CASES_TRIED['files']} generated files "
          f"({CASES_TRIED['loaded']} loaded, {CASES_TRIED['refused']} refused)")
    assert CASES_TRIED["files"] >= EXAMPLES
    assert CASES_TRIED["loaded"] > 0 and CASES_TRIED["refused"] > 0
