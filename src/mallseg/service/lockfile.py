"""The note a running service leaves in its workspace: see :mod:`mallseg.workspace.holder`.

The workspace layer reads it (so that every command refused the workspace names the
service); the service writes and removes it.
"""

from mallseg.workspace.holder import (
    SERVICE_LOCK_FILE,
    ServiceLock,
    holder_sentence,
    read_service_lock,
    remove_service_lock,
    write_service_lock,
)

__all__ = [
    "SERVICE_LOCK_FILE",
    "ServiceLock",
    "holder_sentence",
    "read_service_lock",
    "remove_service_lock",
    "write_service_lock",
]
