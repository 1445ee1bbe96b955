"""Errors as the API answers them: a JSON body naming the field, never a traceback.

A bad request is 422 with ``{"detail": [{"loc", "field", "msg", "type"}, ...]}``: ``loc``
is where (``body``, ``query``, ``path``, then the field path), ``field`` the same path as
text (``purchases[0].amount``). Other errors are ``{"detail": "one sentence"}``. Anything
unexpected is logged with its traceback and answered 500 with a sentence that says so;
bad input never gets there.

Examples
--------
>>> field_path(["body", "purchases", 0, "amount"])
'purchases[0].amount'
>>> unprocessable([(["body", "features", "age"], "age is numeric: expected a number")]
...               ).detail[0]["field"]
'features.age'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mallseg.service.payloads.common import ErrorPublic

__all__ = ["ERROR_RESPONSES", "field_path", "install_error_handlers", "unprocessable"]

log = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "No API key, or an unknown or revoked one."},
    403: {"model": ErrorPublic, "description": "The key lacks the scope."},
    422: {"model": ErrorPublic, "description": "Bad input: the problems name the field."},
    429: {"model": ErrorPublic, "description": "Over the key's rate: see Retry-After."},
}
"""Error answers every authenticated route documents."""

_WHERE = ("body", "query", "path", "header", "cookie")


def field_path(loc: Sequence[str | int]) -> str:
    """A location as one path of text (``body`` and the like left out; see the module)."""
    text = ""
    for part in loc[1:] if loc and loc[0] in _WHERE else loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def unprocessable(problems: Sequence[tuple[Sequence[str | int], str]],
                  kind: str = "value_error") -> HTTPException:
    """A 422 for problems found past the request's validation (``(loc, message)`` each).

    The module's example makes one.
    """
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": list(loc), "field": field_path(loc), "msg": message, "type": kind}
                for loc, message in problems])


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation errors and unexpected failures in the API's error shape.

    >>> from fastapi import FastAPI
    >>> app = FastAPI()
    >>> install_error_handlers(app)
    >>> from fastapi.exceptions import RequestValidationError
    >>> app.exception_handlers[RequestValidationError].__name__
    'invalid_request'
    """

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"loc": list(error.get("loc", ())), "field": field_path(error.get("loc", ())),
             "msg": _message(error), "type": str(error.get("type", "value_error"))}
            for error in exc.errors()
        ]
        return JSONResponse({"detail": problems},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}): the service logged it; "
                       "please report it"},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)


def _message(error: dict[str, Any]) -> str:
    loc = error.get("loc", ())
    name = field_path(loc) or "request"
    text = str(error.get("msg", "is not valid"))
    text = text.removeprefix("Value error, ")
    return f"{name}: {text}"
