"""``/score``: place customers from their feature values (no database involved)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from mallseg.app.live import FeatureValueError, LiveModel, Placement
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES, unprocessable
from mallseg.service.payloads.common import ErrorPublic
from mallseg.service.payloads.scoring import (
    ScoreBatchCreate,
    ScoreCreate,
    ScorePublic,
    ScoresPublic,
)
from mallseg.service.state import get_state

__all__ = ["router"]

router = APIRouter(prefix="/score", tags=["scoring"], responses={
    **ERROR_RESPONSES, 503: {"model": ErrorPublic, "description": "No model to serve."}})

Scorer = Annotated[ApiKeyRecord, Depends(require("customers:read"))]
Top = Annotated[int, Query(ge=1, le=50, description="Features to explain the placement by.")]


@router.post("")
async def score_customer(body: ScoreCreate, key: Scorer, request: Request, top: Top = 5
                         ) -> ScorePublic:
    """One customer's segment, confidence and the features that place them there."""
    state = get_state(request)  # called, not injected: one dependency less per score
    model = state.model()
    placement = _place(model, body, top, ["body"])
    if body.customer_id is not None:
        state.audit.record(key.key_id, "score_customer", body.customer_id,
                           {"run_id": model.run_id, "segment_id": placement.segment_id})
    return ScorePublic.from_placement(placement)


@router.post("/batch")
async def score_customers(body: ScoreBatchCreate, key: Scorer, request: Request, top: Top = 5
                          ) -> ScoresPublic:
    """Several customers at once (at most 1,000), in the order given."""
    state = get_state(request)
    model = state.model()
    placements = [_place(model, customer, top, ["body", "customers", index])
                  for index, customer in enumerate(body.customers)]
    for placement in placements:
        if placement.customer_id is not None:
            state.audit.record(key.key_id, "score_customer", placement.customer_id,
                               {"run_id": model.run_id, "segment_id": placement.segment_id})
    return ScoresPublic(data=[ScorePublic.from_placement(p) for p in placements],
                        count=len(placements))


def _place(model: LiveModel, body: ScoreCreate, top: int, where: list[str | int]
           ) -> Placement:
    try:
        return model.place(body.features, customer_id=body.customer_id, top=top)
    except FeatureValueError as exc:
        raise unprocessable([([*where, *exc.field.split(".", 1)], str(exc))]) from exc
