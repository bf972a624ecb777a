"""The bridge between the core and event loops: many concurrent awaits, cancellation (in flight
and at the moment of completion), closed loops, several loops in several threads, and process
exit with requests in flight. Runs on the default asyncio loop and on uvloop."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import textwrap
import threading
import time
import weakref

import pytest
import uvloop

import enrich
from conftest import (FIXTURE_DSN, PLAN_PATH, TEST_DSN, eventually, python_subprocess, run,
                      statement_marker, wait_running, wait_settled, wait_settled_sync)


class Problems:
    """Collects what must never happen: exceptions reported by loops or as unraisable (an
    InvalidStateError from resolving a cancelled future would land here)."""

    def __init__(self) -> None:
        self.items: list = []
        self._old = None

    def loop_handler(self, loop, context) -> None:
        self.items.append(context.get("exception") or context.get("message"))

    def __enter__(self) -> "Problems":
        self._old = sys.unraisablehook
        sys.unraisablehook = lambda u: self.items.append(u.exc_value)
        return self

    def __exit__(self, *exc) -> None:
        sys.unraisablehook = self._old


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()


def test_ten_thousand_concurrent_awaits(loop_kind):
    n = 10_000

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            t0 = time.monotonic()
            values = await asyncio.gather(*(c.fetch_value("SELECT $1::int", i) for i in range(n)))
            elapsed = time.monotonic() - t0
            assert values == list(range(n))
            rows = await asyncio.gather(
                *(c.fetch_one("SELECT id FROM users WHERE id = $1", 1 + i % 2000) for i in range(n))
            )
            assert [r["id"] for r in rows] == [1 + i % 2000 for i in range(n)]
            bridge = asyncio.get_running_loop()._enrich_bridge
            assert bridge.pending == 0
            assert bridge.stats()["completions"] >= 2 * n
            await wait_settled(c)
            print(f"{loop_kind}: {n} concurrent awaits in {elapsed:.3f} s")

    with Problems() as p:
        run(main, loop_kind)
    assert not p.items


def test_cancel_in_flight(loop_kind):
    async def main():
        async with enrich.Client(TEST_DSN, max_connections=2) as c:
            marker = statement_marker("py_cancel")
            sql = f"SELECT pg_sleep(30) /* {marker} */"
            tasks = [asyncio.ensure_future(c.fetch_value(sql)) for _ in range(20)]
            tasks.append(asyncio.ensure_future(c.run_json(enrich.Plan.load(PLAN_PATH), user_id=1)))
            await wait_running(marker)
            t0 = time.monotonic()
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            s = await wait_settled(c)  # the server-side sleeps were cancelled
            assert time.monotonic() - t0 < 5
            assert s["cancels_sent"] >= 1
            assert await c.fetch_value("SELECT 5") == 5

            # asyncio.wait_for cancels the inner task the same way.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.fetch_value("SELECT pg_sleep(30)"), 0.2)
            await wait_settled(c)

            # A transaction whose start is cancelled while it waits for a connection.
            c2 = enrich.Client(TEST_DSN, max_connections=1)
            try:
                held = await c2.transaction().start()
                waiting = asyncio.ensure_future(c2.transaction().start())
                await eventually(lambda: c2.stats()["waiting"] == 1,
                                 "the second transaction waits for the connection")
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                await held.rollback()
                await wait_settled(c2)
                async with c2.transaction() as tx:  # the connection is usable again
                    assert await tx.fetch_value("SELECT 1") == 1
                await wait_settled(c2)
            finally:
                await c2.aclose()

    with Problems() as p:
        run(main, loop_kind)
    assert not p.items


def test_cancel_at_the_moment_of_completion(loop_kind):
    """Results arrive while the loop thread is busy; tasks are cancelled before, while and after
    their completions are drained. Nothing may raise InvalidStateError or leak a connection."""
    rng = random.Random(5)
    outcomes = {"cancelled": 0, "completed": 0, "tx_cancelled": 0, "tx_completed": 0}

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(problems.loop_handler)
        async with enrich.Client(FIXTURE_DSN, max_connections=4) as c:
            for _ in range(150):
                tasks = [asyncio.ensure_future(c.fetch_value("SELECT $1::int", i)) for i in range(20)]
                txs = [asyncio.ensure_future(c.transaction().start()) for _ in range(2)]
                await asyncio.sleep(0)  # the operations start
                time.sleep(rng.random() * 0.002)  # results arrive, undrained
                for t in tasks + txs:
                    r = rng.random()
                    if r < 0.4:
                        t.cancel()
                    elif r < 0.7:
                        loop.call_soon(t.cancel)  # after the drain that may resolve it
                results = await asyncio.gather(*tasks, return_exceptions=True)
                for i, r in enumerate(results):
                    if isinstance(r, asyncio.CancelledError):
                        outcomes["cancelled"] += 1
                    else:
                        assert r == i, r
                        outcomes["completed"] += 1
                for r in await asyncio.gather(*txs, return_exceptions=True):
                    if isinstance(r, asyncio.CancelledError):
                        outcomes["tx_cancelled"] += 1
                    else:
                        assert isinstance(r, enrich.Transaction), r
                        outcomes["tx_completed"] += 1
                        await r.rollback()
                del txs, tasks, results
            gc.collect()  # results nobody received (cancelled after resolution) are freed
            s = await wait_settled(c)
            assert s["in_transaction"] == 0
            # The core is idle once its last completions are queued; the loop drains them after.
            bridge = asyncio.get_running_loop()._enrich_bridge
            await eventually(lambda: bridge.pending == 0, "every completion drained", timeout=5)

    with Problems() as problems:
        run(main, loop_kind)
    assert not problems.items, problems.items
    assert outcomes["cancelled"] > 100 and outcomes["completed"] > 100, outcomes
    assert outcomes["tx_cancelled"] > 10 and outcomes["tx_completed"] > 10, outcomes


def test_loop_closed_with_work_in_flight(loop_kind):
    c = enrich.Client(TEST_DSN, max_connections=4)
    try:
        loop = new_loop(loop_kind)

        async def start():
            for _ in range(8):  # pipelined on one connection: they run one after another
                asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(0.1)"))
            for _ in range(3):
                asyncio.ensure_future(c.transaction().start())
            await eventually(lambda: c.stats()["in_flight"] > 0, "the queries are in flight")

        loop.run_until_complete(start())
        loop.close()  # the tasks are still pending; their results will never be delivered
        bridge = weakref.ref(loop._enrich_bridge)

        async def again():
            # Another loop works with the same client; the closed loop's bridge is swept.
            assert await c.fetch_value("SELECT 7") == 7
            await wait_settled(c)

        run(again, loop_kind)
        assert bridge() is None or bridge().closed
        del loop
        gc.collect()
        assert wait_settled_sync(c)["in_transaction"] == 0
    finally:
        c.close()


def test_two_loops_in_two_threads():
    c = enrich.Client(FIXTURE_DSN, max_connections=4)
    plan = enrich.Plan.load(PLAN_PATH)
    results: dict = {}
    errors: list = []

    def worker(kind: str) -> None:
        async def main():
            values = await asyncio.gather(*(c.fetch_value("SELECT $1::int", i) for i in range(3000)))
            docs = await asyncio.gather(*(c.run(plan, user_id=1 + i) for i in range(200)))
            assert values == list(range(3000))
            assert [d["user"]["id"] for d in docs] == [1 + i for i in range(200)]
            results[kind] = id(asyncio.get_running_loop()._enrich_bridge)

        try:
            run(main, kind)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in ("asyncio", "uvloop")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert set(results) == {"asyncio", "uvloop"}
        assert results["asyncio"] != results["uvloop"]
        wait_settled_sync(c)
    finally:
        c.close()


def test_one_bridge_per_loop():
    async def main():
        loop = asyncio.get_running_loop()
        async with enrich.Client(TEST_DSN) as c1, enrich.Client(TEST_DSN) as c2:
            await asyncio.gather(c1.fetch_value("SELECT 1"), c2.fetch_value("SELECT 2"))
            first = loop._enrich_bridge
            await c1.fetch_value("SELECT 3")
            assert loop._enrich_bridge is first
            return id(first)

    assert run(main) != run(main, "uvloop")


def test_one_turn_of_the_loop_starts_its_operations_together(loop_kind):
    """Runs and statements issued in one turn of the loop reach the core together at the next (one
    wake-up of the I/O thread for all of them); one cancelled before that never starts; one the
    core refuses at once fails its await; a transaction's statements start at once, in order."""
    plan = enrich.Plan.load(PLAN_PATH)

    async def main():
        loop = asyncio.get_running_loop()
        async with enrich.Client(FIXTURE_DSN, max_connections=2) as c:
            await c.fetch_value("SELECT 1")
            bridge = loop._enrich_bridge
            submitted = bridge.stats()["submitted"]
            runs = [asyncio.ensure_future(c.run_json(plan, user_id=u)) for u in range(1, 41)]
            runs += [asyncio.ensure_future(c.fetch_value("SELECT $1::int", i)) for i in range(10)]
            doomed = asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(30)"))
            refused = asyncio.ensure_future(c.run_json(plan, user_id="not a number"))
            await asyncio.sleep(0)  # every task ran up to its await: queued, none started
            assert bridge.stats()["submitted"] == submitted
            assert len(loop._enrich_starts.items) == 52
            doomed.cancel()
            await asyncio.sleep(0)  # the next turn started them, all but the cancelled one
            assert bridge.stats()["submitted"] == submitted + 51
            assert not loop._enrich_starts.items
            results = await asyncio.gather(*runs)
            assert [json.loads(r)["user"]["id"] for r in results[:40]] == list(range(1, 41))
            assert results[40:] == list(range(10))
            with pytest.raises(asyncio.CancelledError):
                await doomed
            with pytest.raises(enrich.InvalidArgumentError):
                await refused
            async with c.transaction() as tx:
                before = bridge.stats()["submitted"]
                pending = asyncio.ensure_future(tx.execute("SELECT 1"))
                await asyncio.sleep(0)
                assert bridge.stats()["submitted"] == before + 1  # started in its own turn
                await pending
            return await wait_settled(c)

    assert run(main, loop_kind)["pending_operations"] == 0


def test_aclose_does_not_block_the_event_loop(monkeypatch, loop_kind):
    """The native close joins the I/O threads; aclose runs it off the loop's thread, so other
    tasks go on meanwhile. A slow native close is simulated around the real one."""
    import enrich._client as client_module

    real_close = client_module._close_native
    seen: dict = {}

    def slow_close(handle):
        seen["thread"] = threading.get_ident()
        time.sleep(0.3)
        real_close(handle)

    monkeypatch.setattr(client_module, "_close_native", slow_close)

    async def main():
        c = enrich.Client(TEST_DSN)
        assert await c.fetch_value("SELECT 1") == 1
        pending = asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
        await eventually(lambda: c.stats()["in_flight"] == 1, "the query is in flight")
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        await c.aclose()
        t.cancel()
        assert c.closed
        assert seen["thread"] != threading.get_ident()  # not on the loop's thread
        assert ticks >= 5, ticks  # the loop ran other tasks during the 0.3 s close
        with pytest.raises(enrich.OperationCancelledError):
            await pending
        await c.aclose()  # idempotent

    run(main, loop_kind)


def test_client_is_closed_when_garbage_collected():
    async def main():
        c = enrich.Client(TEST_DSN)
        h = weakref.ref(c)
        native = c._h
        assert await c.fetch_value("SELECT 1") == 1
        del c
        gc.collect()
        assert h() is None and native.closed

    run(main)


EXIT_CASES = {
    "sys.exit inside asyncio.run": """
        async def main():
            c = enrich.Client(DSN)
            for _ in range(200):
                asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
            asyncio.ensure_future(c.transaction().start())
            await in_flight(c)
            sys.exit(0)
        asyncio.run(main())
    """,
    "sys.exit inside uvloop.run": """
        import uvloop
        async def main():
            c = enrich.Client(DSN)
            for _ in range(200):
                asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
            await in_flight(c)
            sys.exit(0)
        uvloop.run(main())
    """,
    "loop left open, client never closed": """
        c = enrich.Client(DSN)
        loop = asyncio.new_event_loop()
        async def start():
            for _ in range(200):
                asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
            await in_flight(c)
        loop.run_until_complete(start())
    """,
    "daemon thread blocked in a sync call": """
        import threading
        c = enrich.Client(DSN)
        def call():
            try:
                c.fetch_value_sync("SELECT pg_sleep(5)")
            except enrich.OperationCancelledError:  # what the call gets when the client closes at exit
                print("cancelled at exit")
        threading.Thread(target=call, daemon=True).start()
        in_flight_sync(c)
    """,
    "plans and HTTP in flight": """
        c = enrich.Client(DSN)
        plan = enrich.Plan.load(PLAN, variables={"ANALYTICS_URL": "http://127.0.0.1:1"})
        async def main():
            for i in range(100):
                asyncio.ensure_future(c.run_json(plan, user_id=1 + i, include_analytics=True))
                asyncio.ensure_future(c.fetch_value("SELECT pg_sleep(5)"))
            await in_flight(c)
            raise SystemExit(0)
        asyncio.run(main())
    """,
}


# The exit cases wait until statements are in flight (the client's stats say so), then exit.
IN_FLIGHT = textwrap.dedent("""
    def _in_flight(c):
        return c.stats()["in_flight"] > 0
    async def in_flight(c):
        t0 = time.monotonic()
        while not _in_flight(c):
            if time.monotonic() - t0 > 10:
                raise RuntimeError(f"nothing in flight after 10 s: {c.stats()}")
            await asyncio.sleep(0.01)
    def in_flight_sync(c):
        t0 = time.monotonic()
        while not _in_flight(c):
            if time.monotonic() - t0 > 10:
                raise RuntimeError(f"nothing in flight after 10 s: {c.stats()}")
            time.sleep(0.01)
""")


@pytest.mark.parametrize("case", list(EXIT_CASES))
def test_process_exits_cleanly_with_requests_in_flight(case):
    code = (
        "import asyncio, sys, time, enrich\n"
        f"DSN = {FIXTURE_DSN!r}\nPLAN = {str(PLAN_PATH)!r}\n" + IN_FLIGHT
        + textwrap.dedent(EXIT_CASES[case])
    )
    t0 = time.monotonic()
    p = python_subprocess(code, timeout=30)
    elapsed = time.monotonic() - t0
    assert p.returncode == 0, (p.returncode, p.stderr[-2000:])
    for bad in ("Fatal Python error", "Segmentation", "terminate called", "Traceback", "InvalidStateError"):
        assert bad not in p.stderr, p.stderr[-2000:]
    assert elapsed < 4.5, f"exit took {elapsed:.1f} s: in-flight work delayed it"
