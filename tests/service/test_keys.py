"""API keys: salted scrypt hashes, shown once, scopes checked, revocation, the CLI."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mallseg.app.keys import (
    KeyNotFoundError,
    audit_lines,
    create_key,
    first_admin_key,
    key_id_of,
    list_keys,
    parse_scopes,
    revoke_key,
    verify_secret,
)
from mallseg.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "ws") as workspace:
        yield workspace


def test_a_key_is_kept_as_a_salted_scrypt_hash_only(ws: Workspace) -> None:
    first = create_key(ws, "crm", "customers:read")
    second = create_key(ws, "crm", "customers:read")
    rows = dict((r[0], r[1:]) for r in ws.connection.execute(
        "SELECT key_id, salt, key_hash, scopes FROM api_keys").fetchall())
    secret = first.secret.split("_", 2)[2]
    salt, stored, scopes = rows[first.key_id]
    expected = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1,
                              dklen=32).hex()
    assert stored == f"scrypt:16384:8:1:{expected}"
    assert secret not in str(rows)
    assert rows[first.key_id][0] != rows[second.key_id][0]  # a salt per key
    assert scopes == "customers:read"
    assert first.secret.startswith(f"msk_{first.key_id}_") and len(secret) >= 40


def test_verification_accepts_the_key_and_nothing_near_it(ws: Workspace) -> None:
    created = create_key(ws, "ops", ["admin"])
    assert verify_secret(ws, created.secret).key_id == created.key_id
    assert verify_secret(ws, created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")
                         ) is None
    assert verify_secret(ws, f"msk_k0000000000_{created.secret.split('_', 2)[2]}") is None
    assert verify_secret(ws, "Bearer nonsense") is None
    revoke_key(ws, created.key_id)
    assert verify_secret(ws, created.secret) is None


def test_keys_are_listed_without_secrets_and_revocation_is_recorded(ws: Workspace) -> None:
    created = create_key(ws, "dashboard", "aggregates", actor="k-admin")
    revoked = revoke_key(ws, created.key_id, actor="k-admin")
    again = revoke_key(ws, created.key_id, actor="k-admin")
    listed = list_keys(ws)
    assert [k.key_id for k in listed] == [created.key_id]
    assert listed[0].revoked_at == revoked.revoked_at == again.revoked_at
    assert "secret" not in listed[0].to_dict() and "key_hash" not in listed[0].to_dict()
    page = audit_lines(ws, actor="k-admin")
    assert [(line["action"], line["target"]) for line in page.lines] == [
        ("revoke_key", created.key_id), ("create_key", created.key_id)]
    with pytest.raises(KeyNotFoundError, match=f"known keys: {created.key_id}"):
        revoke_key(ws, "k9999999999")


def test_scopes_are_checked() -> None:
    assert parse_scopes("admin,events:write") == frozenset({"admin", "events:write"})
    with pytest.raises(ValueError, match="scope 'write' is unknown"):
        parse_scopes("events:write, write")
    with pytest.raises(ValueError, match="no scope given"):
        parse_scopes(" , ")
    assert key_id_of("msk_k0123456789_x") == "k0123456789"
    assert key_id_of("msk_k01234567_x") is None


def test_the_first_admin_key_is_made_once(ws: Workspace) -> None:
    first = first_admin_key(ws)
    assert first is not None and first.info.scopes == frozenset({"admin"})
    revoke_key(ws, first.key_id)
    assert first_admin_key(ws) is None  # not empty: a revoked key still counts


def _cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(workspace),
                           "keys", *args], capture_output=True, text=True, timeout=120)


def test_the_keys_commands(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "ws").close()
    made = _cli(tmp_path / "ws", "create", "--name", "crm sync", "--scopes",
                "customers:read,events:write", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    listed = _cli(tmp_path / "ws", "list", "--json")
    assert [k["key_id"] for k in json.loads(listed.stdout)] == [key["key_id"]]
    assert key["secret"] not in listed.stdout
    assert _cli(tmp_path / "ws", "revoke", key["key_id"]).returncode == 0
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:
        assert verify_secret(ws, key["secret"]) is None
    missing = _cli(tmp_path / "nowhere", "list")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
