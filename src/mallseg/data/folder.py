r"""A folder with a file or a folder of parts per canonical table (``ingest all``).

Each table is found under its own name, in any letter case: ``customers.csv``,
``Visits.parquet``, ``transactions/part-00000.parquet``. Everything else in the folder is
listed as ignored, so that a user sees which file went to which table and which did not go
anywhere (hidden files excepted).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "stores.csv").write_text("store_id\nS1\n")
>>> _ = (folder / "notes.txt").write_text("hello")
>>> (folder / "visits").mkdir()
>>> scan = scan_table_folder(folder)
>>> sorted(scan.found), [p.name for p in scan.ignored]
(['stores', 'visits'], ['notes.txt'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mallseg.core.schema import TABLE_LOAD_ORDER
from mallseg.data.errors import IngestError

__all__ = ["FolderScan", "find_table_sources", "scan_table_folder"]


@dataclass(frozen=True)
class FolderScan:
    """Which entry of a folder holds which table, and which entries hold none.

    >>> FolderScan({"stores": Path("in/stores.csv")}).ignored
    []
    """

    found: dict[str, Path]
    """Canonical table -> file or folder of parts, in load order."""
    ignored: list[Path] = field(default_factory=list)
    """Entries named after no table, or a second entry of a table already found."""

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form.

        >>> FolderScan({"stores": Path("in/stores.csv")}, [Path("in/x.txt")]).to_dict()
        {'found': {'stores': 'in/stores.csv'}, 'ignored': ['in/x.txt']}
        """
        return {"found": {t: str(p) for t, p in self.found.items()},
                "ignored": [str(p) for p in self.ignored]}


def _table_of(entry: Path) -> str | None:
    name = entry.name.lower()
    stem = name if entry.is_dir() else name.split(".", 1)[0]
    return stem if stem in TABLE_LOAD_ORDER else None


def scan_table_folder(folder: str | Path) -> FolderScan:
    r"""Sort the entries of ``folder`` into tables found and entries ignored.

    A folder of parts named after a table wins over a file of that name; between files,
    the first in name order wins.

    Raises
    ------
    IngestError
        When ``folder`` is not a folder, or holds no table.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "Customers.CSV").write_text("customer_id\nA\n")
    >>> _ = (folder / "customers.parquet").write_text("")
    >>> scan = scan_table_folder(folder)
    >>> scan.found["customers"].name, [p.name for p in scan.ignored]
    ('Customers.CSV', ['customers.parquet'])
    """
    base = Path(folder)
    if not base.is_dir():
        raise IngestError(f"{base}: not a folder; expected one with a file or folder per table")
    entries = sorted((p for p in base.iterdir() if not p.name.startswith(".")),
                     key=lambda p: (not p.is_dir(), p.name))
    chosen: dict[str, Path] = {}
    ignored: list[Path] = []
    for entry in entries:
        table = _table_of(entry)
        if table is None or table in chosen:
            ignored.append(entry)
        else:
            chosen[table] = entry
    if not chosen:
        raise IngestError(
            f"{base}: no table found; expected files or folders named "
            f"{', '.join(TABLE_LOAD_ORDER)}"
        )
    found = {name: chosen[name] for name in TABLE_LOAD_ORDER if name in chosen}
    return FolderScan(found=found, ignored=sorted(ignored))


def find_table_sources(folder: str | Path) -> dict[str, Path]:
    r"""Canonical tables found in ``folder``, in load order.

    Each is a file or a folder of parts named after the table (``customers.csv``,
    ``visits/part-00000.parquet``, ...); see :func:`scan_table_folder` for what is ignored.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "stores.csv").write_text("store_id\nS1\n")
    >>> (folder / "visits").mkdir()
    >>> sorted(find_table_sources(folder))
    ['stores', 'visits']
    """
    return scan_table_folder(folder).found
