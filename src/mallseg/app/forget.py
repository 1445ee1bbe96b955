"""Use case: forget a customer (erasure on request), and translate an operator's raw id.

``forget_customer`` takes what an operator has at hand (a raw id, translated with the
pseudonym key when the workspace is pseudonymised, or the pseudonym itself), erases the
customer everywhere (:mod:`mallseg.privacy.erasure`) and returns what was removed as a
value. The result never carries the id.

Examples
--------
>>> import tempfile, pathlib
>>> from mallseg.workspace import Workspace
>>> from mallseg.data.ingest import ingest_file
>>> from mallseg.datasets.samples import classic_sample_path
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     _ = ingest_file(ws, "customers", classic_sample_path())
...     result = forget_customer(ws, "0001")
...     ws.table_count("customers")
199
>>> result.found, result.erasure.rows_removed["customers"]
(True, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mallseg.core.pseudonyms import is_pseudonym, load_key
from mallseg.data.ingest_pseudonyms import customer_id_mode
from mallseg.privacy.erasure import Erasure, erase_customer
from mallseg.privacy.identity import UnknownIdError, workspace_customer_id
from mallseg.workspace import Workspace

__all__ = ["ForgetResult", "UnknownIdError", "forget_customer", "pseudonym_of", "pseudonyms_of"]


@dataclass(frozen=True)
class ForgetResult:
    """What forgetting one customer did (counts and names, never the id).

    >>> from mallseg.workspace.compaction import Compaction
    >>> erasure = Erasure({}, 0, 0, (), (), (), (), False, Compaction(1, 1))
    >>> ForgetResult(erasure, translated=True).found
    False
    """

    erasure: Erasure
    translated: bool
    """The operator gave a raw id, translated to the workspace's pseudonym."""

    @property
    def found(self) -> bool:
        """Whether anything of the customer was in the workspace."""
        return self.erasure.found

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {**self.erasure.to_dict(), "translated": self.translated}


def forget_customer(
    workspace: Workspace, customer_id: str, *, actor: str | None = None
) -> ForgetResult:
    """Erase the customer ``customer_id`` (raw or pseudonym) from the workspace.

    Raises
    ------
    UnknownIdError
        When a raw id cannot be translated (the key is missing or not the workspace's).
    """
    given = customer_id.strip()
    if not given:
        raise UnknownIdError("the customer id is empty: give the customer's id or pseudonym")
    held = workspace_customer_id(workspace, given)
    erasure = erase_customer(workspace, held, raw_id=None if is_pseudonym(given) else given,
                             actor=actor)
    return ForgetResult(erasure, translated=held != given)


def pseudonym_of(workspace: Workspace, customer_id: str) -> str:
    """The id the workspace holds for an operator's ``customer_id`` (its pseudonym).

    >>> import tempfile, pathlib
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     pseudonym_of(ws, " C7 ")
    'C7'
    """
    return workspace_customer_id(workspace, customer_id)


def pseudonyms_of(workspace: Workspace, customer_ids: Sequence[str]) -> list[str]:
    """The ids the workspace holds for many raw ids at once.

    Each id stays as it is when the workspace keeps ids as given or the key is not at hand.

    >>> import tempfile, pathlib
    >>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
    ...     pseudonyms_of(ws, ["C1", "C2"])
    ['C1', 'C2']
    """
    key = load_key(workspace.folder) if customer_id_mode(workspace) == "pseudonymised" else None
    return [key.pseudonym(c) if key else c for c in customer_ids]
