"""The API documentation's security: the three ways to send a key, and each route's scopes.

Routes guarded by :func:`mallseg.service.auth.require` get the schemes ``bearer``
(``Authorization: Bearer <key>``), ``apiKey`` (``X-API-Key``) and ``cookie``
(``mallseg_key``) as alternatives, and the scopes they admit in their description; the
others (``/health``) get none. Swagger's *Authorize* button and generated clients use it.

Examples
--------
>>> from fastapi import Depends, FastAPI
>>> from mallseg.service.auth import require
>>> app = FastAPI()
>>> @app.get("/segments", dependencies=[Depends(require("aggregates"))])
... def segments() -> list[str]:
...     return []
>>> @app.get("/health")
... def health() -> dict[str, str]:
...     return {"status": "ok"}
>>> install_security_schemes(app)
>>> spec = app.openapi()
>>> spec["paths"]["/segments"]["get"]["security"][0], "security" in spec["paths"]["/health"]["get"]
({'bearer': []}, False)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from mallseg.service.auth import COOKIE_NAME, HEADER_NAME, SCOPES_ATTRIBUTE

__all__ = ["SECURITY_SCHEMES", "install_security_schemes"]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key: `Authorization: Bearer msk_...`"},
    "apiKey": {"type": "apiKey", "in": "header", "name": HEADER_NAME,
               "description": "An API key in a header of its own"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME,
               "description": "The dashboard's key cookie"},
}
"""The OpenAPI security schemes a key may use."""


def install_security_schemes(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the key schemes and every guarded route's scopes.

    The module's example documents two routes.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
            spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for route in app.routes:
                if not isinstance(route, APIRoute) or not route.include_in_schema:
                    continue
                scopes = _scopes(route.dependant)
                if scopes is None:
                    continue
                for method in route.methods or ():
                    operation = spec["paths"][route.path_format].get(method.lower())
                    if operation is None:
                        continue
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                    said = operation.get("description", "")
                    operation["description"] = (
                        f"{said}\n\nScope: {' or '.join(scopes)} (or admin).".strip())
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _scopes(dependant: Dependant) -> tuple[str, ...] | None:
    """The scopes the route's key dependency admits (None: the route needs no key)."""
    for dependency in dependant.dependencies:
        found = getattr(dependency.call, SCOPES_ATTRIBUTE, None)
        if found is not None:
            return tuple(found)
        nested = _scopes(dependency)
        if nested is not None:
            return nested
    return None
