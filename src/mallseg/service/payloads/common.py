"""Shapes every resource shares: pagination and the body of an error.

Examples
--------
>>> Page(offset=0, limit=10).limit
10
>>> ProblemPublic(loc=["body", "purchases", 0, "amount"], field="purchases[0].amount",
...               msg="amount: 2e6 is outside -1000000..1000000", type="value_error").field
'purchases[0].amount'
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

__all__ = ["MAX_LIMIT", "ErrorPublic", "Page", "ProblemPublic", "page_parameters"]

MAX_LIMIT = 1000
"""Most items one page may hold."""


class Page(BaseModel):
    """Which slice of a list to return (see the module's example)."""

    offset: int = Field(0, ge=0, description="Items to skip.")
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Most items to return.")


def page_parameters(
    offset: Annotated[int, Query(ge=0, le=2**31, description="Items to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Most items to return.")] = 100,
) -> Page:
    """The ``offset`` and ``limit`` query parameters of a list (a FastAPI dependency).

    >>> page_parameters(5, 20)
    Page(offset=5, limit=20)
    """
    return Page(offset=offset, limit=limit)


class ProblemPublic(BaseModel):
    """One thing wrong with a request, naming the field (see the module's example)."""

    loc: list[str | int] = Field(description="Where: body/query/path, then the field path.")
    field: str = Field(description="The field, written as a path (purchases[0].amount).")
    msg: str = Field(description="What is wrong and what was expected.")
    type: str = Field(description="Kind of problem (missing, value_error, ...).")


class ErrorPublic(BaseModel):
    """The body of every error: a sentence, or the list of problems of a bad request.

    >>> ErrorPublic(detail="API key k0123456789 is unknown or revoked").detail[:11]
    'API key k01'
    """

    detail: str | list[ProblemPublic]
