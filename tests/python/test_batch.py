"""Batching through the Python binding: ``batch="bigint"`` on concurrent calls of one statement
sends them as one statement over their keys, and each call gets exactly the rows it gets alone
(fixture users with NULLs and awkward text, a missing user, a NULL key, duplicates). Calls started
in the same turn of the asyncio loop reach the core's I/O thread together; the client's metrics
say that they were batched. The C++ suite (tests/cpp/batch_test.cpp) covers every column type."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional

import pytest

import enrich
from conftest import FIXTURE_DSN, run

KEYS: List[Optional[int]] = [1, 2, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 0, None, 2, 1994]
ACTIVITY = "SELECT * FROM activity_log WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 10"


def counter(client: enrich.Client, name: str) -> float:
    for family in client.metrics():
        if family["name"] == name:
            return float(family["samples"][0]["value"])
    raise AssertionError(f"no {name}")


def test_batched_calls_get_what_they_get_alone() -> None:
    async def main() -> None:
        async with enrich.Client(FIXTURE_DSN) as client:
            for sql, method in (("SELECT * FROM users WHERE id = $1", "fetch_one"),
                                (ACTIVITY, "fetch")):
                alone = [await getattr(client, method)(sql, k) for k in KEYS]
                # A few rounds at most: the calls of one round must meet in one turn of the
                # I/O thread, which one round nearly always does.
                for _ in range(5):
                    before = counter(client, "enrich_statements_batched_total")
                    batched = await asyncio.gather(
                        *(getattr(client, method)(sql, k, batch="bigint") for k in KEYS))
                    assert batched == alone
                    if counter(client, "enrich_statements_batched_total") > before:
                        break
                else:
                    raise AssertionError("no call was ever batched")
    run(main)


def test_a_failing_key_fails_only_its_own_call() -> None:
    async def main() -> None:
        async with enrich.Client(FIXTURE_DSN) as client:
            sql = "SELECT id, 1 / (id - 2) AS q FROM users WHERE id = $1"
            outcomes = await asyncio.gather(
                *(client.fetch_one(sql, k, batch="bigint") for k in (1, 2, 3)),
                return_exceptions=True)
            assert outcomes[0] == {"id": 1, "q": -1}
            assert isinstance(outcomes[1], enrich.Error) and outcomes[1].sqlstate == "22012"
            assert outcomes[2] == {"id": 3, "q": 1}
    run(main)


def test_batch_is_checked_and_the_sync_calls_take_it() -> None:
    client = enrich.Client(FIXTURE_DSN)
    try:
        assert client.fetch_value_sync("SELECT id FROM users WHERE id = $1", 5, batch="bigint") == 5
        with pytest.raises(enrich.InvalidArgumentError, match="only read"):
            client.execute_sync("UPDATE users SET level = level WHERE id = $1", 1, batch="bigint")
        with pytest.raises(enrich.InvalidArgumentError, match="type name"):
            client.fetch_sync("SELECT $1", 1, batch="int[]")
        with pytest.raises(enrich.InvalidArgumentError, match="batch must be"):
            client.fetch_sync("SELECT $1", 1, batch=True)  # type: ignore[arg-type]

        async def main() -> Any:
            return await client.fetch_one("SELECT id FROM users WHERE id = $1", 7, batch="bigint")
        assert run(main) == {"id": 7}
    finally:
        client.close()
