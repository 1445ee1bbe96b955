"""``/model``: the segmentation run the service scores with, and its features."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mallseg.service.auth import ApiKeyRecord, require
from mallseg.service.errors import ERROR_RESPONSES
from mallseg.service.payloads.common import Page, page_parameters
from mallseg.service.payloads.model import FeaturePublic, FeaturesPublic, ModelPublic
from mallseg.service.state import ServiceState, current_state

__all__ = ["router"]

router = APIRouter(prefix="/model", tags=["model"], responses=ERROR_RESPONSES)

Reader = Annotated[ApiKeyRecord, Depends(require("aggregates", "customers:read"))]


@router.get("")
async def model_info(key: Reader, state: Annotated[ServiceState, Depends(current_state)]
                     ) -> ModelPublic:
    """The served run: method, lens, algorithm, segments, features and reference time."""
    return ModelPublic.model_validate(state.model().describe())


@router.get("/features")
async def model_features(key: Reader, state: Annotated[ServiceState, Depends(current_state)],
                         page: Annotated[Page, Depends(page_parameters)]) -> FeaturesPublic:
    """The features the model scores on, with their kind and meaning, in model order."""
    model = state.model()
    chosen = model.features[page.offset:page.offset + page.limit]
    return FeaturesPublic(
        data=[FeaturePublic(name=f, kind=model.kinds[f], meaning=model.meaning(f))
              for f in chosen],
        count=len(model.features))
