#!/usr/bin/env python3
"""Per-completion overhead of the Python bridge (bindings/python), on asyncio and on uvloop.

The C API has no no-op operation, so the workload is the cheapest real one, `SELECT 1`, with a
fixed number in flight (--window), measured four ways on the same client:

  native      the same statements through the C API from a C++ thread (enrich._native.bench_native:
              completion queue + poll + batch drain, no Python): the core's own cost
  futures     Python, the bridge used directly: loop.create_future() + bridge.query() per
              statement, `window` lanes awaiting their futures (no API wrappers)
  api         Python, the public API: `await client.fetch_value("SELECT 1")` in `window` lanes
  drain       the loop thread's time inside the bridge's drain() per completion (poll a batch,
              find the future, skip it if cancelled, decode the value, set_result), from the
              bridge's own counters

--plan runs the reference plan (examples/plans/user_enriched_python.json, random users of the
seeded 1..100,000, no analytics) instead of `SELECT 1`, two ways: `plan-bridge` (the bridge's
plan() with a prepared inputs string: what no Python wrapper can undercut) and `plan-api`
(`await client.run_json(plan, user_id=..., include_analytics=False)`); their difference in loop
CPU is what the Python layer of run_json costs per call.

"loop CPU" is the loop thread's CPU time per statement (time.thread_time): everything Python
does for one await (creating the future, starting the operation, draining its completion,
waking the task), the number that bounds a loop's throughput. "overhead" = wall time per
statement of the Python variant minus native's; it only means something when the loop thread,
not Postgres, is the bottleneck (on a loaded or 2-core machine it is often negative).

Usage: . scripts/env.sh && scripts/pg start && python bench/python_bridge.py [--n 100000] [--window 256]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import enrich
from enrich import _native

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("ENRICH_TEST_DSN") or os.environ.get("DATABASE_URL")
                   or "postgresql://enrich:enrich@127.0.0.1:54329/enrich")
    p.add_argument("--n", type=int, default=100_000, help="statements per measurement")
    p.add_argument("--window", type=int, default=256, help="statements in flight")
    p.add_argument("--repeat", type=int, default=3, help="best of N")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--plan", action="store_true", help="the reference plan instead of SELECT 1")
    return p.parse_args()


PLAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "plans",
                    "user_enriched_python.json")


async def lanes(n: int, window: int, one) -> None:
    per_lane = n // window

    async def lane() -> None:
        for _ in range(per_lane):
            await one()

    await asyncio.gather(*(lane() for _ in range(window)))


async def measure(client: enrich.Client, how: str, n: int, window: int) -> dict:
    loop = asyncio.get_running_loop()
    await client.fetch_value("SELECT 1")  # the bridge exists, the statement is prepared
    bridge = loop._enrich_bridge
    h = client._h
    kind = _native.KIND_VALUE

    if how.startswith("plan"):
        plan = enrich.Plan.load(PLAN)
        users = iter(range(1, 10**9))

        if how == "plan-bridge":
            async def one():
                fut = loop.create_future()
                inputs = f'{{"user_id":{next(users) % 100_000 + 1},"include_analytics":false}}'
                bridge.plan(h, plan._h, fut, inputs, 0, 0, False, False, None)
                await fut
        else:
            async def one():
                await client.run_json(plan, user_id=next(users) % 100_000 + 1, include_analytics=False)
    elif how == "futures":
        async def one():
            fut = loop.create_future()
            bridge.query(h, fut, "SELECT 1", (), kind, 0)
            await fut
    else:
        async def one():
            await client.fetch_value("SELECT 1")

    before = bridge.stats()
    cpu0, t0 = time.thread_time(), time.perf_counter()
    await lanes(n, window, one)
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    after = bridge.stats()
    done = after["completions"] - before["completions"]
    drains = after["drains"] - before["drains"]
    return {
        "wall_us": wall / n * 1e6,
        "cpu_us": cpu / n * 1e6,
        "drain_us": (after["drain_ns"] - before["drain_ns"]) / 1e3 / max(done, 1),
        "batch": done / max(drains, 1),
    }


def run_on(kind: str, coro_fn):
    if kind == "uvloop":
        return uvloop.run(coro_fn())
    return asyncio.run(coro_fn())


def main() -> None:
    args = parse_args()
    n = args.n - args.n % args.window
    client = enrich.Client(args.dsn, max_connections=args.connections, log_level="error")
    try:
        client.fetch_value_sync("SELECT 1")
        native = min(_native.bench_native(client._h, "SELECT 1", n, args.window) for _ in range(args.repeat))
        native_us = native / n * 1e6
        print(f"enrich Python bridge: {n} x SELECT 1, {args.window} in flight, "
              f"{args.connections} connections, best of {args.repeat}")
        print(f"native (C API, no Python): {native_us:.2f} us/statement ({1e6 / native_us:,.0f}/s)\n")
        print("| loop | variant | wall us/stmt | overhead us | loop CPU us/stmt | drain us/completion | avg batch |")
        print("|---|---|---|---|---|---|---|")
        loops = ["asyncio"] + (["uvloop"] if uvloop else [])
        for kind in loops:
            for how in (("plan-bridge", "plan-api") if args.plan else ("futures", "api")):
                best = None
                for _ in range(args.repeat):
                    r = run_on(kind, lambda: measure(client, how, n, args.window))
                    if best is None or r["wall_us"] < best["wall_us"]:
                        best = r
                overhead = "-" if args.plan else f"{best['wall_us'] - native_us:+.2f}"  # vs SELECT 1
                print(f"| {kind} | {how} | {best['wall_us']:.2f} | {overhead} | "
                      f"{best['cpu_us']:.2f} | {best['drain_us']:.3f} | {best['batch']:.0f} |")
    finally:
        client.close()


if __name__ == "__main__":
    main()
