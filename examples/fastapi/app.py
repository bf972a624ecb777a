"""The article's FastAPI endpoint on enrich, in three forms (ENRICH_MODE):

compat (default)  drop-in: the article's handler with asyncpg replaced by ``enrich.Client``
                  (same SQL, same ``asyncio.gather``, rows as dicts decoded like asyncpg's) and
                  httpx by ``client.http_get``; the same response model, so the same JSON as the
                  article's version (original.py).
fast              one plan (examples/plans/user_enriched_python.json): the three queries,
                  pipelined, and the analytics call run as one native operation whose JSON is
                  encoded natively in the python profile; ``run_json`` returns the bytes and they
                  go straight into a ``Response``. Same JSON values (the plan selects only the
                  three ActivityLog fields, which is what the response model keeps).
route             the same plan through ``enrich.fastapi.plan_route``: the least FastAPI work per
                  request (validation of the two inputs, the bytes in a ``Response``), and the
                  response model in the OpenAPI document. No per-request log line.

Where the article's version fails, in every form: a user without a preferences row -> 200 with
"preferences": null (the article's ``dict(preferences)`` answers 500); an id outside int64 -> 422
like any other malformed id (the article's answers 500).

Errors, in every form: unknown user -> 404 {"detail": "User not found"}; a non-integer id, or one
outside int64 -> 422 (FastAPI's validation); database unreachable, pool exhausted or timed out -> 503
{"detail": "Database unavailable"}; anything else -> 500 {"detail": "Internal server error"}.
Never a traceback in a response.

Environment: DATABASE_URL, DATABASE_REPLICA_URL (read replicas, connection strings separated by
whitespace; the endpoint only reads, so it runs there), ANALYTICS_URL (default
http://127.0.0.1:8081), PORT (8000), HOST
(127.0.0.1), ENRICH_MODE, ENRICH_PLAN (the plan file), ENRICH_MAX_CONNECTIONS (8),
ENRICH_ACQUIRE_TIMEOUT (2.0 seconds), WORKERS (1). Run after scripts/build and
``. scripts/env.sh``: ``python examples/fastapi/app.py``; with gunicorn (pinned in
bindings/python/requirements-dev.txt, ``--preload`` is fine: the client is created per worker
in the lifespan): ``gunicorn -w 4 -k uvicorn_worker.UvicornWorker --chdir examples/fastapi
app:app``.
"""

import asyncio
import os
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, List, Optional

import structlog
from fastapi import FastAPI, HTTPException, Path as PathParam, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import enrich
from enrich.fastapi import attach_trace_context, detach_trace_context, error_status, plan_route

logger = structlog.get_logger()

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://enrich:enrich@127.0.0.1:54329/enrich")
ANALYTICS_URL = os.environ.get("ANALYTICS_URL", "http://127.0.0.1:8081").rstrip("/")
PLAN_PATH = os.environ.get(
    "ENRICH_PLAN",
    str(Path(__file__).resolve().parents[1] / "plans" / "user_enriched_python.json"),
)



class ActivityLog(BaseModel):
    id: str
    action: str
    created_at: datetime


# Postgres bigint: ids outside it are malformed input (422), not a database error.
UserId = Annotated[int, PathParam(ge=-(2**63), le=2**63 - 1)]


class UserEnrichedResponse(BaseModel):
    user: dict
    preferences: Optional[dict]
    recent_activity: List[ActivityLog]
    analytics: Optional[dict]
    meta: dict


# ENRICH_TRACING=1: OpenTelemetry spans (tracing=True) and the incoming request's trace context
# passed on to the analytics call; GET /metrics serves the client's metrics, labelled with the
# worker's pid (a scrape of one worker shows that worker's), when prometheus_client is installed.
TRACING = os.environ.get("ENRICH_TRACING") == "1"


def _client() -> enrich.Client:
    return enrich.Client(
        DATABASE_URL,
        tracing=TRACING,
        replica_dsns=os.environ.get("DATABASE_REPLICA_URL") or None,
        max_connections=int(os.environ.get("ENRICH_MAX_CONNECTIONS", "8")),
        acquire_timeout=float(os.environ.get("ENRICH_ACQUIRE_TIMEOUT", "2.0")),
    )


def _trace_headers(request: Request) -> Optional[dict]:
    """The incoming W3C trace context, passed on as it is (compat mode's direct HTTP call)."""
    if not TRACING or "traceparent" not in request.headers:
        return None
    return {k: request.headers[k] for k in ("traceparent", "tracestate") if k in request.headers}


def create_app(mode: Optional[str] = None) -> FastAPI:
    mode = mode or os.environ.get("ENRICH_MODE", "compat")
    if mode not in ("compat", "fast", "route"):
        raise SystemExit(f"ENRICH_MODE must be compat, fast or route, not {mode!r}")
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["db"] = _client()
        state["plan"] = enrich.Plan.load(PLAN_PATH, variables={"ANALYTICS_URL": ANALYTICS_URL})
        try:
            import prometheus_client

            state["metrics"] = prometheus_client.CollectorRegistry(auto_describe=False)
            state["metrics"].register(
                enrich.PrometheusCollector(state["db"], labels={"worker": str(os.getpid())}))
        except ImportError:
            pass
        try:
            yield
        finally:
            await state.pop("db").aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/metrics")
    async def metrics() -> Response:
        if "metrics" not in state:
            return JSONResponse({"detail": "prometheus_client is not installed"}, status_code=404)
        import prometheus_client

        return Response(prometheus_client.generate_latest(state["metrics"]),
                        media_type=prometheus_client.CONTENT_TYPE_LATEST)

    @app.exception_handler(enrich.Error)
    async def enrich_error(request: Request, exc: enrich.Error) -> JSONResponse:
        # As enrich.fastapi's plan_route answers: 404, 503 (enrich.fastapi.UNAVAILABLE), 422, 500.
        status, detail = error_status(exc, "User not found")
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("user_enrichment_failed", error=repr(exc))
        return JSONResponse({"detail": "Internal server error"}, status_code=500)

    if mode == "compat":

        @app.get("/api/users/{user_id}/enriched")
        async def get_user_enriched(
            request: Request, user_id: UserId, include_analytics: bool = Query(False)
        ) -> UserEnrichedResponse:
            db: enrich.Client = state["db"]
            start_time = asyncio.get_running_loop().time()
            try:
                user_data, preferences, recent_activity = await asyncio.gather(
                    db.fetch_one("SELECT * FROM users WHERE id = $1", user_id),
                    db.fetch_one("SELECT * FROM user_preferences WHERE user_id = $1", user_id),
                    db.fetch(
                        "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10",
                        user_id,
                    ),
                )
            except enrich.Error as e:
                logger.error("user_enrichment_failed", user_id=user_id, error=str(e))
                raise
            if user_data is None:
                raise HTTPException(status_code=404, detail="User not found")

            analytics_data = None
            if include_analytics:
                try:
                    response = await db.http_get(
                        f"{ANALYTICS_URL}/users/{user_id}/summary", timeout=0.5, retry=False,
                        headers=_trace_headers(request),
                    )
                    analytics_data = response.json()
                except (enrich.OperationTimeoutError, enrich.HttpError, enrich.ConnectionFailedError, ValueError) as e:
                    logger.warning("analytics_service_timeout", user_id=user_id, error=str(e))

            duration = (asyncio.get_running_loop().time() - start_time) * 1000
            logger.info("user_enrichment_completed", user_id=user_id, duration_ms=duration)
            return UserEnrichedResponse(
                user=user_data,
                # The article's dict(preferences) fails for a user without preferences (500);
                # null here, as the plan of the fast form gives.
                preferences=preferences,
                recent_activity=[ActivityLog(**row) for row in recent_activity],
                analytics=analytics_data,
                meta={"processing_time_ms": duration},
            )

    elif mode == "route":

        @plan_route(app, "/api/users/{user_id}/enriched", client=lambda: state["db"],
                    plan=lambda: state["plan"], response_model=UserEnrichedResponse,
                    not_found="User not found")
        def get_user_enriched_route(user_id: UserId, include_analytics: bool = Query(False)) -> None:
            """The user, their preferences, last 10 activity rows and (optionally) analytics."""

    else:

        @app.get("/api/users/{user_id}/enriched")
        async def get_user_enriched_fast(
            request: Request, user_id: UserId, include_analytics: bool = Query(False)
        ) -> Response:
            # The plan's span becomes a child of the caller's, and its analytics call carries it.
            token = attach_trace_context(request) if TRACING else None
            try:
                body = await state["db"].run_json(
                    state["plan"], user_id=user_id, include_analytics=include_analytics
                )
            finally:
                detach_trace_context(token)
            logger.info("user_enrichment_completed", user_id=user_id)
            return Response(content=body, media_type="application/json")

    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    # WORKERS=N: N worker processes (uvicorn starts them fresh, so each creates its own client in
    # the lifespan); at most N x ENRICH_MAX_CONNECTIONS connections to Postgres.
    workers = int(os.environ.get("WORKERS", "1"))
    uvicorn.run(
        "app:app" if workers > 1 else app,
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        workers=workers,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
