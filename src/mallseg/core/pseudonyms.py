"""Pseudonymous customer ids: keyed hashes whose secret is kept outside the workspace.

A customer id is replaced at ingest by ``p`` and the first 24 hex digits (96 bits) of
HMAC-SHA256 of the id under a secret key. The key comes from the environment variable
``MALLSEG_PSEUDONYM_KEY`` when it is set, else from a key file next to the workspace
folder (``mallseg-workspace.pseudonym-key`` beside ``mallseg-workspace/``), created on the
first ingest with owner-only permissions (0600). The key never enters the workspace folder:
whoever holds a copy of the workspace alone cannot tell a raw id from its pseudonym.

The same key gives the same pseudonym, so loading a file again, or a customer's visits
after their profile, joins as before; a value that already is a pseudonym is kept as it is,
so that a file exported from mallseg (or an API client using pseudonyms) loads unchanged.

Examples
--------
>>> key = PseudonymKey(b"a secret of at least sixteen bytes", origin="example")
>>> key.pseudonym("C0042")
'pd6993404963f99478eb5a5d1'
>>> key.pseudonym(key.pseudonym("C0042")) == key.pseudonym("C0042")
True
>>> is_pseudonym("C0042"), is_pseudonym(key.pseudonym("C0042"))
(False, True)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "KEY_ENV_VAR",
    "KEY_FILE_SUFFIX",
    "PseudonymKey",
    "PseudonymKeyError",
    "is_pseudonym",
    "key_file_path",
    "load_key",
]

KEY_ENV_VAR = "MALLSEG_PSEUDONYM_KEY"
"""Environment variable holding the secret (at least 16 characters); wins over a key file."""
KEY_FILE_SUFFIX = ".pseudonym-key"
"""A workspace folder ``W`` keeps its key in the file ``W.pseudonym-key`` beside it."""

_HEX_DIGITS = 24
_PATTERN = re.compile(rf"p[0-9a-f]{{{_HEX_DIGITS}}}")
_MIN_SECRET_BYTES = 16
_CHECK_MESSAGE = b"mallseg pseudonym key check"


class PseudonymKeyError(RuntimeError):
    """The pseudonym key cannot be used.

    It is missing, unreadable, too short, readable by others, or not the key the workspace
    was pseudonymised with.
    """


def is_pseudonym(text: str) -> bool:
    """Whether ``text`` has the form of a pseudonym (``p`` and 24 hex digits).

    >>> is_pseudonym("p" + "0" * 24), is_pseudonym("P" + "0" * 24)
    (True, False)
    """
    return _PATTERN.fullmatch(text) is not None


@dataclass(frozen=True)
class PseudonymKey:
    """A secret key and where it came from (the secret is never shown).

    >>> PseudonymKey(b"0123456789abcdef", origin="env")
    PseudonymKey(origin='env')
    """

    secret: bytes = field(repr=False)
    origin: str

    def __post_init__(self) -> None:
        if len(self.secret) < _MIN_SECRET_BYTES:
            raise PseudonymKeyError(
                f"the pseudonym key from {self.origin} holds {len(self.secret)} bytes; "
                f"expected at least {_MIN_SECRET_BYTES}: set a longer secret"
            )

    def pseudonym(self, customer_id: str) -> str:
        """The pseudonym of ``customer_id`` (a pseudonym is returned as it is).

        >>> key = PseudonymKey(b"0123456789abcdef", origin="env")
        >>> len(key.pseudonym("A")), key.pseudonym("A") == key.pseudonym("B")
        (25, False)
        """
        if is_pseudonym(customer_id):
            return customer_id
        digest = hmac.new(self.secret, customer_id.encode("utf-8"), hashlib.sha256)
        return "p" + digest.hexdigest()[:_HEX_DIGITS]

    def pseudonyms(self, customer_ids: Iterable[str]) -> list[str]:
        """The pseudonym of each id, in order.

        >>> PseudonymKey(b"0123456789abcdef", origin="env").pseudonyms([]) == []
        True
        """
        return [self.pseudonym(c) for c in customer_ids]

    @property
    def check(self) -> str:
        """A fingerprint of the key, kept in the workspace to recognise a different key.

        It is a keyed hash of a fixed text, so it tells nothing about the key itself.

        >>> len(PseudonymKey(b"0123456789abcdef", origin="env").check)
        16
        """
        return hmac.new(self.secret, _CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]


def key_file_path(workspace_folder: str | Path) -> Path:
    """Where the key file of a workspace lives: beside the folder, never inside it.

    >>> key_file_path("/data/mallseg-workspace")
    PosixPath('/data/mallseg-workspace.pseudonym-key')
    """
    folder = Path(workspace_folder).absolute()
    return folder.parent / f"{folder.name}{KEY_FILE_SUFFIX}"


def load_key(workspace_folder: str | Path, *, create: bool = False) -> PseudonymKey | None:
    """The workspace's key: ``$MALLSEG_PSEUDONYM_KEY``, else its key file, else None.

    With ``create``, a missing key file is created with a fresh random secret and
    permissions 0600.

    Raises
    ------
    PseudonymKeyError
        When the key file can be read by others than its owner, or cannot be read or
        written.

    >>> import tempfile, pathlib, os
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "ws"
    >>> saved = os.environ.pop(KEY_ENV_VAR, None)
    >>> load_key(folder) is None
    True
    >>> created = load_key(folder, create=True)
    >>> oct(key_file_path(folder).stat().st_mode & 0o777), load_key(folder) == created
    ('0o600', True)
    >>> if saved is not None:
    ...     os.environ[KEY_ENV_VAR] = saved
    """
    from_env = os.environ.get(KEY_ENV_VAR)
    if from_env:
        return PseudonymKey(from_env.encode("utf-8"), origin=f"${KEY_ENV_VAR}")
    path = key_file_path(workspace_folder)
    if path.exists():
        return _read_key_file(path)
    if not create:
        return None
    secret = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise PseudonymKeyError(
            f"cannot create the pseudonym key file {path} ({exc.strerror}): make its folder "
            f"writable, or set {KEY_ENV_VAR}"
        ) from exc
    return PseudonymKey(secret.encode("ascii"), origin=str(path))


def _read_key_file(path: Path) -> PseudonymKey:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PseudonymKeyError(
                f"the pseudonym key file {path} can be read by others (mode "
                f"{oct(mode & 0o777)}); expected 0600: run `chmod 600 {path}`"
            )
        secret = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise PseudonymKeyError(f"cannot read the pseudonym key file {path} ({exc})") from exc
    return PseudonymKey(secret.encode("ascii"), origin=str(path))
