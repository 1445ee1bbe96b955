from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mallseg.workspace import Workspace

TABLES = ("customers", "stores", "campaigns", "visits", "transactions", "exposures")


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert a frame's columns into a canonical table (other columns stay NULL)."""
    con.register("incoming_rows", frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")


def load_simulation(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding a simulated mall's input tables as they are."""
    con = duckdb.connect()
    for table in TABLES:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM "
                    f"read_parquet('{folder}/inputs/{table}/*.parquet')")
    return con


def read_truth(folder: Path, table: str) -> pd.DataFrame:
    return duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{folder}/truth/{table}/*.parquet')"
    ).df()


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws") as ws:
        yield ws


@pytest.fixture
def insert() -> Callable[[duckdb.DuckDBPyConnection, str, pd.DataFrame], None]:
    return insert_frame


@pytest.fixture(scope="session")
def load() -> Callable[[Path], duckdb.DuckDBPyConnection]:
    return load_simulation


@pytest.fixture(scope="session")
def truth() -> Callable[[Path, str], pd.DataFrame]:
    return read_truth
