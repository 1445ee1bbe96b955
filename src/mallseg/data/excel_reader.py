"""Excel workbooks (.xlsx): find the table on its sheet, then stage it in one unit.

Workbooks are small by nature (a sheet holds at most about a million rows) and are read
whole with openpyxl. A table need not start at A1: a title above it or empty columns to
its left are skipped, the header being the first row about as wide as the table. When no
sheet is named and the first one is empty, the one sheet with data is read; when several
have data, the error names them.

Examples
--------
>>> locate_table([["Sales 2026", "", ""], ["", "", ""], ["", "id", "age"], ["", "A", "30"]])
(2, 1, 2)
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from mallseg.data.errors import IngestError
from mallseg.data.staging import STAGING_TABLE, Source, StagedUnit, check_column_names

__all__ = ["excel_unit", "inspect_excel", "locate_table"]

_HEADER_SEARCH_ROWS = 30


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_sheets(path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as rows of text cells (trailing empty rows dropped)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, InvalidFileException, OSError, ValueError,
            TypeError) as exc:
        raise IngestError(f"{path}: cannot be read as an Excel workbook ({exc})") from exc
    try:
        sheets: dict[str, list[list[str]]] = {}
        for sheet in book.worksheets:
            rows = [[_cell_text(v) for v in row]
                    for row in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
            while rows and not any(c.strip() for c in rows[-1]):
                rows.pop()
            sheets[sheet.title] = rows
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise IngestError(f"{path}: cannot be read as an Excel workbook ({exc})") from exc
    finally:
        book.close()
    return sheets


def locate_table(rows: Sequence[Sequence[str]]) -> tuple[int, int, int]:
    """(header row, first column, last column) of the table in ``rows``, 0-based.

    The header is the first row holding at least half as many cells as the widest of the
    first rows (and two cells when any row has two): a title line above a table is not
    its header.

    Raises
    ------
    ValueError
        When the rows hold no cell.

    >>> locate_table([["", ""], ["", "id"], ["", "A"]])
    (1, 1, 1)
    """
    filled = [(i, [j for j, c in enumerate(row) if c.strip()]) for i, row in enumerate(rows)]
    filled = [(i, cells) for i, cells in filled if cells][:_HEADER_SEARCH_ROWS]
    if not filled:
        raise ValueError("no cell holds a value")
    widest = max(len(cells) for _, cells in filled)
    needed = max(2, math.ceil(widest / 2)) if widest >= 2 else 1
    row, cells = next((i, c) for i, c in filled if len(c) >= needed)
    return row, cells[0], cells[-1]


def _cell_name(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column + 1)}{row + 1}"


def _choose_sheet(path: Path, sheets: dict[str, list[list[str]]], sheet: str | None,
                  notes: list[str]) -> str:
    with_data = [name for name, rows in sheets.items() if rows]
    if sheet is not None:
        if sheet not in sheets:
            raise IngestError(
                f"{path}: no sheet named {sheet!r}; the workbook's sheets are: "
                f"{', '.join(sheets)}"
            )
        if not sheets[sheet]:
            others = [n for n in with_data if n != sheet]
            hint = f"; sheets with data: {', '.join(others)}" if others else ""
            raise IngestError(f"{path}: the sheet {sheet!r} is empty{hint}")
        return sheet
    first = next(iter(sheets), None)
    if first is not None and sheets[first]:
        return first
    if not with_data:
        raise IngestError(f"{path}: every sheet is empty; expected a header row and data rows")
    if len(with_data) == 1:
        notes.append(f"read sheet {with_data[0]!r} (the first sheet, {first!r}, is empty)")
        return with_data[0]
    raise IngestError(
        f"{path}: the first sheet ({first!r}) is empty and several hold data "
        f"({', '.join(with_data)}): choose one with --sheet NAME"
    )


def _table(path: Path, sheet: str | None, notes: list[str]
           ) -> tuple[str, list[str], list[list[str]], int, list[str]]:
    """Sheet name, header, data rows, the header's row number and the sheets with data."""
    sheets = _read_sheets(path)
    chosen = _choose_sheet(path, sheets, sheet, notes)
    rows = sheets[chosen]
    header_row, left, right = locate_table(rows)
    if (header_row, left) != (0, 0):
        notes.append(f"read the table from cell {_cell_name(header_row, left)} of sheet "
                     f"{chosen!r}")
    header = [c.strip() or f"column_{i + 1}"
              for i, c in enumerate(rows[header_row][left:right + 1])]
    width = right + 1 - left
    data = [cells + [""] * (width - len(cells))
            for cells in (list(r[left:right + 1]) for r in rows[header_row + 1:])]
    with_data = [name for name, sheet_rows in sheets.items() if sheet_rows]
    return chosen, header, data, header_row + 1, with_data


def inspect_excel(source: Source, sheet: str | None) -> None:
    """Fill in the sheet, header and sheets with data of an Excel ``source``.

    Raises
    ------
    IngestError
        When the workbook cannot be read, the sheet is missing or empty, or the workbooks
        of a folder disagree.

    >>> import pathlib, tempfile
    >>> from openpyxl import Workbook
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.xlsx"
    >>> book = Workbook()
    >>> book.active.append(["id", "age"])
    >>> book.save(path)
    >>> source = Source(label=str(path), files=[path], file_format="excel", columns=[])
    >>> inspect_excel(source, None)
    >>> source.sheet, source.columns
    ('Sheet', ['id', 'age'])
    """
    chosen, header, _data, header_row, with_data = _table(source.files[0], sheet, source.notes)
    check_column_names(header, str(source.files[0]))
    source.sheet = chosen
    source.columns = header
    source.sheets_with_data = with_data
    source.header_line[source.files[0]] = header_row


def excel_unit(con: duckdb.DuckDBPyConnection, source: Source) -> StagedUnit:
    """Stage every workbook of ``source`` (values as text) in one unit.

    >>> import duckdb, pathlib, tempfile
    >>> from openpyxl import Workbook
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.xlsx"
    >>> book = Workbook()
    >>> for row in (["id", "age"], ["A", 30], [None, None], ["B", 31.5]):
    ...     book.active.append(row)
    >>> book.save(path)
    >>> source = Source(label=str(path), files=[path], file_format="excel", columns=[])
    >>> inspect_excel(source, None)
    >>> con = duckdb.connect()
    >>> excel_unit(con, source).rows
    2
    >>> con.execute("SELECT * FROM _staging ORDER BY _source_row").fetchall()[1][:2]
    ('B', '31.5')
    """
    frames = []
    for path in source.files:
        _sheet, names, data, header_row, _with_data = _table(path, source.sheet, [])
        check_column_names(names, str(path))
        if names != source.columns:
            raise IngestError(f"{path}: its columns differ from the first workbook's")
        frame = pd.DataFrame(data, columns=names, dtype=object)
        frame["_source_file"] = str(path)
        frame["_source_row"] = np.arange(header_row + 1, header_row + 1 + len(frame),
                                         dtype=np.int64)
        blank = np.array([not any(c.strip() for c in row) for row in data], dtype=bool)
        frames.append(frame[~blank] if len(frame) else frame)
    data_frame = pd.concat(frames, ignore_index=True)
    for name in source.columns:
        data_frame[name] = data_frame[name].astype("string")
    con.register("_excel_frame", data_frame)
    con.execute(f"CREATE TEMP TABLE {STAGING_TABLE} AS SELECT * FROM _excel_frame")
    con.unregister("_excel_frame")
    return StagedUnit(len(data_frame), [])
