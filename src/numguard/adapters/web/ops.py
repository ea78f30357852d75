"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from numguard.adapters.web.security import container_of

router = APIRouter(tags=["Operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Response:
    """Always 200 while the process runs."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz", summary="Readiness: database reachable and answer index loaded")
async def readyz(request: Request) -> Response:
    """200 when checks can be answered, 503 otherwise (with what is missing)."""
    container = container_of(request)
    problems: list[str] = []
    if not container.ready.is_set():
        problems.append("answer index is loading")

    def ping() -> None:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception:
        problems.append("database is not reachable")
    status = 503 if problems else 200
    body = {
        "status": "ready" if not problems else "not ready",
        "problems": problems,
        "numbers": len(container.index),
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics")
async def metrics() -> Response:
    """Requests and latency by route, checks by answer, events by outcome."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
