"""The article's FastAPI endpoint (asyncpg + httpx), runnable: the comparison for the enrich
version (app.py) in tests and benchmarks.

The handler below is the article's code. Deviations, each only where the printed code cannot run:
1. ``user_id: int`` instead of ``str``: asyncpg binds ``$1`` of the bigint ``id`` column from a
   Python int and rejects the string FastAPI would pass ("invalid input for query argument $1").
2. ``db_pool`` comes from a dependency (``Depends(get_db_pool)``) on a pool created in the app's
   lifespan: the article's function takes ``db_pool: Pool`` as a parameter, which FastAPI cannot
   inject by itself, and never shows where the pool is made.
3. The analytics base URL is ``ANALYTICS_URL`` (default http://127.0.0.1:8081) instead of
   ``https://analytics-service.internal``.
4. The route registration and ``app`` itself, which the article leaves out.
5. Optional (``ORIGINAL_SHARED_HTTP_CLIENT=1``): one ``httpx.AsyncClient`` shared by all requests
   instead of the article's client per request (the default, as printed). Benchmarks measure both.

Behaviour kept as printed: an unknown user fails inside the try (``dict(None)``) and becomes the
article's 500 {"detail": "Internal server error"}; a dead database is a 500 too.

Environment: DATABASE_URL, ANALYTICS_URL, PORT (8000), HOST (127.0.0.1), DB_POOL_MIN/DB_POOL_MAX
(asyncpg's defaults, 10/10). Run: ``python examples/fastapi/original.py``.
"""

import contextlib
import os
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException, Query
from asyncpg import Pool, create_pool
from pydantic import BaseModel
from typing import Optional, List
import httpx
import asyncio
import structlog
from datetime import datetime

logger = structlog.get_logger()

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://enrich:enrich@127.0.0.1:54329/enrich")
ANALYTICS_URL = os.environ.get("ANALYTICS_URL", "http://127.0.0.1:8081").rstrip("/")
SHARED_HTTP_CLIENT = os.environ.get("ORIGINAL_SHARED_HTTP_CLIENT", "0") == "1"

_state: dict = {}


class ActivityLog(BaseModel):
    id: str
    action: str
    created_at: datetime


class UserEnrichedResponse(BaseModel):
    user: dict
    preferences: dict
    recent_activity: List[ActivityLog]
    analytics: Optional[dict]
    meta: dict


async def get_db_pool() -> Pool:  # deviation 2
    return _state["pool"]


def _http_client():  # deviation 5: the article's per-request client, or the shared one
    if SHARED_HTTP_CLIENT:
        return contextlib.nullcontext(_state["http"])
    return httpx.AsyncClient(timeout=0.5)


async def get_user_enriched(
    user_id: int,  # deviation 1
    db_pool: Pool = Depends(get_db_pool),  # deviation 2
    include_analytics: bool = Query(False)
) -> UserEnrichedResponse:
    start_time = asyncio.get_event_loop().time()

    try:
        # Parallel database queries using asyncio.gather
        user_data, preferences, recent_activity = await asyncio.gather(
            db_pool.fetchrow('SELECT * FROM users WHERE id = $1', user_id),
            db_pool.fetchrow('SELECT * FROM user_preferences WHERE user_id = $1', user_id),
            db_pool.fetch(
                'SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC LIMIT 10',
                user_id
            )
        )

        analytics_data = None
        if include_analytics:
            try:
                async with _http_client() as client:  # deviation 5 (default: as printed)
                    response = await client.get(
                        f'{ANALYTICS_URL}/users/{user_id}/summary'  # deviation 3
                    )
                    analytics_data = response.json()
            except (httpx.TimeoutException, httpx.RequestError) as e:
                logger.warning('analytics_service_timeout', user_id=user_id, error=str(e))

        duration = (asyncio.get_event_loop().time() - start_time) * 1000
        logger.info('user_enrichment_completed', user_id=user_id, duration_ms=duration)

        return UserEnrichedResponse(
            user=dict(user_data),
            preferences=dict(preferences),
            recent_activity=[ActivityLog(**dict(row)) for row in recent_activity],
            analytics=analytics_data,
            meta={'processing_time_ms': duration}
        )
    except Exception as e:
        logger.error('user_enrichment_failed', user_id=user_id, error=str(e))
        raise HTTPException(status_code=500, detail='Internal server error')


def create_app() -> FastAPI:  # deviation 4
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _state["pool"] = await create_pool(
            DATABASE_URL,
            min_size=int(os.environ.get("DB_POOL_MIN", "10")),
            max_size=int(os.environ.get("DB_POOL_MAX", "10")),
        )
        if SHARED_HTTP_CLIENT:
            _state["http"] = httpx.AsyncClient(timeout=0.5)
        try:
            yield
        finally:
            if SHARED_HTTP_CLIENT:
                await _state.pop("http").aclose()
            await _state.pop("pool").close()

    app = FastAPI(lifespan=lifespan)
    app.get("/api/users/{user_id}/enriched")(get_user_enriched)
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
