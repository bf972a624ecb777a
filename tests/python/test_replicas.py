"""Read replicas and failover, against real servers started by scripts/pg.

- Routing through the Python binding: ``replica_dsns`` (a list, or DATABASE_REPLICA_URL's string),
  ``use_primary=True`` per call, and the FastAPI example reading DATABASE_REPLICA_URL: its primary
  is given a wrong password, so the endpoint answers only if its reads reach the replica.
- Failover: a primary and a streaming standby of their own (a small cluster on ports of its own,
  made and deleted here with scripts/pg), a multi-host DSN with target_session_attrs=read-write;
  stopping the primary fails in-flight work with a connection error within the connect timeout,
  and after the standby is promoted the same client serves again.

Environment: ENRICH_TEST_DSN, ENRICH_REPLICA_DSN (scripts/test starts the replica), and
ENRICH_PG_PORT (the failover cluster uses ENRICH_PG_PORT + 20 and + 22 unless
ENRICH_FAILOVER_PORT says otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Iterator

import pytest

import enrich

from conftest import EXAMPLES, FIXTURE_DSN, ROOT, TEST_DSN, first_response, free_port, statement_marker, stop

REPLICA_DSN = os.environ.get("ENRICH_REPLICA_DSN", "")
PG = str(ROOT / "scripts" / "pg")


def require_replica() -> str:
    if not REPLICA_DSN:
        pytest.fail("ENRICH_REPLICA_DSN is not set (scripts/test starts the replica; by hand: "
                    "scripts/pg replica-start && eval \"$(scripts/pg replica-env)\")")
    return REPLICA_DSN


async def reaches_replica(client: enrich.Client) -> None:
    """Waits until the client's replica pool has a connection ready (reads go there then)."""
    deadline = time.monotonic() + 10
    while not await client.fetch_value("SELECT pg_is_in_recovery()"):
        if time.monotonic() > deadline:
            raise AssertionError("reads never reached the replica")
        await asyncio.sleep(0.05)


def test_reads_go_to_the_replica_and_use_primary_to_the_primary():
    replica = require_replica()

    async def main():
        # One string of URIs separated by whitespace, as DATABASE_REPLICA_URL gives it.
        async with enrich.Client(TEST_DSN, replica_dsns=f"  {replica}\n") as c:
            listed = c.options()["replica_dsns"]
            assert len(listed) == 1 and ":enrich@" not in listed[0], "one replica, password redacted"
            await reaches_replica(c)
            assert await c.fetch_value("SELECT pg_is_in_recovery()") is True
            assert await c.fetch_value("SELECT pg_is_in_recovery()", use_primary=True) is False
            assert c.fetch_value_sync("SELECT pg_is_in_recovery()") is True
            assert c.fetch_value_sync("SELECT pg_is_in_recovery()", use_primary=True) is False
            async with c.transaction() as tx:
                assert await tx.fetch_value("SELECT pg_is_in_recovery()") is False
            plan = enrich.Plan.from_json(json.dumps({
                "name": "where",
                "steps": [{"name": "r", "sql": "SELECT pg_is_in_recovery() AS r", "shape": "value"}],
            }))
            assert (await c.run(plan))["r"] is True
            assert (await c.run(plan, use_primary=True))["r"] is False
            assert c.run_sync(plan, use_primary=True)["r"] is False
            stats = c.stats()
            assert stats["replica_reads"] >= 3 and stats["replica_connections"] >= 1
            with pytest.raises(enrich.InvalidArgumentError, match="use_primary"):
                await c.fetch_value("SELECT 1", use_primary=1)

    asyncio.run(main())


def test_fastapi_example_reads_from_database_replica_url(healthy_stub):
    """The example's primary refuses it (wrong password): a 200 can only come from the replica."""
    replica = require_replica()
    replica_fixture = replica.rsplit("/", 1)[0] + "/enrich_fixture"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": FIXTURE_DSN.replace(":enrich@", ":wrong-password@"),
        # Two replicas, one of which does not exist: reads use the one that answers.
        "DATABASE_REPLICA_URL": f"postgresql://enrich:enrich@127.0.0.1:1/enrich_fixture {replica_fixture}",
        "ANALYTICS_URL": healthy_stub.url,
        "PORT": str(port),
    }
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "app.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/users/42/enriched?include_analytics=true"
        deadline = time.monotonic() + 20
        while True:  # 503 while the replica's pool connects; then 200 from the replica
            body = first_response(proc, url, "app.py", 20)
            doc = json.loads(body)
            if "user" in doc or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert doc["user"]["id"] == 42, doc
    finally:
        stop(proc, 10)


# ---- failover ----------------------------------------------------------------------------------

FAILOVER_PORT = int(os.environ.get("ENRICH_FAILOVER_PORT")
                    or int(os.environ.get("ENRICH_PG_PORT", "54329")) + 20)


def pg(*args: str) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENRICH_PG_DATA", "ENRICH_PG_SOCKDIR", "ENRICH_PG_REPLICA_PORT")}
    env["ENRICH_PG_PORT"] = str(FAILOVER_PORT)
    subprocess.run([PG, *args], env=env, check=True, timeout=180,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def failover_cluster() -> Iterator[int]:
    """A fresh small primary on FAILOVER_PORT and its standby on FAILOVER_PORT + 2; both deleted
    afterwards, whatever happened."""
    try:
        pg("replica-drop")
        pg("drop")
        pg("start")
        pg("replica-start")
        yield FAILOVER_PORT
    finally:
        pg("replica-drop")
        pg("drop")


def test_failover_to_a_promoted_standby(failover_cluster):
    primary, standby = failover_cluster, failover_cluster + 2
    dsn = (f"host=127.0.0.1,127.0.0.1 port={primary},{standby} user=enrich password=enrich "
           "dbname=enrich target_session_attrs=read-write")
    connect_timeout = 2.0

    async def main():
        async with enrich.Client(dsn, max_connections=2, connect_timeout=connect_timeout,
                                 reconnect_backoff_initial=0.05, reconnect_backoff_max=0.5,
                                 acquire_timeout=connect_timeout) as c, \
                enrich.Client(f"postgresql://enrich:enrich@127.0.0.1:{primary}/enrich") as monitor:
            assert await c.fetch_value("SELECT inet_server_port()") == primary
            await c.execute("CREATE TABLE IF NOT EXISTS failover_t (id int)")

            marker = statement_marker("failover")
            in_flight = asyncio.ensure_future(c.fetch_value(f"SELECT pg_sleep(60) /* {marker} */"))
            running = ("SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' "
                       "AND strpos(query, $1) > 0 AND pid <> pg_backend_pid()")
            deadline = time.monotonic() + 10
            while await monitor.fetch_value(running, marker) != 1:
                assert time.monotonic() < deadline, "the statement never ran"
                await asyncio.sleep(0.02)

            # The primary goes away: the statement fails with a connection error, promptly.
            started = time.monotonic()
            await asyncio.to_thread(pg, "stop")
            with pytest.raises(enrich.ConnectionFailedError):
                await asyncio.wait_for(in_flight, 10)
            # Neither host accepts writes now: new work fails within the connect timeout.
            t0 = time.monotonic()
            with pytest.raises((enrich.ConnectionFailedError, enrich.PoolTimeoutError)):
                await asyncio.wait_for(c.fetch_value("SELECT 1"), 10)
            assert time.monotonic() - t0 < connect_timeout * 2 + 1
            assert time.monotonic() - started < 30

            # The standby is promoted: the same client serves again, without a restart.
            await asyncio.to_thread(pg, "replica-promote")
            deadline = time.monotonic() + 20
            while True:
                try:
                    port = await c.fetch_value("SELECT inet_server_port()")
                    break
                except (enrich.ConnectionFailedError, enrich.PoolTimeoutError):
                    assert time.monotonic() < deadline, "the pool never reached the new primary"
                    await asyncio.sleep(0.1)
            assert port == standby
            # It is the new primary: it takes writes, and sees what the old one had committed.
            assert await c.execute("INSERT INTO failover_t VALUES (1)") == "INSERT 0 1"

    asyncio.run(main())
