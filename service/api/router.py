"""All API routes under /api/v1; everything but health and readiness needs an API key."""

from fastapi import APIRouter, Depends

from service.api.routes import calibration, cameras, corrections, health, inspections, standards
from service.deps import require_api_key
from service.schemas import API_PREFIX, VALIDATION_ERROR

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(health.router)
for module in (inspections, corrections, cameras, standards, calibration):
    # every 4xx body is {"detail": "..."}; request validation adds the per-field "errors"
    api_router.include_router(module.router, dependencies=[Depends(require_api_key)], responses=VALIDATION_ERROR)
