"""Standards (定置标准) loaded on this server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from service.deps import StateDep
from service.schemas import ErrorOut, StandardList, standard_of

router = APIRouter(prefix="/standards", tags=["standards"])

_ERRORS = {401: {"model": ErrorOut, "description": "missing or invalid API key"},
           404: {"model": ErrorOut, "description": "unknown standard"}}


def _users(state, standard_id: str) -> list[str]:
    return sorted(cid for cid, entry in state.cameras.items() if entry.standard.id == standard_id)


@router.get("", response_model=StandardList, responses=_ERRORS, summary="List standards")
def list_standards(state: StateDep) -> StandardList:
    return StandardList(standards=[standard_of(s, _users(state, sid)) for sid, s in sorted(state.standards.items())])


@router.get("/{standard_id}", responses=_ERRORS, summary="One standard, as its file reads (defaults filled in)")
def get_standard(state: StateDep, standard_id: Annotated[str, Path(min_length=1, max_length=128)]) -> dict[str, Any]:
    standard = state.standards.get(standard_id)
    if standard is None:
        known = ", ".join(sorted(state.standards)) or "none"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown standard {standard_id!r} (standards: {known})")
    return standard.to_dict()
