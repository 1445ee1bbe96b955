"""Lines of the workspace's audit log.

Examples
--------
>>> from datetime import datetime
>>> AuditLinePublic(logged_at=datetime(2026, 3, 1), actor="k0123456789",
...                 action="lookup_customer", target="C0000001", details={}).action
'lookup_customer'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["AuditLinePublic", "AuditLinesPublic"]


class AuditLinePublic(BaseModel):
    """Who did what to which target, when (times in UTC; see the module's example)."""

    logged_at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]


class AuditLinesPublic(BaseModel):
    """A page of audit lines, newest first.

    >>> AuditLinesPublic(data=[], count=0).count
    0
    """

    data: list[AuditLinePublic]
    count: int
