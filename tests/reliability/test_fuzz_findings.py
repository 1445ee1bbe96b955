"""Inputs the large property-test runs (``bench/bench_fuzz.py``) found, kept as examples.

Each must end as every input does: loaded with reconciled counts, or refused in one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mallseg.data.errors import IngestError
from mallseg.data.ingest import ingest_file
from mallseg.workspace import Workspace


def test_a_carriage_return_before_a_nul_after_the_header_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    # The header line ends in "\r\x00\n": Python's csv reader stopped with "new-line
    # character seen in unquoted field", which reached the user as a traceback.
    path = tmp_path / "c.csv"
    path.write_bytes(b'"customer_id",purchased_at,amount,customer_id,Income,"Country","ID"'
                     b"\r\x00\n,,,,,,,,\r\n,,,,,\r\n,,,,,,,,")
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(IngestError) as refused:
        ingest_file(ws, "transactions", path, register_unknown=True)
    assert str(refused.value) == f"{path}: column 'customer_id' appears twice in the header"


def test_a_nul_right_after_the_header_is_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_id,age\r\x00\nC1,30\n")
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(IngestError) as refused:
        ingest_file(ws, "customers", path)
    assert str(refused.value) == (f"{path}: binary content (NUL bytes, the first on line 1); "
                                  "expected a CSV text file")


def test_a_workbook_header_with_a_line_break_is_named_on_one_line(tmp_path: Path) -> None:
    # A header cell "0\n0" (Alt+Enter in a spreadsheet) made the message two lines long.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NaN", "0\n0"])
    sheet.append([1, 2])
    path = tmp_path / "c.xlsx"
    book.save(path)
    with Workspace.open(tmp_path / "ws") as ws, pytest.raises(IngestError) as refused:
        ingest_file(ws, "customers", path)
    message = str(refused.value)
    assert "\n" not in message
    assert "the file's columns are: NaN, '0\\n0'." in message
