#!/usr/bin/env python3
"""Coalescing and batching (issue 16, part 2), measured with enrich-run where no web framework
hides them: the reference plan without analytics, as written and with "coalesce", "batch" or
both on its three SQL steps (examples/plans/user_enriched*.json), on a hot-key workload (user ids
Zipf-distributed with s = 1.1 over 100,000 users, fixed seed: enrich-run --zipf) and a uniform one.

Every (workload, plan) pair runs once per pass, in an order rotated from pass to pass, for a timed
window after a warm-up (enrich-run --warmup/--duration); the report gives medians over the passes,
the spread, the ratio to the plain plan on the same workload, enrich-run's own CPU per plan and
the Postgres cluster's CPU per plan (all of its processes, sampled from /proc at the window's
edges). Run through `scripts/bench --hot-keys`, which sets up, builds, starts and seeds Postgres.
Writes bench/results/hot_keys.{md,json}."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import sys
from pathlib import Path

from run import ROOT, USERS, Postgres, enrich_run_window, log, machine

PLANS = {
    "plain": "user_enriched.json",
    "coalesce": "user_enriched_coalesce.json",
    "batch": "user_enriched_batch.json",
    "batch+coalesce": "user_enriched_batch_coalesce.json",
}
WORKLOADS = {"hot keys (Zipf 1.1)": ["--zipf", "1.1"], "uniform": []}


def window(enrich_run: str, dsn: str, pg: Postgres, plan: str, workload: list[str], s: argparse.Namespace) -> dict:
    cmd = [enrich_run, str(ROOT / "examples" / "plans" / plan), "--dsn", dsn,
           "--duration", f"{s.duration:g}", "--warmup", f"{s.warmup:g}", "--concurrency", str(s.concurrency),
           "--connections", str(s.connections), "--random", f"userId=1:{USERS}", *workload,
           "includeAnalytics=false", "--quiet"]
    j = enrich_run_window(cmd, pg, s.warmup, s.duration)
    row: dict = {"command": shlex.join(cmd).replace(dsn, "$DATABASE_URL")}
    if "plans_per_s" in j:
        row.update(plans_per_s=j["plans_per_s"], p50_ms=j["p50_ms"], p99_ms=j["p99_ms"],
                   client_cpu_us=j["cpu_us_per_plan"], errors=j["errors"], db_cpu_us=j["db_cpu_us"])
    if "failed" in j:
        row["failed"] = j["failed"]
    return row


def report(rows: list[dict], s: argparse.Namespace, meta: dict, out: Path) -> str:
    def med(key: str, w: str, plan: str) -> float | None:
        vals = [r[key] for r in rows if r["workload"] == w and r["plan"] == plan and r.get(key) is not None
                and not r.get("failed")]
        return statistics.median(vals) if vals else None

    lines = [f"# Coalescing and batching: enrich-run, {meta['date']}", "",
             f"`scripts/bench --hot-keys --passes {s.passes} --duration {s.duration:g}` on {meta['machine'].get('cpu', '?')}"
             f" ({meta['machine'].get('cpus', '?')} cores): the reference plan without analytics, "
             f"{s.concurrency} runs in flight, a pool of {s.connections} connections, one I/O thread, "
             f"{s.passes} interleaved passes of {s.duration:g} s windows after {s.warmup:g} s of warm-up. "
             "Medians over the passes; spread is half the range of plans/s relative to the median; "
             "\"vs plain\" divides by the plain plan's median on the same workload. Client CPU is "
             "enrich-run's own (all its threads); Postgres CPU is every process of the cluster.", "",
             "| workload | plan | plans/s | spread | vs plain | p50 ms | p99 ms | client CPU µs/plan | Postgres CPU µs/plan |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for w in WORKLOADS:
        base = med("plans_per_s", w, "plain")
        for plan in PLANS:
            rps = med("plans_per_s", w, plan)
            vals = [r["plans_per_s"] for r in rows if r["workload"] == w and r["plan"] == plan and not r.get("failed")]
            spread = (max(vals) - min(vals)) / 2 / rps if rps and len(vals) > 1 else None
            db = med("db_cpu_us", w, plan)
            cells = [w, plan, f"{rps:,.0f}" if rps else "failed", f"±{spread:.0%}" if spread is not None else "",
                     f"{rps / base:.2f}x" if rps and base else "", f"{med('p50_ms', w, plan) or 0:.2f}",
                     f"{med('p99_ms', w, plan) or 0:.2f}", f"{med('client_cpu_us', w, plan) or 0:.1f}",
                     f"{db:.1f}" if db is not None else "n/a"]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Commands (one window each):", ""]
    seen = set()
    for r in rows:
        if r["command"] not in seen:
            seen.add(r["command"])
            lines.append(f"- `{r['command']}`")
    text = "\n".join(lines) + "\n"
    out.with_suffix(".md").write_text(text)
    return text


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="one pass of 3 s windows")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "hot_keys"))
    s = p.parse_args()
    if s.quick:
        s.passes, s.duration, s.warmup = 1, 3.0, 1.0
    if s.passes < 1 or s.duration <= 1:
        p.error("--passes must be at least 1 and --duration above 1 s")
    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("DATABASE_URL is not set (scripts/bench sets it)")
    enrich_run = str(Path(os.environ.get("ENRICH_BUILD_DIR", ROOT / "build")) / "bin" / "enrich-run")
    pg = Postgres(dsn)
    units = [(w, plan) for w in WORKLOADS for plan in PLANS]
    log(f"{s.passes} pass(es) of {len(units)} windows: about "
        f"{s.passes * len(units) * (s.duration + s.warmup + 0.5) / 60:.1f} min")
    meta = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    rows: list[dict] = []
    for n in range(s.passes):
        k = (n * 3) % len(units)
        for w, plan in units[k:] + units[:k]:
            row = window(enrich_run, dsn, pg, PLANS[plan], WORKLOADS[w], s)
            row.update(workload=w, plan=plan, **{"pass": n + 1})
            rows.append(row)
            log(f"pass {n + 1}, {w}, {plan}: " + (row.get("failed") or
                f"{row['plans_per_s']:,.0f} plans/s, client {row['client_cpu_us']:.1f} µs, "
                f"Postgres {row['db_cpu_us'] or 0:.1f} µs per plan"))
    out = Path(s.output)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "settings": vars(s), "rows": rows}, indent=1) + "\n")
    print(report(rows, s, meta, out))
    failed = [r for r in rows if r.get("failed")]
    if failed:
        print(f"{len(failed)} window(s) had errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
