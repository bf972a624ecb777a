"""Every error class, raised where it should be."""

from __future__ import annotations

import asyncio
import builtins
import pickle

import pytest

import enrich
from conftest import DEAD_DSN, FIXTURE_DSN, PLAN_PATH, TEST_DSN, run, wait_settled


def test_hierarchy():
    assert issubclass(enrich.TimeoutError, builtins.TimeoutError)
    assert issubclass(enrich.PoolTimeout, enrich.TimeoutError)
    assert issubclass(enrich.PoolTimeout, builtins.TimeoutError)
    assert issubclass(enrich.ConnectionError, builtins.ConnectionError)
    assert issubclass(enrich.InvalidArgument, ValueError)
    assert issubclass(enrich.NotFound, LookupError)
    assert issubclass(enrich.CircuitOpen, enrich.HttpError)
    for cls in (enrich.QueryError, enrich.PoolQueueFull, enrich.Cancelled, enrich.Closed,
                enrich.HttpError, enrich.InternalError, enrich.OutOfMemory):
        assert issubclass(cls, enrich.Error)
    e = enrich.QueryError("boom", sqlstate="23505", detail="d", hint="h", retriable=False)
    assert str(e) == "query: boom [SQLSTATE 23505]" and e.code == "query" and e.status == 6
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is enrich.QueryError and again.sqlstate == "23505" and again.detail == "d"
    t = enrich.TimeoutError("slow")
    assert isinstance(t, builtins.TimeoutError) and str(t) == "timeout: slow"


def test_query_errors_carry_the_server_fields():
    async def main():
        async with enrich.Client(TEST_DSN) as c:
            with pytest.raises(enrich.QueryError) as e:
                await c.fetch("SELEC 1")
            assert e.value.sqlstate == "42601" and "SELEC" in e.value.message
            assert not e.value.retriable
            with pytest.raises(enrich.QueryError) as e:
                await c.fetch_value("SELECT no_such_function(1)")
            assert e.value.sqlstate == "42883" and e.value.hint
            with pytest.raises(enrich.QueryError) as e:
                await c.fetch_value("SELECT 1 / 0")
            assert e.value.sqlstate == "22012"
            with pytest.raises(enrich.QueryError) as e:
                await c.execute("DO $$ BEGIN RAISE EXCEPTION 'nope' USING DETAIL = 'the detail', "
                                "HINT = 'the hint', ERRCODE = '23505'; END $$")
            assert (e.value.sqlstate, e.value.detail, e.value.hint) == ("23505", "the detail", "the hint")
            # The connection is fine afterwards.
            assert await c.fetch_value("SELECT 1") == 1
            await wait_settled(c)

    run(main)


def test_not_found_and_invalid_argument():
    plan = enrich.Plan.load(PLAN_PATH)

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            with pytest.raises(enrich.NotFound):
                await c.run_json(plan, user_id=2001)  # ids above 2000 do not exist
            with pytest.raises(enrich.InvalidArgument, match="user_id"):
                await c.run(plan)  # a required input is missing
            with pytest.raises(enrich.InvalidArgument):
                await c.run(plan, user_id=1, include_analytics="maybe")
            with pytest.raises(enrich.InvalidArgument):
                await c.fetch_value("SELECT $1::text", {1, 2})
            with pytest.raises(enrich.InvalidArgument):
                await c.fetch_value("SELECT 1", timeout=-1)

    run(main)
    with pytest.raises(enrich.InvalidArgument):
        enrich.Plan.from_dict({"name": "x", "steps": [{"name": "a", "kind": "nope"}]})
    with pytest.raises(enrich.InvalidArgument):
        enrich.Plan.from_json("{not json")
    with pytest.raises(enrich.Error):
        enrich.Plan.load("/nonexistent/plan.json")
    with pytest.raises(enrich.InvalidArgument):
        enrich.Client(TEST_DSN, no_such_option=1)


def test_timeouts_are_builtin_timeouts():
    async def main():
        async with enrich.Client(TEST_DSN) as c:
            with pytest.raises(TimeoutError) as e:  # the builtin
                await c.fetch_value("SELECT pg_sleep(5)", timeout=0.2)
            assert isinstance(e.value, enrich.TimeoutError) and e.value.retriable
            assert await c.fetch_value("SELECT 2") == 2
            await wait_settled(c)

    run(main)


def test_pool_timeout_and_queue_full():
    async def main():
        async with enrich.Client(TEST_DSN, max_connections=1, acquire_timeout_ms=300, max_waiting=1) as c:
            tx = await c.transaction().start()  # holds the only connection
            waiting = asyncio.ensure_future(c.fetch_value("SELECT 1"))
            await asyncio.sleep(0.02)
            with pytest.raises(enrich.PoolQueueFull):
                await c.fetch_value("SELECT 2")
            with pytest.raises(enrich.PoolTimeout) as e:
                await waiting
            assert isinstance(e.value, TimeoutError)
            await tx.rollback()
            assert await c.fetch_value("SELECT 3") == 3
            await wait_settled(c)

    run(main)


def test_connection_error_on_a_dead_database():
    async def main():
        async with enrich.Client(DEAD_DSN, acquire_timeout_ms=3000) as c:
            with pytest.raises(ConnectionError) as e:  # the builtin
                await c.fetch_value("SELECT 1")
            assert isinstance(e.value, enrich.ConnectionError) and e.value.retriable

    run(main)
    with enrich.Client(DEAD_DSN) as c:
        with pytest.raises(enrich.ConnectionError):
            c.fetch_value_sync("SELECT 1")


def test_http_errors(stub):
    url = f"{stub.url}/users/1/summary"

    async def main():
        async with enrich.Client(TEST_DSN, http_max_response_bytes=1000, breaker=False) as c:
            stub.control("redirect")
            with pytest.raises(enrich.HttpError):
                await c.http_get(url, retry=False)
            stub.control("big")
            with pytest.raises(enrich.HttpError, match="exceeds"):
                await c.http_get(url, retry=False)
            stub.control("hang")
            with pytest.raises(enrich.TimeoutError):
                await c.http_get(url, timeout=0.2, retry=False)
            stub.control("close")
            with pytest.raises(enrich.ConnectionError):  # transport failure
                await c.http_get(url, retry=False)
            with pytest.raises(enrich.ConnectionError):
                await c.http_get("http://127.0.0.1:1/", retry=False)
        async with enrich.Client(TEST_DSN, breaker_failure_threshold=2, breaker_cool_down_ms=60000) as c:
            stub.control("close")
            for _ in range(2):
                with pytest.raises(enrich.ConnectionError):
                    await c.http_get(url, retry=False)
            with pytest.raises(enrich.CircuitOpen):
                await c.http_get(url, retry=False)
            with pytest.raises(enrich.HttpError):  # CircuitOpen is an HttpError
                await c.http_get(url, retry=False)
        stub.control("healthy")

    try:
        run(main)
    finally:
        stub.control("healthy")


def test_closed_and_cancelled():
    async def main():
        c = enrich.Client(TEST_DSN)
        slow = asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.2)
        await c.aclose()  # cancels what is in flight
        with pytest.raises(enrich.Cancelled):
            await slow
        with pytest.raises(enrich.Closed):
            await c.fetch_value("SELECT 1")
        with pytest.raises(enrich.Closed):
            c.stats()
        with pytest.raises(enrich.Closed):
            c.fetch_value_sync("SELECT 1")

    run(main)
