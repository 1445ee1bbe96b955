"""Customer ids at ingest: pseudonyms in place of raw ids, and erased customers kept out.

A workspace either pseudonymises customer ids (the default for a new workspace) or keeps
them as given (a workspace that already held raw ids before this release, or one created
with ``MALLSEG_PSEUDONYMISE=0``). The choice is made once, at the first ingest, and
recorded in ``workspace_meta`` (``customer_ids``) with a fingerprint of the key, so that a
different key is refused instead of splitting every customer in two.

Every table with a customer id (customers, visits, transactions, exposures, the customer
attributes and the quarantine) receives the pseudonym, right after the unit is typed and
before any check: the reasons quoting an id quote the pseudonym. Rows of a customer who was
erased are quarantined with :data:`ERASED_REASON` and nothing of them kept: the
``tombstones`` table holds the SHA-256 digest of each erased customer's (pseudonymous) id,
so that not even the pseudonym stays in the workspace.

Examples
--------
>>> import tempfile, pathlib, os
>>> from mallseg.workspace import Workspace
>>> from mallseg.core.pseudonyms import KEY_ENV_VAR
>>> saved = {name: os.environ.pop(name, None) for name in (KEY_ENV_VAR, PSEUDONYMISE_ENV_VAR)}
>>> os.environ[KEY_ENV_VAR] = "an example secret, sixteen bytes or more"
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with Workspace.open(folder / "ws") as ws:
...     key = ingest_key(ws)
...     customer_id_mode(ws), key.pseudonym("C1") == key.pseudonym("C1")
('pseudonymised', True)
>>> del os.environ[KEY_ENV_VAR]
>>> os.environ.update({name: value for name, value in saved.items() if value is not None})
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from mallseg.core.pseudonyms import PseudonymKey, PseudonymKeyError, is_pseudonym, load_key
from mallseg.data.errors import IngestError
from mallseg.data.staging import STAGING_TABLE, TYPED_TABLE
from mallseg.workspace import Workspace

__all__ = [
    "ERASED_REASON",
    "PSEUDONYMISE_ENV_VAR",
    "PSEUDONYM_TABLE",
    "IdMap",
    "add_unit_pseudonyms",
    "customer_id_mode",
    "drop_pseudonym_table",
    "ingest_key",
    "keep_erased_out",
    "recorded_key_check",
]

PSEUDONYMISE_ENV_VAR = "MALLSEG_PSEUDONYMISE"
"""Set to ``0`` (or ``off``) before the first ingest to keep a new workspace's ids as given."""
ERASED_REASON = "customer erased on request: not loaded again"
"""The quarantine reason of a row whose customer has a tombstone (nothing else is kept)."""

_MODE_KEY = "customer_ids"
_CHECK_KEY = "pseudonym_key_check"
_PSEUDONYMISED = "pseudonymised"
_AS_GIVEN = "as given"
_CUSTOMER_TABLES = ("customers", "visits", "transactions", "exposures")


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM workspace_meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def customer_id_mode(workspace: Workspace) -> str | None:
    """``'pseudonymised'``, ``'as given'``, or None before the first ingest decided it.

    >>> import tempfile, pathlib
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     customer_id_mode(ws) is None
    True
    """
    return _meta(workspace.connection, _MODE_KEY)


def recorded_key_check(workspace: Workspace) -> str | None:
    """The fingerprint of the key the workspace was pseudonymised with, if any.

    >>> import tempfile, pathlib
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     recorded_key_check(ws) is None
    True
    """
    return _meta(workspace.connection, _CHECK_KEY)


def _decide_mode(workspace: Workspace) -> str:
    mode = customer_id_mode(workspace)
    if mode is not None:
        return mode
    held = sum(workspace.table_count(t) for t in _CUSTOMER_TABLES)
    opted_out = os.environ.get(PSEUDONYMISE_ENV_VAR, "").strip().lower() in {
        "0", "off", "no", "false"}
    # a workspace that already holds raw ids keeps them: mixing both would split customers
    mode = _AS_GIVEN if held or opted_out else _PSEUDONYMISED
    workspace.connection.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                                 [_MODE_KEY, mode])
    return mode


def ingest_key(workspace: Workspace) -> PseudonymKey | None:
    """The key this workspace's ingests pseudonymise with, or None when ids stay as given.

    The first call decides the workspace's mode and, when pseudonymised, creates the key
    file when neither ``$MALLSEG_PSEUDONYM_KEY`` nor a key file exists.

    Raises
    ------
    IngestError
        When the key cannot be had, or is not the key the workspace was pseudonymised with.
    """
    if _decide_mode(workspace) != _PSEUDONYMISED:
        return None
    con = workspace.connection
    try:
        key = load_key(workspace.folder, create=True)
    except PseudonymKeyError as exc:
        raise IngestError(str(exc)) from exc
    assert key is not None
    recorded = _meta(con, _CHECK_KEY)
    if recorded is None:
        con.execute("INSERT OR REPLACE INTO workspace_meta VALUES (?, ?)",
                    [_CHECK_KEY, key.check])
    elif recorded != key.check:
        raise IngestError(
            f"workspace {workspace.folder}: the pseudonym key from {key.origin} is not the key "
            "this workspace's customer ids were pseudonymised with; use the original key "
            "(its file, or the same $MALLSEG_PSEUDONYM_KEY) so that customers keep their ids"
        )
    return key


class IdMap:
    """The mapping back from pseudonym to raw id, written only when the operator asks.

    A CSV file (``customer_id,pseudonym``) outside the workspace folder, owner-only
    (0600), appended to by every ingest that is given it; each id is written once.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> id_map = IdMap(folder / "ids.csv", workspace_folder=folder / "ws")
    >>> id_map.add(["C1", "C2"], ["p1", "p2"]); id_map.add(["C1"], ["p1"])
    >>> (folder / "ids.csv").read_text().splitlines()
    ['customer_id,pseudonym', 'C1,p1', 'C2,p2']
    """

    def __init__(self, path: str | Path, *, workspace_folder: str | Path) -> None:
        self.path = Path(path).absolute()
        inside = Path(workspace_folder).absolute()
        if self.path.is_relative_to(inside):
            raise IngestError(
                f"--keep-id-map {path}: the id map must be kept outside the workspace folder "
                f"{inside} (it undoes the pseudonyms); choose a path elsewhere"
            )
        self._known: set[str] = set()
        if self.path.exists():
            with self.path.open(newline="", encoding="utf-8") as handle:
                self._known = {row[0] for row in csv.reader(handle)}

    def add(self, raw_ids: Sequence[str], pseudonyms: Sequence[str]) -> None:
        """Append the pairs not in the file yet."""
        new = [(r, p) for r, p in zip(raw_ids, pseudonyms, strict=True) if r not in self._known]
        if not new:
            return
        fresh = not self.path.exists()
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise IngestError(f"--keep-id-map {self.path}: cannot write ({exc.strerror})") from exc
        with os.fdopen(descriptor, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            if fresh:
                writer.writerow(["customer_id", "pseudonym"])
            writer.writerows(new)
        self._known.update(r for r, _ in new)


PSEUDONYM_TABLE = "_pseudonyms"
"""The temporary table of one ingest's (raw id, pseudonym) pairs: each distinct id is hashed
once per file, however many units hold it, and the typing statement joins it in."""


def add_unit_pseudonyms(
    con: duckdb.DuckDBPyConnection, key: PseudonymKey, id_sql: str,
    id_map: IdMap | None = None,
) -> int:
    """Add the pseudonyms of the staged unit's new customer ids to :data:`PSEUDONYM_TABLE`.

    ``id_sql`` is the typed customer id over the staged row ``src``. Only ids the table
    does not hold yet are hashed (a million take about a second); an id that already is a
    pseudonym maps to itself. Returns how many ids were added.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TEMP TABLE _staging AS SELECT * FROM (VALUES (' A'), ('A'), "
    ...                 "(NULL)) t(id)")
    >>> key = PseudonymKey(b"0123456789abcdef", origin="example")
    >>> add_unit_pseudonyms(con, key, "nullif(trim(src.id), '')")
    1
    >>> add_unit_pseudonyms(con, key, "nullif(trim(src.id), '')")  # known already
    0
    >>> con.execute("SELECT raw, pseudonym FROM _pseudonyms").fetchall() == [
    ...     ("A", key.pseudonym("A"))]
    True
    """
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {PSEUDONYM_TABLE} "
                "(raw VARCHAR, pseudonym VARCHAR)")
    found = con.sql(
        f"SELECT DISTINCT u.raw FROM (SELECT {id_sql} AS raw FROM {STAGING_TABLE} AS src) u "
        f"WHERE u.raw IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {PSEUDONYM_TABLE} p "
        "WHERE p.raw = u.raw)"
    ).to_arrow_table()
    raw = [str(r) for r in found.column(0).to_pylist()]
    if not raw:
        return 0
    hashed = [r for r in raw if not is_pseudonym(r)]
    pseudonyms = dict(zip(hashed, key.pseudonyms(hashed), strict=True))
    con.register("_new_pseudonyms", pa.table({
        "raw": raw, "pseudonym": [pseudonyms.get(r, r) for r in raw]}))
    try:
        con.execute(f"INSERT INTO {PSEUDONYM_TABLE} SELECT raw, pseudonym FROM _new_pseudonyms")
    finally:
        con.unregister("_new_pseudonyms")
    if id_map is not None and hashed:
        id_map.add(hashed, [pseudonyms[r] for r in hashed])
    return len(raw)


def drop_pseudonym_table(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the ingest's (raw id, pseudonym) pairs, once the file is loaded (or failed).

    >>> import duckdb
    >>> drop_pseudonym_table(duckdb.connect())
    """
    con.execute(f"DROP TABLE IF EXISTS {PSEUDONYM_TABLE}")


def keep_erased_out(con: duckdb.DuckDBPyConnection) -> int:
    """Mark the typed rows of erased customers with :data:`ERASED_REASON`; return how many.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE tombstones (digest VARCHAR, erased_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO tombstones VALUES (sha256('B'), now())")
    >>> _ = con.execute("CREATE TEMP TABLE _typed AS SELECT * FROM (VALUES ('A', ''), "
    ...                 "('B', 'age: x')) t(customer_id, _reason)")
    >>> keep_erased_out(con), con.execute("SELECT _reason FROM _typed ORDER BY 1").fetchall()
    (1, [('',), ('customer erased on request: not loaded again',)])
    """
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'tombstones'").fetchone()
    if not exists or not exists[0]:
        return 0
    erased = con.execute("SELECT count(*) FROM tombstones").fetchone()
    if not erased or not erased[0]:
        return 0  # the usual case: no digest to compute for a unit of millions of rows
    row = con.execute(
        f"UPDATE {TYPED_TABLE} SET _reason = ? WHERE sha256(customer_id) IN "
        "(SELECT digest FROM tombstones)", [ERASED_REASON]
    ).fetchone()
    return int(row[0]) if row else 0
