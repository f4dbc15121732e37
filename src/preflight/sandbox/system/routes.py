"""`GET /v2/system/health`: liveness, no credential."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

router = APIRouter(tags=["system"])
_OK = b'{"status":"ok"}'


class SystemHealth(BaseModel):
    status: Literal["ok"]


@router.get("/v2/system/health", response_model=SystemHealth)
async def system_health():
    return Response(_OK, media_type="application/json")
