"""Single-flight through the Python binding: ``coalesce=True`` on identical concurrent calls
shares one server execution. A sequence the probe function advances counts the executions; the
probe first waits for an advisory lock the test holds, so every call is in flight before any
finishes, and the client's own count of joined calls says when they all are. An error reaches
every caller, and cancelling one task leaves the others their result."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any, Awaitable, Callable

import pytest

import enrich
from conftest import TEST_DSN, eventually, run

AfterRelease = Callable[[], Awaitable[None]]


def joined(client: enrich.Client) -> float:
    for family in client.metrics():
        if family["name"] == "enrich_statements_coalesced_total":
            return float(family["samples"][0]["value"])
    raise AssertionError("no enrich_statements_coalesced_total")


class Probe:
    def __init__(self) -> None:
        suffix = uuid.uuid4().hex[:12]
        self.seq, self.fn = f"py_coalesce_seq_{suffix}", f"py_coalesce_fn_{suffix}"
        self.key = random.getrandbits(62)
        self.sql = f"SELECT {self.fn}($1::int, $2::bool) AS n"


def with_probe(body: Callable[[enrich.Client, Probe], Awaitable[AfterRelease]], expect: int) -> None:
    """Runs `body` while the lock is held, lets the probes run, runs what `body` returned, then
    checks how many times the probe ran on the server."""

    async def main() -> None:
        admin, client, probe = enrich.Client(TEST_DSN), enrich.Client(TEST_DSN), Probe()
        try:
            await admin.execute(f"CREATE SEQUENCE {probe.seq}")
            await admin.execute(
                f"CREATE FUNCTION {probe.fn}(tag int, fail bool) RETURNS bigint LANGUAGE plpgsql "
                f"AS $$ DECLARE n bigint; BEGIN PERFORM pg_advisory_xact_lock_shared({probe.key}); "
                f"n := nextval('{probe.seq}'); IF fail THEN RAISE EXCEPTION 'probe % failed', tag "
                f"USING ERRCODE = '22012'; END IF; RETURN n; END $$")
            async with admin.transaction() as tx:
                await tx.execute("SELECT pg_advisory_xact_lock($1)", probe.key)
                after_release = await body(client, probe)
            await after_release()
            executions = await admin.fetch_value(
                "SELECT coalesce(pg_sequence_last_value($1::regclass), 0)", probe.seq)
            assert executions == expect
        finally:
            await admin.execute(f"DROP FUNCTION IF EXISTS {probe.fn}(int, bool)")
            await admin.execute(f"DROP SEQUENCE IF EXISTS {probe.seq}")
            await client.aclose()
            await admin.aclose()

    run(main)


def test_identical_calls_share_one_execution_and_a_cancelled_caller_leaves_the_others() -> None:
    async def body(client: enrich.Client, probe: Probe) -> AfterRelease:
        tasks = [asyncio.ensure_future(client.fetch_value(probe.sql, 1, False, coalesce=True))
                 for _ in range(6)]
        await eventually(lambda: joined(client) == 5, "every call joined the first one")
        tasks[0].cancel()  # the call that started the execution
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]

        async def after() -> None:
            assert await asyncio.gather(*tasks[1:]) == [1] * 5
        return after

    with_probe(body, expect=1)


def test_an_error_reaches_every_caller() -> None:
    async def body(client: enrich.Client, probe: Probe) -> AfterRelease:
        tasks = [asyncio.ensure_future(client.fetch(probe.sql, 2, True, coalesce=True))
                 for _ in range(4)]
        await eventually(lambda: joined(client) == 3, "every call joined the first one")

        async def after() -> None:
            for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                assert isinstance(outcome, enrich.Error), outcome
                assert outcome.sqlstate == "22012" and "probe 2 failed" in str(outcome)
        return after

    with_probe(body, expect=1)


def test_without_coalesce_every_call_runs() -> None:
    async def body(client: enrich.Client, probe: Probe) -> AfterRelease:
        tasks = [asyncio.ensure_future(client.fetch_value(probe.sql, 3, False)) for _ in range(3)]

        async def after() -> None:
            assert sorted(await asyncio.gather(*tasks)) == [1, 2, 3]
            assert joined(client) == 0
        return after

    with_probe(body, expect=3)


def test_coalesce_is_a_boolean_and_the_sync_calls_take_it() -> None:
    client = enrich.Client(TEST_DSN)
    try:
        assert client.fetch_value_sync("SELECT $1::int", 5, coalesce=True) == 5
        with pytest.raises(enrich.InvalidArgumentError, match="coalesce must be True or False"):
            client.fetch_value_sync("SELECT 1", coalesce=1)  # type: ignore[arg-type]

        async def main() -> Any:
            return await client.fetch_one("SELECT 7 AS n", coalesce=True)
        assert run(main) == {"n": 7}
    finally:
        client.close()
