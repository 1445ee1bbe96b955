"""Write a plan's target list to CSV or Parquet with DuckDB ``COPY``.

A target list carries the workspace's customer id, the segment, the expected uplift and the
holdout flag, nothing else: no name, contact detail or feature leaves the workspace with
it. In CSV, a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is prefixed with ``'``, so that a spreadsheet opening the file shows it as text
instead of running it as a formula. Parquet keeps the values as they are (no spreadsheet
reads it as formulas), so its ids match the workspace exactly.

Examples
--------
>>> import duckdb, pandas as pd, tempfile, pathlib
>>> targets = pd.DataFrame({"customer_id": ["=HYPERLINK(1)", "c2"], "segment": ["a", "b"],
...                         "expected_uplift": [0.2, 0.1], "is_holdout": [False, True]})
>>> with tempfile.TemporaryDirectory() as folder:
...     path = pathlib.Path(folder) / "targets.csv"
...     written = export_target_list(duckdb.connect(), targets, path)
...     print(path.read_text().splitlines()[1])
'=HYPERLINK(1),a,0.2,false
>>> written.rows, written.neutralised
(2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from mallseg.core.sql_text import quote_literal
from mallseg.insights.campaigns.plan import TARGET_COLUMNS, TargetingPlan
from mallseg.insights.campaigns.registered_frames import registered

__all__ = ["FORMULA_STARTS", "TargetListExport", "export_target_list"]

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula."""

_SUFFIXES: dict[str, Literal["csv", "parquet"]] = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
}


@dataclass(frozen=True)
class TargetListExport:
    """What was written: where, how many rows, in which format, how many cells neutralised."""

    path: str
    rows: int
    file_format: Literal["csv", "parquet"]
    neutralised: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"path": self.path, "rows": self.rows, "file_format": self.file_format,
                "neutralised": self.neutralised}


def _starts_with_formula(column: str) -> str:
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_STARTS)
    return f"left({column}, 1) IN ({starts})"


def export_target_list(
    connection: duckdb.DuckDBPyConnection,
    targets: TargetingPlan | pd.DataFrame,
    path: str | Path,
    *,
    file_format: Literal["csv", "parquet"] | None = None,
) -> TargetListExport:
    """Write the target list (best expected uplift first) to ``path``.

    Parameters
    ----------
    connection:
        Any DuckDB connection (the workspace's): it runs the ``COPY``.
    targets:
        A plan, or a frame with the columns ``customer_id``, ``segment``,
        ``expected_uplift`` and ``is_holdout``.
    path:
        File to write; its folder must exist. An existing file is replaced.
    file_format:
        ``csv`` or ``parquet``; default from the suffix (``.csv``, ``.parquet``, ``.pq``).

    Returns
    -------
    TargetListExport

    Raises
    ------
    ValueError
        When the format cannot be told, a column is missing, or the file cannot be written.

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> export_target_list(duckdb.connect(), pd.DataFrame(), "list.xlsx")
    Traceback (most recent call last):
    ...
    ValueError: list.xlsx: cannot tell the format; expected a name ending in .csv, .parquet \
or .pq, or file_format='csv' / 'parquet'
    """
    target = Path(path)
    fmt = file_format or _SUFFIXES.get(target.suffix.lower())
    if fmt not in ("csv", "parquet"):
        raise ValueError(
            f"{target}: cannot tell the format; expected a name ending in "
            f"{', '.join(list(_SUFFIXES)[:-1])} or {list(_SUFFIXES)[-1]}, or "
            "file_format='csv' / 'parquet'"
        )
    frame = targets.targets if isinstance(targets, TargetingPlan) else targets
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"target list: required column {missing[0]} missing "
                         f"(expected {', '.join(TARGET_COLUMNS)})")
    if not target.parent.is_dir():
        raise ValueError(f"{target}: folder {target.parent} does not exist; create it first")
    with registered(connection, frame[list(TARGET_COLUMNS)], "target_list") as view:
        text = {c: f"CAST({c} AS VARCHAR)" for c in ("customer_id", "segment")}
        neutralised = 0
        if fmt == "csv":
            counted = " + ".join(f"count(*) FILTER (WHERE {_starts_with_formula(e)})"
                                 for e in text.values())
            neutralised = int(connection.execute(
                f'SELECT {counted} FROM "{view}"').fetchall()[0][0] or 0)
            text = {c: f"CASE WHEN {_starts_with_formula(e)} THEN '''' || {e} ELSE {e} END"
                    for c, e in text.items()}
        options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
        select = (f"SELECT {text['customer_id']} AS customer_id, {text['segment']} AS segment, "
                  "CAST(expected_uplift AS DOUBLE) AS expected_uplift, "
                  f'CAST(is_holdout AS BOOLEAN) AS is_holdout FROM "{view}" '
                  "ORDER BY expected_uplift DESC, customer_id")
        try:
            connection.execute(f"COPY ({select}) TO {quote_literal(target)} ({options})")
        except (duckdb.IOException, duckdb.PermissionException) as exc:
            raise ValueError(f"{target}: cannot write the target list ({exc})") from exc
    return TargetListExport(path=str(target), rows=len(frame), file_format=fmt,
                            neutralised=neutralised)
