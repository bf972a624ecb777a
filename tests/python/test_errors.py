"""Every error class, raised where it should be."""

from __future__ import annotations

import asyncio
import builtins
import os
import pickle

import pytest

import enrich
from conftest import (DEAD_DSN, FIXTURE_DSN, PLAN_PATH, TEST_DSN, eventually, run, statement_marker,
                      wait_running, wait_settled)


def test_hierarchy():
    assert issubclass(enrich.OperationTimeoutError, builtins.TimeoutError)
    assert issubclass(enrich.PoolTimeoutError, enrich.OperationTimeoutError)
    assert issubclass(enrich.PoolTimeoutError, builtins.TimeoutError)
    assert issubclass(enrich.ConnectionFailedError, builtins.ConnectionError)
    assert issubclass(enrich.InvalidArgumentError, ValueError)
    assert issubclass(enrich.NotFoundError, LookupError)
    assert issubclass(enrich.OutOfMemoryError, MemoryError)
    assert issubclass(enrich.CircuitOpenError, enrich.HttpError)
    for cls in (enrich.QueryError, enrich.PoolQueueFullError, enrich.OperationCancelledError,
                enrich.ClosedError, enrich.HttpError, enrich.InternalError, enrich.OutOfMemoryError):
        assert issubclass(cls, enrich.Error)
    # PEP 8 names, and none shadows a builtin (nor asyncio's CancelledError).
    for name in enrich._errors.__all__:
        assert name == "Error" or name.endswith("Error"), name
        assert not hasattr(builtins, name), name
    assert not hasattr(enrich, "CancelledError")
    e = enrich.QueryError("boom", sqlstate="23505", detail="d", hint="h", retriable=False,
                          table_name="t", constraint_name="t_pkey")
    assert str(e) == "query: boom [SQLSTATE 23505]" and e.code == "query" and e.status == 6
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is enrich.QueryError and again.sqlstate == "23505" and again.detail == "d"
    assert (again.table_name, again.constraint_name, again.column_name) == ("t", "t_pkey", "")
    t = enrich.OperationTimeoutError("slow")
    assert isinstance(t, builtins.TimeoutError) and str(t) == "timeout: slow"


def test_query_errors_carry_the_server_fields():
    async def main():
        async with enrich.Client(TEST_DSN) as c:
            with pytest.raises(enrich.PostgresSyntaxError) as e:
                await c.fetch("SELEC 1")
            assert e.value.sqlstate == "42601" and "SELEC" in e.value.message
            assert (e.value.severity, e.value.position) == ("ERROR", "1")
            assert not e.value.retriable
            with pytest.raises(enrich.QueryError) as e:
                await c.fetch_value("SELECT no_such_function(1)")
            assert e.value.sqlstate == "42883" and e.value.hint
            with pytest.raises(enrich.QueryError) as e:
                await c.fetch_value("SELECT 1 / 0")
            assert e.value.sqlstate == "22012" and type(e.value) is enrich.QueryError
            with pytest.raises(enrich.UniqueViolationError) as e:
                await c.execute("DO $$ BEGIN RAISE EXCEPTION 'nope' USING DETAIL = 'the detail', "
                                "HINT = 'the hint', ERRCODE = '23505'; END $$")
            assert (e.value.sqlstate, e.value.detail, e.value.hint) == ("23505", "the detail", "the hint")
            assert "PL/pgSQL" in e.value.context
            # The connection is fine afterwards.
            assert await c.fetch_value("SELECT 1") == 1
            await wait_settled(c)

    run(main)


def test_common_sqlstates_have_their_own_classes():
    """As in asyncpg: each with the table, column and constraint the server names."""
    table = f"py_err_{os.getpid()}"

    async def main():
        async with enrich.Client(TEST_DSN) as c:
            await c.execute(f"CREATE TABLE {table}_parent (id int PRIMARY KEY)")
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int NOT NULL CHECK (v > 0), "
                            f"p int REFERENCES {table}_parent (id))")
            try:
                await c.execute(f"INSERT INTO {table} VALUES (1, 1, NULL)")
                cases = [
                    (f"INSERT INTO {table} VALUES (1, 1, NULL)", enrich.UniqueViolationError, "23505",
                     {"table_name": table, "constraint_name": f"{table}_pkey", "schema_name": "public"}),
                    (f"INSERT INTO {table} VALUES (2, NULL, NULL)", enrich.NotNullViolationError, "23502",
                     {"table_name": table, "column_name": "v"}),
                    (f"INSERT INTO {table} VALUES (3, -1, NULL)", enrich.CheckViolationError, "23514",
                     {"constraint_name": f"{table}_v_check"}),
                    (f"INSERT INTO {table} VALUES (4, 1, 99)", enrich.ForeignKeyViolationError, "23503",
                     {"constraint_name": f"{table}_p_fkey"}),
                    ("SELECT * FROM no_such_table_py", enrich.UndefinedTableError, "42P01", {"position": "15"}),
                    (f"SELECT no_such_column FROM {table}", enrich.UndefinedColumnError, "42703", {}),
                ]
                for sql, cls, sqlstate, fields in cases:
                    with pytest.raises(cls) as e:
                        await c.execute(sql)
                    assert e.value.sqlstate == sqlstate, sql
                    assert isinstance(e.value, enrich.QueryError)
                    if sqlstate.startswith("23"):
                        assert isinstance(e.value, enrich.IntegrityConstraintViolationError)
                    for name, value in fields.items():
                        assert getattr(e.value, name) == value, (sql, name, getattr(e.value, name))
                for code, cls in (("40001", enrich.SerializationError), ("40P01", enrich.DeadlockDetectedError)):
                    with pytest.raises(cls) as e:
                        await c.execute(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{code}'; END $$")
                    assert e.value.retriable
            finally:
                await c.execute(f"DROP TABLE IF EXISTS {table}")
                await c.execute(f"DROP TABLE IF EXISTS {table}_parent")

    run(main)


def test_not_found_and_invalid_argument():
    plan = enrich.Plan.load(PLAN_PATH)

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            with pytest.raises(enrich.NotFoundError):
                await c.run_json(plan, user_id=2001)  # ids above 2000 do not exist
            with pytest.raises(enrich.InvalidArgumentError, match="user_id"):
                await c.run(plan)  # a required input is missing
            with pytest.raises(enrich.InvalidArgumentError):
                await c.run(plan, user_id=1, include_analytics="maybe")
            with pytest.raises(enrich.InvalidArgumentError):
                await c.fetch_value("SELECT $1::text", {1, 2})
            with pytest.raises(enrich.InvalidArgumentError):
                await c.fetch_value("SELECT 1", timeout=-1)

    run(main)
    with pytest.raises(enrich.InvalidArgumentError):
        enrich.Plan.from_dict({"name": "x", "steps": [{"name": "a", "kind": "nope"}]})
    with pytest.raises(enrich.InvalidArgumentError):
        enrich.Plan.from_json("{not json")
    with pytest.raises(enrich.Error):
        enrich.Plan.load("/nonexistent/plan.json")
    with pytest.raises(enrich.InvalidArgumentError):
        enrich.Client(TEST_DSN, no_such_option=1)


def test_timeouts_are_builtin_timeouts():
    async def main():
        async with enrich.Client(TEST_DSN) as c:
            with pytest.raises(TimeoutError) as e:  # the builtin
                await c.fetch_value("SELECT pg_sleep(5)", timeout=0.2)
            assert isinstance(e.value, enrich.OperationTimeoutError) and e.value.retriable
            assert await c.fetch_value("SELECT 2") == 2
            await wait_settled(c)

    run(main)


def test_pool_timeout_and_queue_full():
    async def main():
        async with enrich.Client(TEST_DSN, max_connections=1, acquire_timeout=0.3, max_waiting=1) as c:
            tx = await c.transaction().start()  # holds the only connection
            waiting = asyncio.ensure_future(c.fetch_value("SELECT 1"))
            await eventually(lambda: c.stats()["waiting"] == 1, "a query waits for the connection")
            with pytest.raises(enrich.PoolQueueFullError):
                await c.fetch_value("SELECT 2")
            with pytest.raises(enrich.PoolTimeoutError) as e:
                await waiting
            assert isinstance(e.value, TimeoutError)
            await tx.rollback()
            assert await c.fetch_value("SELECT 3") == 3
            await wait_settled(c)

    run(main)


def test_connection_error_on_a_dead_database():
    async def main():
        async with enrich.Client(DEAD_DSN, acquire_timeout=0.30) as c:
            with pytest.raises(ConnectionError) as e:  # the builtin
                await c.fetch_value("SELECT 1")
            assert isinstance(e.value, enrich.ConnectionFailedError) and e.value.retriable

    run(main)
    with enrich.Client(DEAD_DSN) as c:
        with pytest.raises(enrich.ConnectionFailedError):
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
            with pytest.raises(enrich.OperationTimeoutError):
                await c.http_get(url, timeout=0.2, retry=False)
            stub.control("close")
            with pytest.raises(enrich.ConnectionFailedError):  # transport failure
                await c.http_get(url, retry=False)
            with pytest.raises(enrich.ConnectionFailedError):
                await c.http_get("http://127.0.0.1:1/", retry=False)
        async with enrich.Client(TEST_DSN, breaker_failure_threshold=2, breaker_cool_down=60.0) as c:
            stub.control("close")
            for _ in range(2):
                with pytest.raises(enrich.ConnectionFailedError):
                    await c.http_get(url, retry=False)
            with pytest.raises(enrich.CircuitOpenError):
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
        marker = statement_marker("py_close")
        slow = asyncio.ensure_future(c.fetch_value(f"SELECT pg_sleep(5) /* {marker} */"))
        await wait_running(marker)
        await c.aclose()  # cancels what is in flight
        with pytest.raises(enrich.OperationCancelledError):
            await slow
        with pytest.raises(enrich.ClosedError):
            await c.fetch_value("SELECT 1")
        with pytest.raises(enrich.ClosedError):
            c.stats()
        with pytest.raises(enrich.ClosedError):
            c.fetch_value_sync("SELECT 1")

    run(main)


def test_http_retries_are_off_unless_asked_for(stub):
    """Retries are opt-in in every function (as in the core): a 503 comes back as it is unless
    the call says retry=True, which then gets the next attempt's 200."""
    url = f"{stub.url}/users/1/summary"

    async def main():
        async with enrich.Client(TEST_DSN, breaker=False, retry_backoff_initial=0.001) as c:
            stub.control("healthy", flaky=1)
            assert (await c.http_get(url)).status == 503
            stub.control("healthy", flaky=1)
            assert (await c.http_request("GET", url)).status == 503
            stub.control("healthy", flaky=1)
            assert (await c.http_get(url, retry=True)).status == 200
        with enrich.Client(TEST_DSN, breaker=False, retry_backoff_initial=0.001) as c:
            stub.control("healthy", flaky=1)
            assert c.http_get_sync(url).status == 503
            stub.control("healthy", flaky=1)
            assert c.http_get_sync(url, retry=True).status == 200

    try:
        run(main)
    finally:
        stub.control("healthy")
