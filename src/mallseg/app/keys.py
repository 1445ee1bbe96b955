"""Use cases: the service's API keys (created, listed, verified, revoked) and audit lines.

A key is shown once, when it is created, as ``msk_<key id>_<secret>``; the workspace keeps
only its id, name, scopes, a per-key random salt and the scrypt hash of the secret
(``hashlib.scrypt``, n=2**14, r=8, p=1), so a copy of the workspace file gives nobody a
working key. Scopes say what a key may do:

- ``aggregates``: segments, their profiles, model information and insights;
- ``customers:read``: one customer's segment, and scoring customers;
- ``events:write``: recording a customer's visits, purchases and campaign responses;
- ``admin``: everything, key management and the audit log included.

Creating and revoking a key are written to the audit log.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     created = create_key(ws, "crm", ["customers:read"])
...     found = verify_secret(ws, created.secret)
...     _ = revoke_key(ws, created.key_id)
...     after = verify_secret(ws, created.secret)
>>> found.scopes, after
(frozenset({'customers:read'}), None)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mallseg.workspace import Workspace
from mallseg.workspace.runs import utc_now

__all__ = [
    "KEY_PREFIX",
    "SCOPES",
    "AuditPage",
    "CreatedKey",
    "KeyInfo",
    "KeyNotFoundError",
    "audit_lines",
    "create_key",
    "first_admin_key",
    "key_id_of",
    "list_keys",
    "parse_scopes",
    "revoke_key",
    "touch_keys",
    "verify_secret",
]

SCOPES: tuple[str, ...] = ("aggregates", "customers:read", "events:write", "admin")
"""What a key may be allowed to do (``admin`` includes every other scope)."""

KEY_PREFIX = "msk"
"""First part of every key (``msk_<key id>_<secret>``): easy to spot in a leaked file."""

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_HASH_LABEL = "scrypt:16384:8:1"


class KeyNotFoundError(LookupError):
    """No key with that id in the workspace.

    >>> isinstance(KeyNotFoundError("no API key 'k1'"), LookupError)
    True
    """


@dataclass(frozen=True)
class KeyInfo:
    """A key as listed: never its secret nor its hash.

    Examples
    --------
    >>> KeyInfo("k1", "crm", frozenset({"admin"}), None).to_dict()["scopes"]
    ['admin']
    """

    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime | None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key is still accepted (not revoked)."""
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Whether the key has ``scope`` (``admin`` has them all).

        >>> KeyInfo("k1", "ops", frozenset({"admin"}), None).allows("events:write")
        True
        """
        return "admin" in self.scopes or scope in self.scopes

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (times as ISO text)."""
        return {
            "key_id": self.key_id, "name": self.name, "scopes": sorted(self.scopes),
            "created_at": _iso(self.created_at), "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at), "active": self.active,
        }


@dataclass(frozen=True)
class CreatedKey:
    """A new key, with its secret: shown once, kept nowhere.

    Examples
    --------
    >>> key = CreatedKey(KeyInfo("k1", "crm", frozenset({"admin"}), None), "msk_k1_x")
    >>> key.key_id, key.to_dict()["secret"]
    ('k1', 'msk_k1_x')
    """

    info: KeyInfo
    secret: str

    @property
    def key_id(self) -> str:
        """The key's id (not secret: it names the key in lists and the audit log)."""
        return self.info.key_id

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, the secret included."""
        return {**self.info.to_dict(), "secret": self.secret}


def parse_scopes(scopes: str | Iterable[str]) -> frozenset[str]:
    """Scopes from a comma-separated text or a list, checked against :data:`SCOPES`.

    Raises
    ------
    ValueError
        When a scope is unknown or none is given.

    Examples
    --------
    >>> sorted(parse_scopes("aggregates, customers:read"))
    ['aggregates', 'customers:read']
    >>> parse_scopes("read")
    Traceback (most recent call last):
    ...
    ValueError: scope 'read' is unknown: expected one or more of aggregates, customers:read, events:write, admin
    """  # noqa: E501
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    chosen = frozenset(s.strip() for s in items if s.strip())
    for scope in sorted(chosen):
        if scope not in SCOPES:
            raise ValueError(
                f"scope {scope!r} is unknown: expected one or more of {', '.join(SCOPES)}"
            )
    if not chosen:
        raise ValueError(f"no scope given: expected one or more of {', '.join(SCOPES)}")
    return chosen


def create_key(
    workspace: Workspace, name: str, scopes: str | Iterable[str], *, actor: str | None = None
) -> CreatedKey:
    """Create a key with ``scopes``; the returned secret is the only copy.

    The module's example creates, verifies and revokes one.

    Raises
    ------
    ValueError
        When the name is empty or a scope is unknown.
    """
    label = " ".join(str(name).split())
    if not label:
        raise ValueError("a key needs a name (who or what uses it, e.g. crm-sync)")
    if len(label) > 100:
        raise ValueError(f"key name is {len(label)} characters long: at most 100")
    chosen = parse_scopes(scopes)
    key_id = "k" + secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    created = utc_now()
    workspace.connection.execute(
        "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
        [key_id, label, ",".join(sorted(chosen)), salt.hex(), _hash(secret, salt), created],
    )
    workspace.audit("create_key", key_id, {"name": label, "scopes": sorted(chosen)},
                    actor=actor)
    return CreatedKey(KeyInfo(key_id, label, chosen, created), f"{KEY_PREFIX}_{key_id}_{secret}")


def first_admin_key(workspace: Workspace, *, actor: str | None = None) -> CreatedKey | None:
    """An ``admin`` key when the workspace has no key at all yet (a first start), else None.

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     first, second = first_admin_key(ws), first_admin_key(ws)
    >>> sorted(first.info.scopes), second
    (['admin'], None)
    """
    count = _first_row(workspace.connection.execute("SELECT count(*) FROM api_keys"))
    if count and count[0]:
        return None
    return create_key(workspace, "admin (first start)", ["admin"], actor=actor)


def list_keys(workspace: Workspace, *, include_revoked: bool = True) -> tuple[KeyInfo, ...]:
    """Every key, oldest first (revoked ones too unless asked not to).

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     _ = create_key(ws, "crm", "aggregates")
    ...     [k.name for k in list_keys(ws)]
    ['crm']
    """
    sql = ("SELECT key_id, name, scopes, created_at, revoked_at, last_used_at FROM api_keys"
           + ("" if include_revoked else " WHERE revoked_at IS NULL")
           + " ORDER BY created_at, key_id")
    return tuple(_info(row) for row in workspace.connection.execute(sql).fetchall())


def revoke_key(workspace: Workspace, key_id: str, *, actor: str | None = None) -> KeyInfo:
    """Revoke ``key_id`` (from now on it is refused); revoking twice changes nothing.

    The module's example revokes a key.

    Raises
    ------
    KeyNotFoundError
        When there is no such key (the message lists the known ids).
    """
    row = _first_row(workspace.connection.execute(
        "SELECT key_id, name, scopes, created_at, revoked_at, last_used_at FROM api_keys "
        "WHERE key_id = ?", [key_id]))
    if row is None:
        known = [k.key_id for k in list_keys(workspace)]
        hint = f"known keys: {', '.join(known[-10:])}" if known else "there are no keys yet"
        raise KeyNotFoundError(f"no API key {key_id!r} in workspace {workspace.folder}: {hint}")
    info = _info(row)
    if info.revoked_at is not None:
        return info
    when = utc_now()
    workspace.connection.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [when, key_id])
    workspace.audit("revoke_key", key_id, {"name": info.name}, actor=actor)
    return KeyInfo(info.key_id, info.name, info.scopes, info.created_at, when, info.last_used_at)


def verify_secret(workspace: Workspace, presented: str) -> KeyInfo | None:
    """The active key whose secret ``presented`` is, or None (unknown, wrong or revoked).

    The comparison takes constant time; a malformed key costs no hashing at all. The
    module's example verifies a key before and after it is revoked.
    """
    key_id = key_id_of(presented)
    if key_id is None:
        return None
    row = _first_row(workspace.connection.execute(
        "SELECT key_id, name, scopes, created_at, revoked_at, last_used_at, salt, key_hash "
        "FROM api_keys WHERE key_id = ?", [key_id]))
    if row is None or row[4] is not None:
        return None
    secret = presented.split("_", 2)[2]
    try:
        salt = bytes.fromhex(str(row[6]))
    except ValueError:
        return None
    if not hmac.compare_digest(_hash(secret, salt), str(row[7])):
        return None
    return _info(row[:6])


def key_id_of(presented: str) -> str | None:
    """The key id a presented key names, or None when it is not shaped like a key.

    >>> key_id_of("msk_k0a1b2c3d4e_s3cr3t"), key_id_of("hello")
    ('k0a1b2c3d4e', None)
    """
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[2] or len(presented) > 200:
        return None
    key_id = parts[1]
    if not (key_id.startswith("k") and len(key_id) == 11 and _is_hex(key_id[1:])):
        return None
    return key_id


def touch_keys(workspace: Workspace, last_used: Mapping[str, datetime]) -> None:
    """Record when keys were last used (written in batches, not per request).

    >>> import tempfile, pathlib
    >>> from datetime import datetime
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     key = create_key(ws, "crm", "aggregates")
    ...     touch_keys(ws, {key.key_id: datetime(2026, 3, 1, 12)})
    ...     list_keys(ws)[0].last_used_at
    datetime.datetime(2026, 3, 1, 12, 0)
    """
    for key_id, when in last_used.items():
        workspace.connection.execute(
            "UPDATE api_keys SET last_used_at = greatest(coalesce(last_used_at, ?), ?) "
            "WHERE key_id = ?", [when, when, key_id])


@dataclass(frozen=True)
class AuditPage:
    """A page of audit lines, newest first, and how many lines match in all.

    >>> AuditPage((), 0).to_dict()
    {'lines': [], 'count': 0}
    """

    lines: tuple[dict[str, Any], ...]
    count: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {"lines": [{**line, "logged_at": line["logged_at"].isoformat()}
                          for line in self.lines], "count": self.count}


def audit_lines(
    workspace: Workspace, *, offset: int = 0, limit: int = 100, action: str | None = None,
    actor: str | None = None, target: str | None = None,
) -> AuditPage:
    """Lines of the audit log, newest first, optionally of one action, actor or target.

    >>> import tempfile, pathlib
    >>> from mallseg.workspace import Workspace
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     key = create_key(ws, "crm", "aggregates", actor="k-admin")
    ...     page = audit_lines(ws, actor="k-admin")
    >>> page.count, page.lines[0]["action"]
    (1, 'create_key')
    """
    where, params = [], []
    for column, value in (("action", action), ("actor", actor), ("target", target)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = " FROM audit_log" + (f" WHERE {' AND '.join(where)}" if where else "")
    con = workspace.connection
    total = _first_row(con.execute("SELECT count(*)" + sql, params))
    rows = con.execute(
        "SELECT logged_at, actor, action, target, details" + sql
        + " ORDER BY logged_at DESC, action LIMIT ? OFFSET ?", [*params, limit, offset]
    ).fetchall()
    lines = tuple(
        {"logged_at": r[0], "actor": str(r[1]), "action": str(r[2]), "target": str(r[3]),
         "details": _details(r[4])} for r in rows)
    return AuditPage(lines, int(total[0]) if total else 0)


def _details(text: object) -> dict[str, Any]:
    try:
        value = json.loads(str(text or "{}"))
    except ValueError:
        return {"text": str(text)}
    return value if isinstance(value, dict) else {"value": value}


def _hash(secret: str, salt: bytes) -> str:
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"{_HASH_LABEL}:{digest.hex()}"


def _info(row: tuple[Any, ...]) -> KeyInfo:
    scopes = frozenset(s for s in str(row[2] or "").split(",") if s)
    return KeyInfo(str(row[0]), str(row[1]), scopes, row[3], row[4], row[5])


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _first_row(result: Any) -> tuple[Any, ...] | None:
    """The first row of a query result, read to the end (DuckDB then frees the connection)."""
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None
