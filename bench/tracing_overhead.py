#!/usr/bin/env python3
"""enrich's own cost of tracing in Python, without a web framework around it (issue 15).

The reference plan (examples/plans/user_enriched_python.json, no analytics) runs `--n` times with
`--concurrency` tasks on uvloop, alternately on a client with tracing off and on, `--rounds`
times each. Without `--sdk` only opentelemetry-api is active (its no-op tracer): what enrich
itself adds per run (the plan span's start, the context and traceparent, the call through
_tracing). With `--sdk` an SDK TracerProvider samples every run into a dropping exporter: the
SDK's own span cost is added too.

Reported per run, as the median over the rounds: the loop thread's CPU (time.thread_time: the
Python side, which bounds a worker's throughput) and the whole process's CPU (the core's I/O
thread included).

Usage: . scripts/env.sh && scripts/pg start && scripts/seed &&
       .venv/bin/python bench/tracing_overhead.py [--sdk] [--n 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import uvloop

import enrich

PLAN = Path(__file__).resolve().parents[1] / "examples" / "plans" / "user_enriched_python.json"


def install_sdk() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    class Drop(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    trace.set_tracer_provider(provider)


async def one_round(dsn: str, plan: enrich.Plan, tracing: bool, n: int, concurrency: int) -> tuple:
    async with enrich.Client(dsn, tracing=tracing, max_connections=8) as client:
        await client.run_json(plan, user_id=1)  # connections open, statements prepared
        ids = iter(range(n))

        async def lane() -> None:
            for i in ids:
                await client.run_json(plan, user_id=i % 100_000 + 1)

        loop0, all0 = time.thread_time(), time.process_time()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return (time.thread_time() - loop0) / n * 1e6, (time.process_time() - all0) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="runs per round")
    p.add_argument("--rounds", type=int, default=5, help="rounds per setting, alternating")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--sdk", action="store_true", help="an SDK that samples every run (dropping exporter)")
    args = p.parse_args()
    dsn = os.environ.get("DATABASE_URL") or os.environ["ENRICH_TEST_DSN"]
    if args.sdk:
        install_sdk()
    plan = enrich.Plan.load(str(PLAN))
    results: dict = {False: [], True: []}
    for _ in range(args.rounds):
        for tracing in (False, True):
            results[tracing].append(uvloop.run(one_round(dsn, plan, tracing, args.n, args.concurrency)))
    print(f"{'SDK, every run sampled' if args.sdk else 'opentelemetry-api only (no SDK)'}: "
          f"{args.rounds} rounds of {args.n:,} runs, {args.concurrency} in flight; µs per run, median")
    print("| tracing | loop thread CPU | process CPU |")
    print("|---|---:|---:|")
    med = {t: [statistics.median(r[i] for r in results[t]) for i in (0, 1)] for t in results}
    for tracing in (False, True):
        print(f"| {'on' if tracing else 'off'} | {med[tracing][0]:.1f} | {med[tracing][1]:.1f} |")
    print(f"| difference | {med[True][0] - med[False][0]:+.1f} | {med[True][1] - med[False][1]:+.1f} |")


if __name__ == "__main__":
    main()
