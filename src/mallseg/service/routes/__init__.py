"""The API's routers, one per resource; :data:`ROUTERS` is what the app includes.

A new resource is a new module here with its ``router``, and one line in :data:`ROUTERS`.
Route functions' docstrings are the API documentation's descriptions.

Examples
--------
>>> " ".join(router.prefix or "/" for router in ROUTERS)  # doctest: +NORMALIZE_WHITESPACE
'/ /model /score /customers /customers /customers /customers /segments /insights
 /monitoring /keys /audit'
"""

from __future__ import annotations

from fastapi import APIRouter

from mallseg.service.routes import (
    audit,
    customers,
    erasure,
    events,
    health,
    insights,
    keys,
    model,
    monitoring,
    recommendations,
    scoring,
    segments,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    model.router,
    scoring.router,
    customers.router,
    erasure.router,
    events.router,
    recommendations.router,
    segments.router,
    insights.router,
    monitoring.router,
    keys.router,
    audit.router,
)
"""Every router, in the order the API documentation lists them."""
