"""API keys: created (the secret shown once), listed, revoked.

Examples
--------
>>> KeyCreate(name="crm-sync", scopes=["customers:read"]).scopes
['customers:read']
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mallseg.app.keys import KeyInfo

__all__ = ["KeyCreate", "KeyCreatedPublic", "KeyPublic", "KeysPublic"]

Scope = Literal["aggregates", "customers:read", "events:write", "admin"]


class KeyCreate(BaseModel):
    """A key to create (see the module's example)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=100, pattern=r"^[^\x00-\x1f]*$")]
    scopes: list[Scope] = Field(min_length=1, max_length=4)


class KeyPublic(BaseModel):
    """A key as listed: never its secret.

    >>> from mallseg.app.keys import KeyInfo
    >>> KeyPublic.from_info(KeyInfo("k0123456789", "crm", frozenset({"admin"}), None)).active
    True
    """

    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool

    @classmethod
    def from_info(cls, info: KeyInfo) -> KeyPublic:
        """The body of a key."""
        return cls.model_validate(info.to_dict())


class KeyCreatedPublic(KeyPublic):
    """A new key with its secret: store it now, it is not shown again.

    >>> KeyCreatedPublic(key_id="k1", name="crm", scopes=["admin"], created_at=None,
    ...                  revoked_at=None, last_used_at=None, active=True, secret="msk_k1_s").secret
    'msk_k1_s'
    """

    secret: str


class KeysPublic(BaseModel):
    """A page of keys.

    >>> KeysPublic(data=[], count=0).data
    []
    """

    data: list[KeyPublic]
    count: int
