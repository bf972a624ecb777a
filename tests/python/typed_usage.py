"""Type-checked use of the public API (scripts/test runs mypy --strict on it and on the package):
what a user's code looks like must type-check against enrich's annotations. Not a pytest file."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from fastapi import FastAPI

import enrich
from enrich.fastapi import error_status, plan_route


async def endpoint(client: enrich.Client, plan: enrich.Plan, user_id: int) -> bytes:
    try:
        body: bytes = await client.run_json(plan, user_id=user_id, include_analytics=False)
    except enrich.NotFoundError:
        raise
    except (enrich.ConnectionFailedError, enrich.OperationTimeoutError, enrich.PoolQueueFullError):
        raise
    return body


async def queries(client: enrich.Client) -> None:
    rows: List[enrich.Record] = await client.fetch("SELECT $1::int AS n", 1)
    one: Optional[enrich.Record] = await client.fetch_one("SELECT 1 AS n")
    value: Any = await client.fetch_value("SELECT 1")
    tag: str = await client.execute("SELECT 1")
    doc: Dict[str, Any] = await client.run(enrich.Plan.load("plan.json"), user_id=1)
    primary: Any = await client.fetch_value("SELECT 1", use_primary=True)
    shared: List[enrich.Record] = await client.fetch("SELECT 1 AS n", coalesce=True)
    shared_one: Any = client.fetch_value_sync("SELECT 1", coalesce=True)
    batched: Optional[enrich.Record] = await client.fetch_one(
        "SELECT * FROM users WHERE id = $1", 1, batch="bigint")
    body, timings = await client.run_with_timings(enrich.Plan.load("plan.json"), user_id=1)
    total_us: int = timings["total_us"]
    print(rows, one, value, tag, doc, primary, shared, shared_one, batched, body.decode(), total_us)
    try:
        await client.execute("INSERT INTO t VALUES (1)")
    except enrich.UniqueViolationError as e:
        fields: List[str] = [e.sqlstate, e.table_name, e.constraint_name, e.detail, e.severity]
        print(fields, e.retriable)
    except enrich.QueryError as e:
        print(e.sqlstate, e.position, e.context)
    stats: Dict[str, Any] = client.stats()
    print(stats)
    await client.aclose()


def routes(app: FastAPI, client: enrich.Client, plan: enrich.Plan) -> None:
    @plan_route(app, "/users/{user_id}", client=client, plan=lambda: plan, not_found="User not found",
                timeout=1.5, tags=["users"])
    def get_user(user_id: int, include_analytics: bool = False) -> None:
        """Declares the route's inputs."""

    status, detail = error_status(enrich.NotFoundError("x"))
    print(get_user.__name__, status + 1, detail.upper())


def main() -> None:
    client = enrich.Client(
        "postgresql://localhost/db?statement_cache=off", max_connections=4, acquire_timeout=2.0, http2=False
    )
    options: Dict[str, Any] = client.options()
    print(options["acquire_timeout"], enrich.OPTIONS["acquire_timeout"]["default"])
    asyncio.run(queries(client))
