#!/usr/bin/env python3
"""Main-thread CPU per request of the FastAPI forms of the endpoint, driven in-process.

Each app (examples/fastapi/floor.py, and app.py in the modes given) is called as an ASGI app on
uvloop, with `--lanes` requests in flight, for random users of the seeded 1..100,000, without
analytics: no sockets, no HTTP parser, no wrk on the same 2 cores. What is left is FastAPI,
Starlette and, for app.py, enrich's Python side; "loop CPU" is the loop thread's CPU time per
request (time.thread_time), "other CPU" the rest of the process (enrich's I/O thread). The
variants run interleaved, `--rounds` times, and the medians are printed: on a loaded machine
trust the relative figures of one run, not the absolute ones.

Usage: . scripts/env.sh && python bench/fastapi_asgi.py [--n 4000] [--lanes 64] [--rounds 5]
       [--modes fast,route] (DATABASE_URL: the seeded database, as scripts/bench uses)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import uvloop

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "fastapi"


def load(file: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{file[:-3]}", EXAMPLES / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def scope(user: int) -> Dict[str, Any]:
    path = f"/api/users/{user}/enriched"
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"include_analytics=false", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }


async def receive() -> Dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def drive(app: Any, n: int, lanes: int, rng: random.Random) -> Dict[str, float]:
    statuses: List[int] = []

    async def send(message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def lane(count: int) -> None:
        for _ in range(count):
            await app(scope(rng.randint(1, 100_000)), receive, send)

    await lane(lanes)  # warm: the bridge, the pool's connections, prepared statements
    statuses.clear()
    t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    await asyncio.gather(*(lane(n // lanes) for _ in range(lanes)))
    wall, cpu, proc = time.perf_counter() - t0, time.thread_time() - c0, time.process_time() - p0
    done = len(statuses)
    bad = sum(1 for s in statuses if s != 200)
    if bad:
        raise SystemExit(f"{bad} of {done} responses were not 200")
    return {"loop_us": cpu / done * 1e6, "other_us": (proc - cpu) / done * 1e6, "rps": done / wall}


def measure(make: Callable[[], Any], n: int, lanes: int, seed: int) -> Dict[str, float]:
    async def main() -> Dict[str, float]:
        app = make()
        async with app.router.lifespan_context(app):
            return await drive(app, n, lanes, random.Random(seed))

    return uvloop.run(main())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4000, help="requests per measurement")
    p.add_argument("--lanes", type=int, default=64, help="requests in flight")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--modes", default="fast,route", help="app.py modes (ENRICH_MODE) besides the floor")
    args = p.parse_args()
    floor, app = load("floor.py"), load("app.py")
    import structlog  # app.py logs one line per request in its fast and compat modes: to /dev/null here

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(open("/dev/null", "w")))
    variants: Dict[str, Callable[[], Any]] = {"floor": lambda: floor.app}
    for mode in args.modes.split(","):
        variants[mode] = lambda mode=mode: app.create_app(mode)
    results: Dict[str, List[Dict[str, float]]] = {k: [] for k in variants}
    for r in range(args.rounds):
        order = list(variants)[r % len(variants):] + list(variants)[: r % len(variants)]
        for name in order:
            results[name].append(measure(variants[name], args.n, args.lanes, seed=r))
    print(f"FastAPI in-process (ASGI on uvloop), {args.n} requests x {args.rounds} rounds, "
          f"{args.lanes} in flight; medians (min-max of loop CPU)")
    print("| variant | loop CPU us/req | other threads us/req | req/s (wall) | vs floor (loop CPU) |")
    print("|---|---|---|---|---|")
    floor_cpu = statistics.median(x["loop_us"] for x in results["floor"])
    for name, rows in results.items():
        cpu = [x["loop_us"] for x in rows]
        med = statistics.median(cpu)
        print(f"| {name} | {med:.1f} ({min(cpu):.0f}-{max(cpu):.0f}) | "
              f"{statistics.median(x['other_us'] for x in rows):.1f} | "
              f"{statistics.median(x['rps'] for x in rows):,.0f} | {floor_cpu / med:.2f} |")


if __name__ == "__main__":
    main()
