"""All API routes under /api/v1; everything but health and readiness needs an API key."""

from fastapi import APIRouter, Depends

from service.api.routes import accounts, calibration, cameras, corrections, health, inspections, layouts, standards
from service.deps import require_api_key
from service.schemas import API_PREFIX, VALIDATION_ERROR

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(health.router)
# signing in needs no credentials; the users and keys routes each ask for an administrator
api_router.include_router(accounts.session_router, responses=VALIDATION_ERROR)
api_router.include_router(accounts.admin_router, responses=VALIDATION_ERROR)
for module in (inspections, corrections, cameras, layouts, standards, calibration):
    # every 4xx body is {"detail": "..."}; request validation adds the per-field "errors"
    api_router.include_router(module.router, dependencies=[Depends(require_api_key)], responses=VALIDATION_ERROR)
