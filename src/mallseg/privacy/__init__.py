"""Privacy by design: operator ids translated at the edge, erasure of a customer everywhere.

:mod:`~mallseg.privacy.identity` turns an operator's raw customer id into the workspace's
pseudonym (when the key is present); :mod:`~mallseg.privacy.erasure` removes a customer
from every table, snapshot, insight result, audit detail and file of the workspace and
records a tombstone; :mod:`~mallseg.privacy.files` rewrites or removes the files that
quote them, by the one rule of :mod:`~mallseg.privacy.id_matching` for what quotes an
id; :mod:`~mallseg.privacy.scan` looks for given strings in the raw bytes of a
folder. The pseudonym primitives live in :mod:`mallseg.core.pseudonyms`, since ingest
(a lower layer) needs them.
"""

from mallseg.privacy.erasure import Erasure, erase_customer
from mallseg.privacy.identity import UnknownIdError, workspace_customer_id
from mallseg.privacy.scan import find_in_folder

__all__ = ["Erasure", "UnknownIdError", "erase_customer", "find_in_folder",
           "workspace_customer_id"]
