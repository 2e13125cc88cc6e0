"""Liveness and readiness (open, for orchestrators) and metrics (scope `metrics:read`)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from services.api.database import DatabaseUnavailableError
from services.api.deps import DatabaseDep, MetricsDep, MetricsReader
from services.api.schemas.common import problems

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it does not look at MongoDB)."""
    return {"status": "ok"}


@router.get("/readyz", responses=problems())
async def readyz(database: DatabaseDep) -> dict[str, str]:
    """MongoDB answers a ping: the API can take commands."""
    database.ensure_ready()
    if not await database.ping():
        raise DatabaseUnavailableError("MongoDB does not answer")
    return {"status": "ready"}


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[MetricsReader],
    responses=problems(401, 403),
)
async def metrics(metrics: MetricsDep, database: DatabaseDep) -> Response:
    """Prometheus metrics: requests, latencies and the outbox backlog."""
    return Response(await metrics.render(database), media_type=CONTENT_TYPE_LATEST)
