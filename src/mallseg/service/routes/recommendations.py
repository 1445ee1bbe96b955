"""``/customers/{id}/recommendations``: a customer's stored suggestions (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from mallseg.app.insight_views import InsightNotComputed, customer_recommendations
from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import ErrorPublic, Page, page_parameters
from mallseg.service.payloads.recommendations import CustomerRecommendationsPublic
from mallseg.service.routes.customers import CustomerPath
from mallseg.service.state import ServiceState, get_state

__all__ = ["router"]

router = APIRouter(prefix="/customers", tags=["customers"], responses={
    **ERROR_RESPONSES,
    404: {"model": ErrorPublic, "description": "No recommendations for the customer, or none "
                                               "computed (`mallseg recommend`)."}})


@router.get("/{customer_id}/recommendations")
def recommendations(
    customer_id: CustomerPath,
    key: Annotated[ApiKeyRecord, Depends(require("customers:read"))],
    state: Annotated[ServiceState, Depends(get_state)],
    page: Annotated[Page, Depends(page_parameters)],
) -> CustomerRecommendationsPublic:
    """The customer's suggestions from the latest ``mallseg recommend``, with reasons."""
    run_id = None
    try:
        with state.lock:
            found = customer_recommendations(state.workspace, customer_id)
        run_id = found.run_id
    except InsightNotComputed as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    finally:
        state.audit.record(key.key_id, "customer_recommendations", customer_id,
                           {"run_id": run_id})
    return CustomerRecommendationsPublic.from_result(found, offset=page.offset,
                                                     limit=page.limit)
