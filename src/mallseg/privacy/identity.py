"""An operator's customer id, as the workspace knows it.

In a pseudonymised workspace the tables hold pseudonyms only; an operator who types a raw
id (``mallseg explain C0042``, ``mallseg forget C0042``) has it translated here, with the
key, which must be the one the workspace was pseudonymised with. A pseudonym is taken as
it is; in a workspace of ids as given, so is every id.

Examples
--------
>>> import tempfile, pathlib, os
>>> from mallseg.workspace import Workspace
>>> from mallseg.core.pseudonyms import KEY_ENV_VAR
>>> with Workspace.open(pathlib.Path(tempfile.mkdtemp()) / "ws") as ws:
...     workspace_customer_id(ws, "C0042")
'C0042'
"""

from __future__ import annotations

from mallseg.core.pseudonyms import KEY_ENV_VAR, PseudonymKeyError, is_pseudonym, load_key
from mallseg.data.ingest_pseudonyms import customer_id_mode, recorded_key_check
from mallseg.workspace import Workspace

__all__ = ["UnknownIdError", "workspace_customer_id"]


class UnknownIdError(LookupError):
    """A raw id given to a pseudonymised workspace whose key is not at hand."""


def workspace_customer_id(workspace: Workspace, customer_id: str) -> str:
    """The id the workspace holds for ``customer_id``: its pseudonym, or the id itself.

    Raises
    ------
    UnknownIdError
        When the workspace is pseudonymised, ``customer_id`` is a raw id and the key is
        missing or is not the workspace's key.
    """
    customer_id = customer_id.strip()
    if customer_id_mode(workspace) != "pseudonymised" or is_pseudonym(customer_id):
        return customer_id
    try:
        key = load_key(workspace.folder)
    except PseudonymKeyError as exc:
        raise UnknownIdError(str(exc)) from exc
    if key is None:
        raise UnknownIdError(
            f"{customer_id!r} is a raw customer id, and this workspace holds pseudonyms; "
            f"the key to translate it is not here (no ${KEY_ENV_VAR}, no key file beside "
            f"{workspace.folder}): give the pseudonym instead, or make the key available"
        )
    if key.check != recorded_key_check(workspace):
        raise UnknownIdError(
            f"the pseudonym key from {key.origin} is not the key this workspace was "
            "pseudonymised with, so it cannot translate a raw id: use the original key, or "
            "give the pseudonym"
        )
    return key.pseudonym(customer_id)
