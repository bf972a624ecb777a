"""Queries, parameters, value decoding (against asyncpg), transactions, HTTP, plans, sync calls
and logging."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import ipaddress
import json
import logging
import math
import threading
import time
import uuid

import asyncpg
import pytest

import enrich
from conftest import (FIXTURE_DSN, ORIGINAL_FIXTURE_DSN, ORIGINAL_TEST_DSN, PLAN_PATH, TEST_DSN,
                      eventually_sync, run, wait_settled)

TYPES_SQL = r"""
SELECT 1::int2 AS i2, 2::int4 AS i4, 9007199254740993::int8 AS i8, -5::int8 AS neg,
       3.1::float4 AS f4, 0.1::float8 AS f8, 1e300::float8 AS fbig, 'Infinity'::float8 AS finf,
       '-Infinity'::float4 AS f4ninf,
       12345.6789::numeric AS num, 0.000001::numeric(20,10) AS numsmall, 'NaN'::numeric AS numnan,
       -1e30::numeric AS numbig,
       'héllo ☕ "q" \ x'::text AS t, 'x'::varchar(3) AS vc, 'ab'::char(4) AS bpc,
       'pg_class'::name AS nm, true AS b, false AS bf, '\x00ff10'::bytea AS by, ''::bytea AS byempty,
       '2024-03-05'::date AS d, 'infinity'::date AS dinf, '-infinity'::date AS dninf,
       '0001-01-01'::date AS dmin,
       '2024-03-05 06:07:08.570001'::timestamp AS ts, '2024-03-05 06:07:08'::timestamp AS ts0,
       '2024-03-05 06:07:08.57+02'::timestamptz AS tstz, 'infinity'::timestamptz AS tsinf,
       '-infinity'::timestamp AS tsninf, '1999-12-31 23:59:59.999999+00'::timestamptz AS tsedge,
       '06:07:08.5'::time AS tm, '06:07:08+05:30'::timetz AS tmtz,
       '23:59:59.999999-03:30'::timetz AS tmtzneg, '2024-03-01 00:30:00+01'::timestamptz AS tstzday,
       '[0:1]={7,8}'::int4[] AS abounds, ARRAY['12:00:00+02'::timetz] AS atmtz,
       '1 year 2 mons 3 days 04:05:06.7'::interval AS iv, '-1 day -00:00:01'::interval AS ivneg,
       '-14 mons'::interval AS ivmon, '00:00:00'::interval AS ivzero,
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u,
       '{"a": [1, 2.5, null], "é": "x"}'::json AS j, '{"b": {"c": "é"}, "a": 1}'::jsonb AS jb,
       ARRAY[1,2,NULL]::int4[] AS ai,
       ARRAY['a','b c','"q"','NULL',NULL,'x\y','{}',',',''] ::text[] AS at,
       '{{1,2},{3,4}}'::int8[] AS a2, ARRAY[1.5, NULL]::numeric[] AS an,
       ARRAY['2024-01-01 00:00:00+00'::timestamptz] AS ats, '{}'::int4[] AS aempty,
       ARRAY[true, false] AS ab, ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid] AS au,
       ARRAY['{"k": 1}'::jsonb] AS ajb, ARRAY[3.1::float4] AS af4, ARRAY['2024-01-02'::date] AS ad,
       ARRAY['\x01'::bytea] AS aby,
       '192.168.0.1/24'::inet AS inet1, '10.0.0.1'::inet AS inet2, '::1'::inet AS inet6,
       '10.0.0.0/8'::cidr AS cidr1,
       NULL::int4 AS nul, NULL::text AS nult, 42::oid AS o
"""


def same(a, b) -> bool:
    """asyncpg's value and enrich's are the same value of the same kind."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, uuid.UUID):  # asyncpg has its own UUID class
        return isinstance(b, uuid.UUID) and str(a) == str(b)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, decimal.Decimal) and a.is_nan():
        return isinstance(b, decimal.Decimal) and b.is_nan()
    if type(a) is not type(b):
        return False
    if isinstance(a, (dt.datetime, dt.time)):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


def assert_rows_equal(expected: dict, got: dict, where: str = "") -> None:
    assert list(expected.keys()) == list(got.keys()), where
    bad = {k: (expected[k], got[k]) for k in expected if not same(expected[k], got[k])}
    assert not bad, f"{where}: asyncpg vs enrich differ: {bad}"


def test_basic_calls():
    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            assert await c.fetch_value("SELECT 1") == 1
            assert await c.fetch_value("SELECT count(*) FROM users") == 2000
            assert await c.fetch_value("SELECT 1 WHERE false") is None
            assert await c.fetch_one("SELECT 1 AS a WHERE false") is None
            assert await c.fetch("SELECT 1 AS a WHERE false") == []
            row = await c.fetch_one("SELECT id, name FROM users WHERE id = $1", 7)
            assert row["id"] == 7 and isinstance(row["name"], str)
            rows = await c.fetch("SELECT g AS n, g * 2 AS d FROM generate_series(1, $1::int) g", 3)
            assert rows == [{"n": 1, "d": 2}, {"n": 2, "d": 4}, {"n": 3, "d": 6}]
            assert await c.execute("SELECT 1") == "SELECT 1"
            assert await c.fetch_value("SELECT $1::text", None) is None
            assert await c.fetch_one("SELECT 1 AS a, 2 AS a") == {"a": 2}  # last one wins
            await wait_settled(c)

    run(main)


def test_values_decode_like_asyncpg():
    async def main():
        conn = await asyncpg.connect(ORIGINAL_TEST_DSN)
        try:
            expected = dict(await conn.fetchrow(TYPES_SQL))
        finally:
            await conn.close()
        async with enrich.Client(TEST_DSN) as c:
            got = await c.fetch_one(TYPES_SQL)
            assert_rows_equal(expected, got, "types")
            assert got["tstz"].tzinfo is dt.timezone.utc
            assert got["f4"] == 3.0999999046325684
            assert got["j"] == '{"a": [1, 2.5, null], "é": "x"}'
            for column in ("i8", "num", "tstz", "u", "ai", "at", "inet1"):
                assert same(expected[column], await c.fetch_value(TYPES_SQL.replace(
                    "SELECT", f"SELECT {column} FROM (SELECT", 1) + ") s")), column

    run(main)


def test_fixture_tables_decode_like_asyncpg():
    """Every column of the article's tables (users 1..2000, their preferences and activity)."""
    queries = [
        "SELECT * FROM users ORDER BY id",
        "SELECT * FROM user_preferences ORDER BY user_id",
        "SELECT * FROM activity_log WHERE user_id < 300 ORDER BY id",
    ]

    async def main():
        conn = await asyncpg.connect(ORIGINAL_FIXTURE_DSN)
        try:
            expected = [[dict(r) for r in await conn.fetch(q)] for q in queries]
        finally:
            await conn.close()
        async with enrich.Client(FIXTURE_DSN) as c:
            got = await asyncio.gather(*(c.fetch(q) for q in queries))
        for q, exp, rows in zip(queries, expected, got):
            assert len(exp) == len(rows) > 0, q
            for e, g in zip(exp, rows):
                assert_rows_equal(e, g, q)

    run(main)


def test_parameters_round_trip():
    values = [
        (None, "int8", None),
        (True, "bool", True),
        (False, "bool", False),
        (2**62, "int8", 2**62),
        (-7, "int4", -7),
        (2**70, "numeric", decimal.Decimal(2**70)),
        (1.5, "float8", 1.5),
        (0.1, "float8", 0.1),
        (float("inf"), "float8", float("inf")),
        (decimal.Decimal("12345.678901234567890123"), "numeric", decimal.Decimal("12345.678901234567890123")),
        (decimal.Decimal("NaN"), "numeric", decimal.Decimal("NaN")),
        ("héllo \\ 'x' \"y\"", "text", "héllo \\ 'x' \"y\""),
        (b"\x00\xffabc", "bytea", b"\x00\xffabc"),
        (bytearray(b"\x01\x02"), "bytea", b"\x01\x02"),
        (memoryview(b"mv"), "bytea", b"mv"),
        (dt.date(2024, 2, 29), "date", dt.date(2024, 2, 29)),
        (dt.datetime(2024, 3, 5, 6, 7, 8, 570001), "timestamp", dt.datetime(2024, 3, 5, 6, 7, 8, 570001)),
        (
            dt.datetime(2024, 3, 5, 8, 7, 8, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "timestamptz",
            dt.datetime(2024, 3, 5, 6, 7, 8, 5, tzinfo=dt.timezone.utc),
        ),
        (dt.time(6, 7, 8, 500000), "time", dt.time(6, 7, 8, 500000)),
        (dt.timedelta(days=3, seconds=5, microseconds=7), "interval", dt.timedelta(days=3, seconds=5, microseconds=7)),
        (uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
        ([1, None, 3], "int4[]", [1, None, 3]),
        (["a", 'b "c"', "NULL", None, "x\\y", ""], "text[]", ["a", 'b "c"', "NULL", None, "x\\y", ""]),
        ([[1, 2], [3, 4]], "int8[]", [[1, 2], [3, 4]]),
        ({"k": [1, "é", None]}, "jsonb", '{"k": [1, "é", null]}'),
        (ipaddress.ip_address("10.1.2.3"), "inet", ipaddress.ip_address("10.1.2.3")),
    ]

    async def main():
        async with enrich.Client(TEST_DSN) as c:
            for value, pgtype, expected in values:
                got = await c.fetch_value(f"SELECT $1::{pgtype}", value)
                assert same(expected, got), (value, pgtype, got)
            sql = "SELECT " + ", ".join(f"${i + 1}::{t} AS c{i}" for i, (_, t, _) in enumerate(values))
            row = await c.fetch_one(sql, *[v for v, _, _ in values])
            for i, (_, _, expected) in enumerate(values):
                assert same(expected, row[f"c{i}"]), i
            ids = await c.fetch("SELECT id FROM unnest($1::bigint[]) AS t(id) ORDER BY id", [3, 1, 2])
            assert [r["id"] for r in ids] == [1, 2, 3]
            with pytest.raises(enrich.InvalidArgumentError, match=r"\$1"):
                await c.fetch_value("SELECT $1::text", object())
            with pytest.raises(enrich.InvalidArgumentError, match="NUL"):
                await c.fetch_value("SELECT $1::text", "a\x00b")

    run(main)


def test_transactions():
    table = f"py_tx_{uuid.uuid4().hex[:8]}"

    async def main():
        async with enrich.Client(TEST_DSN) as c:
            await c.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
            try:
                async with c.transaction() as tx:
                    assert await tx.execute(f"INSERT INTO {table} VALUES ($1, $2)", 1, "a") == "INSERT 0 1"
                    assert await tx.fetch_value(f"SELECT v FROM {table} WHERE id = 1") == "a"
                    # Not visible outside until committed.
                    assert await c.fetch_value(f"SELECT count(*) FROM {table}") == 0
                assert await c.fetch_value(f"SELECT count(*) FROM {table}") == 1

                with pytest.raises(RuntimeError):
                    async with c.transaction() as tx:
                        await tx.execute(f"INSERT INTO {table} VALUES (2, 'b')")
                        raise RuntimeError("boom")
                assert await c.fetch_value(f"SELECT count(*) FROM {table}") == 1

                with pytest.raises(enrich.QueryError) as e:
                    async with c.transaction() as tx:
                        await tx.execute(f"INSERT INTO {table} VALUES (1, 'dup')")
                assert e.value.sqlstate == "23505"

                tx = await c.transaction().start()
                await tx.execute(f"INSERT INTO {table} VALUES (3, 'c')")
                await tx.rollback()
                with pytest.raises(enrich.ClosedError):
                    await tx.fetch("SELECT 1")
                with pytest.raises(enrich.ClosedError):
                    await tx.commit()
                tx = await c.transaction().start()
                await tx.execute(f"INSERT INTO {table} VALUES (4, 'd')")
                await tx.commit()
                assert [r["id"] for r in await c.fetch(f"SELECT id FROM {table} ORDER BY id")] == [1, 4]
                await wait_settled(c)
            finally:
                await c.execute(f"DROP TABLE {table}")

    run(main)


def test_sync_calls_release_the_gil():
    table = f"py_sync_{uuid.uuid4().hex[:8]}"
    with enrich.Client(TEST_DSN) as c:
        assert c.fetch_value_sync("SELECT 41 + $1::int", 1) == 42
        assert c.fetch_one_sync("SELECT 1 AS a") == {"a": 1}
        assert c.fetch_sync("SELECT 1 AS a") == [{"a": 1}]
        c.execute_sync(f"CREATE TABLE {table} (id int)")
        try:
            with c.transaction_sync() as tx:
                tx.execute(f"INSERT INTO {table} VALUES (1)")
            with pytest.raises(ZeroDivisionError):
                with c.transaction_sync() as tx:
                    tx.execute(f"INSERT INTO {table} VALUES (2)")
                    1 / 0
            assert c.fetch_value_sync(f"SELECT count(*) FROM {table}") == 1
        finally:
            c.execute_sync(f"DROP TABLE {table}")
        with pytest.raises(enrich.QueryError):
            c.fetch_sync("SELEC 1")

        # While a thread waits for a slow query, this thread keeps running Python.
        result = []
        t = threading.Thread(target=lambda: result.append(c.fetch_value_sync("SELECT pg_sleep(0.8)::text")))
        t.start()
        eventually_sync(lambda: c.stats()["in_flight"] == 1, "the slow query is in flight")
        spins, end = 0, time.monotonic() + 0.3
        while time.monotonic() < end:
            spins += 1
        assert t.is_alive() and spins > 10000
        t.join()
        assert result == [""]

        # Sync calls from many threads at once.
        out = []

        def worker(i: int) -> None:
            out.append(c.fetch_value_sync("SELECT $1::int * 2", i))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(out) == [i * 2 for i in range(16)]


def test_http(healthy_stub):
    url = healthy_stub.url

    async def main():
        async with enrich.Client(TEST_DSN) as c:
            t0 = time.monotonic()
            r = await c.http_get(f"{url}/users/42/summary")
            wall_ms = (time.monotonic() - t0) * 1000
            assert r.status_code == 200 and r.is_success
            assert r.json() == healthy_stub.summary(42)
            assert r.headers["content-type"].startswith("application/json")
            assert 0 <= r.elapsed_ms <= wall_ms + 1, (r.elapsed_ms, wall_ms)  # whole ms, within the call
            r = await c.http_request(
                "POST", f"{url}/echo", json={"a": 1}, headers={"X-Test": "yes"}, timeout=2
            )
            assert r.status_code == 200 and r.json() == {"a": 1}
            assert r.headers["x-echo-method"] == "POST" and r.headers["x-echo-test"] == "yes"
            r = await c.http_request("PUT", f"{url}/echo", body=b"\x00raw")
            assert r.content == b"\x00raw"
            healthy_stub.control("error")
            r = await c.http_get(f"{url}/users/1/summary", retry=False)
            assert r.status_code == 500 and not r.is_success
            with pytest.raises(enrich.HttpError):
                r.raise_for_status()
            healthy_stub.control("healthy")
        with enrich.Client(TEST_DSN) as c:
            r = c.http_get_sync(f"{url}/health")
            assert r.json() == {"status": "ok"}

    run(main)


def test_plans(healthy_stub):
    variables = {"ANALYTICS_URL": healthy_stub.url}
    plan = enrich.Plan.load(PLAN_PATH, variables=variables)
    assert plan.name == "user_enriched_python"
    with open(PLAN_PATH) as f:
        as_dict = json.load(f)
    plan2 = enrich.Plan.from_dict(as_dict, variables=variables)
    assert plan2.name == plan.name

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            doc = await c.run(plan, user_id=5, include_analytics=True)
            assert list(doc) == ["user", "preferences", "recent_activity", "analytics", "meta"]
            assert doc["user"]["id"] == 5
            assert doc["analytics"] == healthy_stub.summary(5)
            assert isinstance(doc["meta"]["processing_time_ms"], (int, float))
            raw = await c.run_json(plan2, {"user_id": 5})
            assert isinstance(raw, bytes) and json.loads(raw)["analytics"] is None
            # Another profile for the same plan: node spells timestamps with milliseconds and Z.
            node = await c.run(plan, user_id=5, profile="node")
            assert node["user"]["created_at"].endswith("Z")
            assert isinstance(node["user"]["id"], str)  # int8 as a string in the node profile
            # Inputs given as strings are accepted when they spell the type (path parameters).
            assert (await c.run(plan, user_id="5"))["user"]["id"] == 5
            with pytest.raises(enrich.NotFoundError):
                await c.run_json(plan, user_id=99999)
            with pytest.raises(enrich.InvalidArgumentError, match="user_id"):
                await c.run_json(plan, user_id="abc")
            with pytest.raises(enrich.InvalidArgumentError):
                await c.run_json(plan, user_id=1, profile="yaml")
        with enrich.Client(FIXTURE_DSN) as c:
            assert c.run_sync(plan, user_id=6)["user"]["id"] == 6
            assert json.loads(c.run_json_sync(plan, user_id=6))["user"]["id"] == 6

    run(main)


def test_core_log_events_reach_logging(caplog, healthy_stub):
    caplog.set_level(logging.WARNING, logger="enrich")
    healthy_stub.control("error")
    plan = enrich.Plan.load(PLAN_PATH, variables={"ANALYTICS_URL": healthy_stub.url})

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            doc = await c.run(plan, user_id=3, include_analytics=True)
            assert doc["analytics"] is None  # optional step failed -> null, and a warning

    run(main)
    healthy_stub.control("healthy")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [r for r in caplog.records if r.name == "enrich"]
        if any(getattr(r, "enrich_event", "") == "plan.optional_step_failed" for r in records):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no plan.optional_step_failed record: {caplog.records}")
    record = next(r for r in records if r.enrich_event == "plan.optional_step_failed")
    assert record.levelno == logging.WARNING
    assert isinstance(record.enrich_fields, dict)
    assert "plan.optional_step_failed" in record.getMessage()


def test_client_options():
    with pytest.raises(enrich.InvalidArgumentError, match=r"unknown option 'max_conections' \(valid options: dsn, replica_dsns, io_threads, "):
        enrich.Client(TEST_DSN, max_conections=3)
    with pytest.raises(enrich.InvalidArgumentError, match="unknown option 'acquire_timeout_ms'"):
        enrich.Client(TEST_DSN, acquire_timeout_ms=2000)  # seconds in Python: acquire_timeout=2.0
    with pytest.raises(enrich.InvalidArgumentError, match="max_connections must be a non-negative integer"):
        enrich.Client(TEST_DSN, max_connections=-1)
    with pytest.raises(enrich.InvalidArgumentError, match="acquire_timeout must be a positive duration"):
        enrich.Client(TEST_DSN, acquire_timeout=0)
    with pytest.raises(enrich.InvalidArgumentError, match="number of seconds"):
        enrich.Client(TEST_DSN, acquire_timeout="2s")
    with pytest.raises(enrich.InvalidArgumentError, match="http2 must be True or False"):
        enrich.Client(TEST_DSN, http2=1)
    with pytest.raises(enrich.InvalidArgumentError):
        enrich.Client(TEST_DSN, log_level="loud")
    c = enrich.Client(
        TEST_DSN,
        io_threads=2,
        max_connections=3,
        min_connections=1,
        max_pipeline_depth=8,
        acquire_timeout=2.0,
        query_timeout=5,
        prepared_statements=False,
        http_timeout=0.25,
        health_check_interval=0.0101,  # rounded up to whole milliseconds
        http2=False,
        retry_max_attempts=5,
        breaker=False,
        log_level="error",
    )
    try:
        assert c.fetch_value_sync("SELECT 7") == 7
        assert not c.closed
        o = c.options()
        assert o["acquire_timeout"] == 2.0 and o["query_timeout"] == 5.0
        assert o["http_timeout"] == 0.25 and o["health_check_interval"] == 0.011
        assert o["http2"] is False and o["retry_max_attempts"] == 5 and o["io_threads"] == 2
        assert o["log_level"] == "error"
        assert ":enrich@" not in o["dsn"], "the password is redacted"
    finally:
        c.close()
    assert c.closed
    c.close()  # idempotent


def test_every_core_option_can_be_set_from_python():
    """enrich.OPTIONS is the core's list: each option, set to something other than its default
    (durations in seconds), is what the client runs with."""
    assert {"health_check_interval", "http2", "http_max_total_connections", "retry_max_attempts"} <= set(enrich.OPTIONS)
    wanted: dict = {}
    for name, info in enrich.OPTIONS.items():
        kind, default = info["type"], info["default"]
        if name == "dsn":
            continue
        if kind == "count":
            wanted[name] = default + 1
        elif kind == "duration":
            wanted[name] = 1.5 if default is None else default + 1.0
        elif kind == "boolean":
            wanted[name] = not default
        elif kind == "ratio":
            wanted[name] = 0.5
        elif kind == "log_level":
            wanted[name] = "error"
        elif kind == "text":
            wanted[name] = "ua-test/1"
        elif kind == "text_list":  # a replica nothing listens on: the client still starts
            wanted[name] = ["postgresql://127.0.0.1:1/nothing"]
        else:
            raise AssertionError(f"no test value for {name} ({kind})")
    with enrich.Client(TEST_DSN, **wanted) as c:
        got = c.options()
        assert {k: got[k] for k in wanted} == wanted
        assert c.fetch_value_sync("SELECT 1") == 1


def test_timeout_none_is_the_default_and_zero_is_rejected():
    async def main():
        async with enrich.Client(TEST_DSN) as c:
            assert await c.fetch_value("SELECT 1", timeout=None) == 1
            for bad in (0, -1, 0.0, float("nan"), float("inf"), True):
                with pytest.raises(enrich.InvalidArgumentError, match="timeout"):
                    await c.fetch_value("SELECT 1", timeout=bad)
                with pytest.raises(enrich.InvalidArgumentError, match="timeout"):
                    await c.http_get("http://127.0.0.1:1/", timeout=bad)
                with pytest.raises(enrich.InvalidArgumentError, match="timeout"):
                    c.transaction(timeout=bad)
            with pytest.raises(enrich.InvalidArgumentError, match="timeout"):
                c.fetch_value_sync("SELECT 1", timeout=0)
            assert c.fetch_value_sync("SELECT 2", timeout=None) == 2

    run(main)


def test_docs_list_every_option():
    """docs/options.md documents the core's list: every option, with its Node name."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "options.md").read_text()
    for name, info in enrich.OPTIONS.items():
        node = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name) + ("Ms" if info["type"] == "duration" else "")
        assert f"| `{name}` | `{node}` | {info['type']} |" in text, name


def test_plan_inputs_reach_the_core_exactly():
    """Scalar inputs (the fast path of their JSON) and others (the encoder) arrive as given:
    quotes, backslashes, control characters, astral characters, int64's ends, booleans, null."""
    plan = enrich.Plan.from_dict({
        "name": "echo", "profile": "python",
        "inputs": {"s": {"type": "string"}, "n": {"type": "integer"}, "b": {"type": "boolean"},
                   "x": {"type": "number", "default": 0}},
        "steps": [{"name": "row", "sql": "SELECT $1::text AS s, $2::int8 AS n, $3::bool AS b, $4::float8 AS x",
                   "params": ["s", "n", "b", "x"], "shape": "one"}],
    })
    cases = [("plain", 1, True, 0), ('q"uo\\te', -2**63, False, 0), ("\x01\x1f\t\n é ✓ \U0001F600", 2**63 - 1, True, 0),
             ("", 0, False, 2.5)]

    async def main():
        async with enrich.Client(TEST_DSN, max_connections=1) as c:
            out = []
            for s, n, b, x in cases:
                inputs = {"s": s, "n": n, "b": b} if x == 0 else {"s": s, "n": n, "b": b, "x": x}
                out.append(json.loads(await c.run_json(plan, inputs))["row"])
            return out

    assert run(main) == [{"s": s, "n": n, "b": b, "x": float(x)} for s, n, b, x in cases]
