#!/usr/bin/env python3
"""The reference endpoint in every form, one server at a time, under the same wrk load.

This is the engine of ``scripts/bench`` (which installs, builds, starts the throwaway Postgres
and seeds it first); run that, not this file. It measures:

  Fastify floor             examples/fastify/floor.js: the same route and input validation,
                            a constant 1 kB body (what Fastify itself costs)
  Fastify + pg              examples/fastify/original.js (the article's Node version)
  Fastify + postgres.js     examples/fastify/original_postgres.js
  Fastify + enrich compat   examples/fastify/app.js ENRICH_MODE=compat (run -> object)
  Fastify + enrich runJson  examples/fastify/app.js ENRICH_MODE=fast
  Fastify + enrich planRoute examples/fastify/app.js ENRICH_MODE=route (enrich/fastify's planRoute)
  FastAPI floor             examples/fastapi/floor.py: the same for FastAPI
  FastAPI + asyncpg         examples/fastapi/original.py (the article's Python version, an httpx
                            client per request as printed; "shared httpx" = one shared client)
  FastAPI + enrich compat   examples/fastapi/app.py ENRICH_MODE=compat (drop-in queries)
  FastAPI + enrich run_json examples/fastapi/app.py ENRICH_MODE=fast
  FastAPI + enrich plan_route examples/fastapi/app.py ENRICH_MODE=route (enrich.fastapi.plan_route)
  enrich-run (native)       the same plan, no web server (enrich-run --duration)
  pgbench plain / pipeline  the three queries, -M prepared (no analytics, no JSON)

For each server: cold start (process start to the first 200), then per scenario (no analytics,
healthy analytics stub, hung stub) and per connection count (8, 64): wrk warm-up, then a
measured window; requests/s and latency percentiles from wrk, the server's CPU time from
/proc/PID/stat and Postgres's (all its processes) over the window, peak RSS (VmHWM) at the end.
Every Python server runs on this interpreter (.venv's, from scripts/setup); the report names it.

Passes (--passes, default 3): each pass runs every unit (each server with all its windows,
enrich-run, pgbench) once, in an order rotated from pass to pass, so a slow minute of the shared
machine hits different units in different passes. The report shows per window the median over
the passes and the spread of req/s; ratios ("vs original", "vs floor", the targets) are ratios of
the medians, with the range of the per-pass ratios beside the targets. The run's time is
estimated from the settings and printed first.

Honesty: wrk's Lua script checks every response (status 200, a JSON object with the variant's
keys, analytics present or null as the scenario demands); after each window a sample of
responses is fetched and fully parsed (keys, the requested user's id; a floor's constant document:
keys only). A window with any error, non-2xx, timeout or bad body is reported as FAILED instead of
a throughput, and the run exits 1.

Writes <output>.md (tables, targets, versions, machine, commands), <output>.json (every pass's
windows in "rows", the medians in "summary") and <output>.png (requests/s and p99 per variant).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")
USERS = 100_000

SCENARIOS = {
    "none": "no analytics",
    "healthy": "analytics, healthy stub",
    "hung": "analytics, hung stub",
}


@dataclass
class Variant:
    key: str
    label: str
    family: str  # node | python | native
    command: list[str] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    query_flag: str = "includeAnalytics"
    activity_key: str = "recentActivity"
    baseline: str = ""  # key of the variant this one is compared with ("" = is a baseline)
    scenarios: tuple = ("none", "healthy", "hung")
    pool: str = ""  # database connections, for the report
    floor: str = ""  # key of its framework's floor (the same route returning a constant body)
    constant: bool = False  # a floor: one constant document, so the sample check skips the user id
    # Deployment rows (issue 13): measured with --deploy (or when named in --only), not by default.
    deploy: bool = False
    pgbouncer: bool = False  # DATABASE_URL is PgBouncer's (transaction mode) instead of Postgres'
    # Tracing-cost rows (issue 15): measured with --tracing-cost, beside their untraced forms.
    traced: bool = False
    # Batched rows (issue 16): the route forms on the plans with "batch" steps; measured when named
    # in --only (scripts/bench --only fastapi-floor,fastapi-enrich-route,fastapi-enrich-route-batch,...).
    batched: bool = False


def variants(python: str) -> list[Variant]:
    node = shutil.which("node") or "node"
    fastify = ROOT / "examples" / "fastify"
    fastapi = ROOT / "examples" / "fastapi"
    py = dict(query_flag="include_analytics", activity_key="recent_activity", floor="fastapi-floor")
    js = dict(floor="fastify-floor")
    # Deployment rows: 2 worker processes (the examples' WORKERS=2, each with a pool of 4; the
    # originals under uvicorn --workers 2 and node:cluster, each with its own pool of 10), and the
    # endpoint through PgBouncer in transaction mode (scripts/pgbouncer: 4 server connections).
    w2 = dict(scenarios=("none", "healthy"), deploy=True)
    uvicorn_w2 = [python, "-m", "uvicorn", "original:app", "--app-dir", str(fastapi), "--workers", "2",
                  "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1"]
    deploy = [
        Variant("fastify-pg-w2", "Fastify + pg (article), 2 workers", "node",
                [node, str(ROOT / "bench" / "cluster.js"), str(fastify / "original.js")], {"WORKERS": "2"},
                pool="pg.Pool, 2 x 10", **w2),
        Variant("fastify-enrich-fast-w2", "Fastify + enrich runJson(), 2 workers", "node",
                [node, str(fastify / "app.js")], {"ENRICH_MODE": "fast", "WORKERS": "2", "ENRICH_MAX_CONNECTIONS": "4"},
                baseline="fastify-pg-w2", pool="enrich, 2 x 4", **w2),
        Variant("fastapi-asyncpg-w2", "FastAPI + asyncpg (article), 2 workers", "python", uvicorn_w2,
                {"ORIGINAL_SHARED_HTTP_CLIENT": "1"}, pool="asyncpg, 2 x 10", query_flag="include_analytics",
                activity_key="recent_activity", **w2),
        Variant("fastapi-enrich-fast-w2", "FastAPI + enrich run_json(), 2 workers", "python",
                [python, str(fastapi / "app.py")], {"ENRICH_MODE": "fast", "WORKERS": "2", "ENRICH_MAX_CONNECTIONS": "4"},
                baseline="fastapi-asyncpg-w2", pool="enrich, 2 x 4", query_flag="include_analytics",
                activity_key="recent_activity", **w2),
        Variant("fastify-pg-pgbouncer", "Fastify + pg (article), via PgBouncer", "node",
                [node, str(fastify / "original.js")], scenarios=("none",), deploy=True, pgbouncer=True,
                pool="pg.Pool, 10 -> PgBouncer 4"),
        Variant("fastify-enrich-fast-pgbouncer", "Fastify + enrich runJson(), via PgBouncer", "node",
                [node, str(fastify / "app.js")], {"ENRICH_MODE": "fast"}, baseline="fastify-pg-pgbouncer",
                scenarios=("none",), deploy=True, pgbouncer=True, pool="enrich, 4 -> PgBouncer 4"),
        # asyncpg's statement cache does not work through PgBouncer in transaction mode: the
        # FastAPI row through PgBouncer is compared with the article's version on the direct path.
        Variant("fastapi-enrich-fast-pgbouncer", "FastAPI + enrich run_json(), via PgBouncer", "python",
                [python, str(fastapi / "app.py")], {"ENRICH_MODE": "fast"}, baseline="fastapi-asyncpg",
                scenarios=("none",), deploy=True, pgbouncer=True, pool="enrich, 8 -> PgBouncer 4",
                query_flag="include_analytics", activity_key="recent_activity"),
    ]
    # The floors make no analytics call, so they run without analytics only; that row is every
    # scenario's denominator of "vs floor".
    return [
        Variant("fastify-floor", "Fastify floor (constant 1 kB)", "node", [node, str(fastify / "floor.js")],
                scenarios=("none",), pool="none", constant=True),
        Variant("fastify-pg", "Fastify + pg (article)", "node", [node, str(fastify / "original.js")],
                pool="pg.Pool, 10", **js),
        Variant("fastify-postgresjs", "Fastify + postgres.js", "node", [node, str(fastify / "original_postgres.js")],
                baseline="fastify-pg", pool="postgres.js, 10", **js),
        Variant("fastify-enrich-compat", "Fastify + enrich run()", "node", [node, str(fastify / "app.js")],
                {"ENRICH_MODE": "compat"}, baseline="fastify-pg", pool="enrich, 8", **js),
        Variant("fastify-enrich-fast", "Fastify + enrich runJson()", "node", [node, str(fastify / "app.js")],
                {"ENRICH_MODE": "fast"}, baseline="fastify-pg", pool="enrich, 8", **js),
        # The route helpers' forms, without analytics and with a healthy stub (the targets' and the
        # floor's scenarios; the hung stub tests the plan, which the fast rows already run).
        Variant("fastify-enrich-route", "Fastify + enrich planRoute()", "node", [node, str(fastify / "app.js")],
                {"ENRICH_MODE": "route"}, baseline="fastify-pg", pool="enrich, 8", scenarios=("none", "healthy"), **js),
        Variant("fastapi-floor", "FastAPI floor (constant 1 kB)", "python", [python, str(fastapi / "floor.py")],
                scenarios=("none",), pool="none", constant=True, query_flag="include_analytics",
                activity_key="recent_activity"),
        Variant("fastapi-asyncpg", "FastAPI + asyncpg (article)", "python", [python, str(fastapi / "original.py")],
                pool="asyncpg, 10", **py),
        Variant("fastapi-asyncpg-shared", "FastAPI + asyncpg, shared httpx", "python",
                [python, str(fastapi / "original.py")], {"ORIGINAL_SHARED_HTTP_CLIENT": "1"},
                scenarios=("healthy", "hung"), pool="asyncpg, 10", **py),
        Variant("fastapi-enrich-compat", "FastAPI + enrich drop-in", "python", [python, str(fastapi / "app.py")],
                {"ENRICH_MODE": "compat"}, baseline="fastapi-asyncpg", pool="enrich, 8", **py),
        Variant("fastapi-enrich-fast", "FastAPI + enrich run_json()", "python", [python, str(fastapi / "app.py")],
                {"ENRICH_MODE": "fast"}, baseline="fastapi-asyncpg", pool="enrich, 8", **py),
        Variant("fastapi-enrich-route", "FastAPI + enrich plan_route()", "python", [python, str(fastapi / "app.py")],
                {"ENRICH_MODE": "route"}, baseline="fastapi-asyncpg", pool="enrich, 8", scenarios=("none", "healthy"),
                **py),
        # The route forms on the same plans with batching on their SQL steps (same documents).
        Variant("fastify-enrich-route-batch", "Fastify + enrich planRoute(), batched steps", "node",
                [node, str(fastify / "app.js")],
                {"ENRICH_MODE": "route", "ENRICH_PLAN": str(ROOT / "examples/plans/user_enriched_batch.json")},
                baseline="fastify-pg", pool="enrich, 8", scenarios=("none",), batched=True, **js),
        Variant("fastapi-enrich-route-batch", "FastAPI + enrich plan_route(), batched steps", "python",
                [python, str(fastapi / "app.py")],
                {"ENRICH_MODE": "route",
                 "ENRICH_PLAN": str(ROOT / "examples/plans/user_enriched_python_batch.json")},
                baseline="fastapi-asyncpg", pool="enrich, 8", scenarios=("none",), batched=True, **py),
        *deploy,
        # The same servers with tracing on (OpenTelemetry's SDK, every request sampled, a batch
        # processor, an exporter that drops spans), compared with their untraced forms; and with
        # tracing on but no SDK installed (the API's no-op tracer): enrich's own part of the cost.
        Variant("fastify-enrich-fast-tracing-nosdk", "Fastify + enrich runJson(), tracing on, no SDK", "node",
                [node, str(fastify / "app.js")], {"ENRICH_MODE": "fast", "ENRICH_TRACING": "1"},
                baseline="fastify-enrich-fast", pool="enrich, 8", scenarios=("none", "healthy"), traced=True,
                **js),
        Variant("fastapi-enrich-fast-tracing-nosdk", "FastAPI + enrich run_json(), tracing on, no SDK", "python",
                [python, str(fastapi / "app.py")], {"ENRICH_MODE": "fast", "ENRICH_TRACING": "1"},
                baseline="fastapi-enrich-fast", pool="enrich, 8", scenarios=("none", "healthy"), traced=True,
                **py),
        Variant("fastify-enrich-fast-traced", "Fastify + enrich runJson(), tracing on", "node",
                [node, str(ROOT / "bench" / "otel_fastify.js")], {"ENRICH_MODE": "fast", "ENRICH_TRACING": "1"},
                baseline="fastify-enrich-fast", pool="enrich, 8", scenarios=("none", "healthy"), traced=True,
                **js),
        Variant("fastapi-enrich-fast-traced", "FastAPI + enrich run_json(), tracing on", "python",
                [python, str(ROOT / "bench" / "otel_fastapi.py")], {"ENRICH_MODE": "fast", "ENRICH_TRACING": "1"},
                baseline="fastapi-enrich-fast", pool="enrich, 8", scenarios=("none", "healthy"), traced=True,
                **py),
    ]


# Each FastAPI row's comparison with analytics is the shared-client original (the article's
# per-request client is also shown, but a 30 ms TLS-context build per request is not a fair bar).
def baseline_for(v: Variant, scenario: str) -> str:
    if v.baseline == "fastapi-asyncpg" and scenario != "none":
        return "fastapi-asyncpg-shared"
    return v.baseline


# ---- small helpers ------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return 0


def children_of(ppid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server's worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children_of(p))
    return out


def tree_ticks(pid: int) -> int:
    """CPU ticks of a server and its live worker processes."""
    return sum(proc_ticks(p) for p in process_tree(pid))


def peak_rss_mb(pid: int) -> float:
    """Peak RSS of a server, summed over its worker processes."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def machine_busy_ticks() -> int:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq


class Postgres:
    """CPU of the whole cluster (postmaster and all its children), sampled at window edges."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        data = subprocess.run(["psql", dsn, "-XAtc", "SHOW data_directory"], capture_output=True, text=True)
        self.postmaster = 0
        if data.returncode == 0:
            try:
                self.postmaster = int(Path(data.stdout.strip(), "postmaster.pid").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # not readable (another user's server): Postgres CPU is left out
        self.version = self.sql("SHOW server_version")

    def sql(self, query: str) -> str:
        r = subprocess.run(["psql", self.dsn, "-XAtc", query], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"

    def ticks(self) -> dict[int, int]:
        if not self.postmaster:
            return {}
        pids = [self.postmaster, *children_of(self.postmaster)]
        return {p: proc_ticks(p) for p in pids}

    @staticmethod
    def delta(a: dict[int, int], b: dict[int, int]) -> int:
        return sum(t - a.get(p, 0) for p, t in b.items())


class Stub:
    def __init__(self, binary: str):
        self.proc = subprocess.Popen([binary, "--port", "0", "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                                     text=True)
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline().split()[1])}"

    def mode(self, scenario: str) -> None:
        mode = "hang" if scenario == "hung" else "healthy"
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/__control?mode={mode}", method="POST"),
                               timeout=5).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# ---- wrk --------------------------------------------------------------------------------------

WRK_LUA = r"""
-- Random users, and a check of every response: status 200, a JSON object with the variant's
-- keys, analytics as the scenario demands. Counts of bad responses are printed by done().
local prefix, suffix, users = "@PREFIX@", "@SUFFIX@", @USERS@
local must = { @MUST@ }
local analytics = "@ANALYTICS@"  -- "null", "object" or "any"
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(7919 * tid + os.time())
  bad, degraded, sample = 0, 0, ""
end

function request()
  return wrk.format("GET", prefix .. math.random(1, users) .. suffix)
end

function response(status, headers, body)
  local ok = status == 200 and body:sub(1, 1) == "{"
  if ok then
    for _, key in ipairs(must) do
      if not body:find(key, 1, true) then ok = false break end
    end
  end
  if ok and analytics ~= "any" then
    local isnull = body:find('"analytics":null', 1, true) ~= nil
    if analytics == "null" and not isnull then ok = false end
    if analytics == "object" and isnull then degraded = degraded + 1 end
  end
  if not ok then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. body:sub(1, 160):gsub("%s", " ") end
  end
end

function done(summary, latency, requests)
  local b, d, s = 0, 0, ""
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    d = d + t:get("degraded")
    if s == "" then s = t:get("sample") end
  end
  io.write(string.format("CHECK bad=%d degraded=%d\n", b, d))
  io.write(string.format("CHECK p50=%d p90=%d p99=%d\n", latency:percentile(50), latency:percentile(90),
                         latency:percentile(99)))
  if s ~= "" then io.write("CHECK sample=" .. s .. "\n") end
end
"""


def wrk_script(workdir: Path, v: Variant, scenario: str) -> Path:
    want = "true" if scenario != "none" else "false"
    must = ['"user":{', '"preferences":{', f'"{v.activity_key}":[', '"analytics":', '"meta":{']
    text = (WRK_LUA.replace("@PREFIX@", "/api/users/")
            .replace("@SUFFIX@", f"/enriched?{v.query_flag}={want}")
            .replace("@USERS@", str(USERS))
            .replace("@MUST@", ", ".join(json.dumps(m) for m in must))
            .replace("@ANALYTICS@", {"none": "null", "healthy": "object", "hung": "null"}[scenario]))
    path = workdir / f"{v.key}-{scenario}.lua"
    path.write_text(text)
    return path


def run_wrk(port: int, script: Path, connections: int, seconds: float, timeout_s: int) -> dict:
    seconds = max(1, round(seconds))  # wrk takes whole seconds
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s",
           "--latency", "-s", str(script), f"http://127.0.0.1:{port}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    out = r.stdout
    res = {"command": " ".join(shlex.quote(c) for c in cmd), "exit": r.returncode}
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"CHECK bad=(\d+) degraded=(\d+)", out)
    res["bad"], res["degraded"] = (int(m.group(1)), int(m.group(2))) if m else (-1, 0)
    m = re.search(r"CHECK p50=(\d+) p90=(\d+) p99=(\d+)", out)
    if m:  # microseconds, straight from wrk's histogram
        res["p50_ms"], res["p90_ms"], res["p99_ms"] = (int(x) / 1000 for x in m.groups())
    m = re.search(r"CHECK sample=(.*)", out)
    res["bad_sample"] = m.group(1) if m else ""
    if r.returncode != 0 or res["bad"] < 0:
        res["wrk_output"] = (out + r.stderr)[-2000:]
    return res


# ---- validation of a sample of full responses -------------------------------------------------


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return 0, str(e).encode()


def check_document(v: Variant, scenario: str, user_id: int, status: int, body: bytes) -> str:
    """'' if the response is a full, correct document for user_id, else what is wrong."""
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    try:
        doc = json.loads(body)
    except ValueError as e:
        return f"not JSON ({e}): {body[:200]!r}"
    for key in ("user", "preferences", v.activity_key, "analytics", "meta"):
        if key not in doc:
            return f"no {key!r} in {sorted(doc)}"
    if not isinstance(doc["user"], dict):
        return f"user is {str(doc['user'])[:120]}"
    # A floor answers every user with the same document (documented in its file and the report).
    if not v.constant and str(doc["user"].get("id")) != str(user_id):
        return f"user is not user {user_id}: {str(doc['user'])[:120]}"
    if not isinstance(doc["preferences"], dict):
        return f"preferences is {doc['preferences']!r}"
    acts = doc[v.activity_key]
    if not isinstance(acts, list) or len(acts) > 10:
        return f"{v.activity_key} is not a list of at most 10"
    if scenario == "none" and doc["analytics"] is not None:
        return "analytics present without includeAnalytics"
    if scenario == "hung" and doc["analytics"] is not None:
        return "analytics present although the stub hangs"
    return ""


def validate_sample(v: Variant, port: int, scenario: str, n: int) -> list[str]:
    want = "true" if scenario != "none" else "false"
    ids = [random.randint(1, USERS) for _ in range(n)]

    def one(uid: int) -> str:
        status, body = fetch(f"http://127.0.0.1:{port}/api/users/{uid}/enriched?{v.query_flag}={want}")
        problem = check_document(v, scenario, uid, status, body)
        return f"user {uid}: {problem}" if problem else ""

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return [p for p in pool.map(one, ids) if p]


# ---- one server, all its windows ----------------------------------------------------------------


@dataclass
class Settings:
    scenarios: list[str]
    connections: list[int]
    first_warmup: float
    warmup: float
    duration: float
    samples: int
    wrk_timeout: int
    passes: int = 1


def start_server(v: Variant, port: int, env: dict, logfile: Path) -> tuple[subprocess.Popen, float]:
    """Starts the server and waits for its first 200; returns it and the cold start in ms."""
    t0 = time.monotonic()
    f = open(logfile, "wb")
    env = {**env, **v.env, "PORT": str(port), "UVICORN_PORT": str(port)}
    if v.pgbouncer:
        env["DATABASE_URL"] = env["ENRICH_PGBOUNCER_DSN"]  # the same database, through PgBouncer
    proc = subprocess.Popen(v.command, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    f.close()
    url = f"http://127.0.0.1:{port}/api/users/1/enriched"
    while time.monotonic() - t0 < 60:
        if proc.poll() is not None:
            raise RuntimeError(f"{v.label} exited with {proc.returncode}: {logfile.read_text()[-1500:]}")
        status, _ = fetch(url, timeout=5)
        if status == 200:
            return proc, (time.monotonic() - t0) * 1000
        time.sleep(0.01)
    stop_server(proc)
    raise RuntimeError(f"{v.label} did not answer 200 within 60 s: {logfile.read_text()[-1500:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def windows_of(v: Variant, s: Settings) -> list[tuple[str, int]]:
    return [(sc, c) for sc in s.scenarios if sc in v.scenarios for c in s.connections]


def measure_server(v: Variant, s: Settings, stub: Stub, pg: Postgres, env: dict, workdir: Path,
                   tag: str = "") -> list[dict]:
    rows = []
    port = free_port()
    logfile = workdir / f"{v.key}{tag}.log"
    stub.mode("healthy")
    log(f"{v.label}: starting ({shlex.join(v.command)})")
    try:
        proc, cold_ms = start_server(v, port, env, logfile)
    except RuntimeError as e:
        log(f"!!! {e}")
        return [dict(variant=v.key, scenario=sc, connections=c, failed=f"did not start: {str(e)[:300]}")
                for sc in v.scenarios if sc in s.scenarios for c in s.connections]
    log(f"{v.label}: first 200 after {cold_ms:.0f} ms")
    first = True
    try:
        for scenario in [sc for sc in s.scenarios if sc in v.scenarios]:
            stub.mode(scenario)
            script = wrk_script(workdir, v, scenario)
            for conns in s.connections:
                warm = s.first_warmup if first else s.warmup
                first = False
                run_wrk(port, script, conns, warm, s.wrk_timeout)
                t_cpu, db0, m0 = tree_ticks(proc.pid), pg.ticks(), machine_busy_ticks()
                res = run_wrk(port, script, conns, s.duration, s.wrk_timeout)
                t_cpu1, db1, m1 = tree_ticks(proc.pid), pg.ticks(), machine_busy_ticks()
                problems = validate_sample(v, port, scenario, s.samples) if s.samples else []
                n = max(res["requests"], 1)
                row = dict(variant=v.key, scenario=scenario, connections=conns, **res,
                           server_cpu_us=(t_cpu1 - t_cpu) / TICK * 1e6 / n,
                           db_cpu_us=Postgres.delta(db0, db1) / TICK * 1e6 / n if db1 else None,
                           machine_cores=(m1 - m0) / TICK / s.duration,
                           sample_problems=problems, cold_start_ms=cold_ms)
                errors = res["non2xx"] + res["socket_errors"] + max(res["bad"], 0)
                if errors or res["bad"] < 0 or res["exit"] != 0 or problems or proc.poll() is not None:
                    row["failed"] = describe_failure(res, problems, proc)
                rows.append(row)
                log(f"{v.label}, {SCENARIOS[scenario]}, {conns} conns: " + summary(row))
        rss = peak_rss_mb(proc.pid)
        for row in rows:
            row["peak_rss_mb"] = rss
    finally:
        stop_server(proc)
    return rows


def describe_failure(res: dict, problems: list[str], proc: subprocess.Popen) -> str:
    parts = []
    if proc.poll() is not None:
        parts.append(f"server exited with {proc.returncode}")
    if res["exit"] != 0:
        parts.append(f"wrk exit {res['exit']}")
    if res["non2xx"]:
        parts.append(f"{res['non2xx']} non-2xx")
    if res["socket_errors"]:
        parts.append(f"{res['socket_errors']} socket errors/timeouts")
    if res["bad"] < 0:
        parts.append("no response check output from wrk")
    elif res["bad"]:
        parts.append(f"{res['bad']} bad responses (first: {res['bad_sample'][:120]})")
    if problems:
        parts.append(f"{len(problems)} bad sample documents (first: {problems[0][:160]})")
    return "; ".join(parts)


def summary(row: dict) -> str:
    if row.get("failed"):
        return f"FAILED: {row['failed']}"
    s = f"{row['rps']:,.0f} req/s, p50 {row['p50_ms']:.2f} p90 {row['p90_ms']:.2f} p99 {row['p99_ms']:.2f} ms"
    if "server_cpu_us" in row:
        s += f", server {row['server_cpu_us']:.0f} µs/req"
    if row.get("db_cpu_us") is not None:
        s += f", Postgres {row['db_cpu_us']:.0f} µs/req"
    if row.get("degraded"):
        s += f", {row['degraded']} with analytics null"
    return s


# ---- native rows: enrich-run and pgbench --------------------------------------------------------


def enrich_run_window(cmd: list[str], pg: "Postgres", warmup: float, duration: float) -> dict:
    """Runs one `enrich-run ... --warmup W --duration D --quiet` and returns its JSON summary line
    (or {"failed": ...}) with "db_cpu_us": the Postgres cluster's CPU per plan over (about)
    enrich-run's own window, sampled here by the clock before enrich-run exits and its backends
    with it."""
    # stderr to a file, not a pipe: with the stub hung, enrich-run logs a warning per plan, and a
    # full pipe nobody reads would block its I/O thread (which writes the log).
    errfile = tempfile.TemporaryFile("w+")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile, text=True)
    time.sleep(warmup + 0.2)
    db0 = pg.ticks()
    time.sleep(duration - 0.2)
    db1 = pg.ticks()
    out, _ = p.communicate()
    errfile.seek(0)
    err = errfile.read()[-4000:]
    errfile.close()
    try:
        j = json.loads(out.strip().splitlines()[-1])
        plans_sampled = max(j["plans_per_s"] * (duration - 0.2), 1)
        j["db_cpu_us"] = Postgres.delta(db0, db1) / TICK * 1e6 / plans_sampled if db1 else None
        if j["errors"] or p.returncode:
            j["failed"] = f"{j['errors']} runs failed: {err.strip()[-300:]}"
        return j
    except (ValueError, IndexError, KeyError):
        return {"failed": f"enrich-run exit {p.returncode}: {err.strip()[-300:]}"}


def run_enrich_native(s: Settings, stub: Stub, pg: Postgres, dsn: str, enrich_run: str) -> list[dict]:
    rows = []
    plan = ROOT / "examples" / "plans" / "user_enriched.json"
    for scenario in s.scenarios:
        stub.mode(scenario)
        for conns in s.connections:
            cmd = [enrich_run, str(plan), "--dsn", dsn, "--var", f"ANALYTICS_URL={stub.url}",
                   "--duration", f"{s.duration:g}", "--warmup", f"{s.first_warmup:g}",
                   "--concurrency", str(conns), "--connections", "8", "--random", f"userId=1:{USERS}",
                   f"includeAnalytics={'true' if scenario != 'none' else 'false'}", "--quiet"]
            j = enrich_run_window(cmd, pg, s.first_warmup, s.duration)
            row = dict(variant="enrich-run", scenario=scenario, connections=conns,
                       command=shlex.join(cmd).replace(dsn, "$DATABASE_URL"))
            if "plans_per_s" in j:
                row.update(rps=j["plans_per_s"], requests=j["plans"], p50_ms=j["p50_ms"], p90_ms=j["p90_ms"],
                           p99_ms=j["p99_ms"], server_cpu_us=j["cpu_us_per_plan"], errors=j["errors"],
                           db_cpu_us=j["db_cpu_us"])
            if "failed" in j:
                row["failed"] = j["failed"]
            rows.append(row)
            log(f"enrich-run, {SCENARIOS[scenario]}, {conns} callers: " + summary(row))
    return rows


PGBENCH_SCRIPTS = {
    "plain": "\\set id random(1, {users})\n"
             "SELECT * FROM users WHERE id = :id;\n"
             "SELECT * FROM user_preferences WHERE user_id = :id;\n"
             "SELECT * FROM activity_log WHERE user_id = :id ORDER BY created_at DESC LIMIT 10;\n",
    "pipeline": "\\set id random(1, {users})\n\\startpipeline\n"
                "SELECT * FROM users WHERE id = :id;\n"
                "SELECT * FROM user_preferences WHERE user_id = :id;\n"
                "SELECT * FROM activity_log WHERE user_id = :id ORDER BY created_at DESC LIMIT 10;\n"
                "\\endpipeline\n",
}


def run_pgbench(s: Settings, pg: Postgres, dsn: str, workdir: Path) -> list[dict]:
    rows = []
    for mode, text in PGBENCH_SCRIPTS.items():
        script = workdir / f"pgbench-{mode}.sql"
        script.write_text(text.replace("{users}", str(USERS)))
        for conns in s.connections:
            logdir = Path(tempfile.mkdtemp(dir=workdir, prefix=f"pgbench-{mode}-{conns}-"))
            total = s.first_warmup + s.duration
            cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(conns), "-j", "1", "-T", f"{total + 1:.0f}",
                   "-l", f"--log-prefix={logdir}/tx", "-f", str(script), dsn]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # pgbench connects first; its clock starts then, which the log's timestamps show.
            time.sleep(s.first_warmup + 0.5)
            c0, db0, w0 = proc_ticks(p.pid), pg.ticks(), time.time()
            time.sleep(s.duration)
            c1, db1, w1 = proc_ticks(p.pid), pg.ticks(), time.time()
            out, _ = p.communicate()
            lat = []
            for f in logdir.iterdir():
                with open(f) as fh:
                    for line in fh:
                        parts = line.split()
                        end = int(parts[4]) + int(parts[5]) / 1e6
                        if w0 <= end < w1:
                            lat.append(int(parts[2]) / 1000)
            shutil.rmtree(logdir, ignore_errors=True)
            lat.sort()
            n = len(lat)
            row = dict(variant=f"pgbench-{mode}", scenario="none", connections=conns,
                       command=shlex.join(cmd).replace(dsn, "$DATABASE_URL").replace(str(workdir), "$WORK"),
                       requests=n, rps=n / (w1 - w0) if n else 0.0,
                       server_cpu_us=(c1 - c0) / TICK * 1e6 / max(n, 1),
                       db_cpu_us=Postgres.delta(db0, db1) / TICK * 1e6 / max(n, 1) if db1 else None)
            if n:
                row.update(p50_ms=lat[n // 2], p90_ms=lat[int(n * 0.9)], p99_ms=lat[min(n - 1, int(n * 0.99))])
            failed = re.search(r"number of failed transactions: (\d+)", out)
            if p.returncode or not n or (failed and failed.group(1) != "0"):
                row["failed"] = f"pgbench exit {p.returncode}: {out.strip()[-300:]}"
            rows.append(row)
            log(f"pgbench {mode}, {conns} clients: " + summary(row))
    return rows


# ---- report ------------------------------------------------------------------------------------


def versions(pg: Postgres) -> dict:
    def cmd(*c: str) -> str:
        try:
            r = subprocess.run(c, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    def npm(pkg: str) -> str:
        try:
            return json.loads((ROOT / "examples/fastify/node_modules" / pkg / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return "?"

    py = {}
    for pkg in ("fastapi", "pydantic", "uvicorn", "uvloop", "httptools", "asyncpg", "httpx", "structlog", "enrich"):
        try:
            py[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            py[pkg] = "?"
    git = cmd("git", "-C", str(ROOT), "describe", "--always", "--dirty")
    return {
        "enrich": f"{py.pop('enrich')} ({git})",
        "PostgreSQL server": pg.version,
        "libpq": cmd("pkg-config", "--modversion", "libpq"),
        "libcurl": cmd("curl-config", "--version"),
        "Node.js": cmd("node", "--version"),
        **{f"npm {p}": npm(p) for p in ("fastify", "pg", "postgres")},
        "Python": "{} ({}, .venv made by scripts/setup)".format(
            platform.python_version(), os.path.realpath(getattr(sys, "_base_executable", sys.executable))),
        **{f"PyPI {k}": v for k, v in py.items()},
        "wrk": cmd("wrk", "-v"),
        "pgbench": cmd("pgbench", "--version"),
    }


def machine() -> dict:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": round(int(mem) / 1024 / 1024, 1),
            "kernel": platform.release(), "load_before": os.getloadavg()}


LABELS: dict[str, str] = {}
NATIVE_KEYS = ["enrich-run", "pgbench-plain", "pgbench-pipeline"]


# ---- passes: order, run time, aggregation ---------------------------------------------------------

# Every metric of a window that the report shows as the median over the passes.
METRICS = ("rps", "p50_ms", "p90_ms", "p99_ms", "server_cpu_us", "db_cpu_us", "machine_cores", "peak_rss_mb",
           "cold_start_ms", "requests")


def pass_order(units: list, p: int, passes: int) -> list:
    """The order of the units (servers, enrich-run, pgbench) in pass p (0-based): the list rotated by
    p/passes of its length, so that every unit runs early in one pass and late in another and a
    slow minute of the machine lands on different units in different passes."""
    if not units:
        return []
    k = (p * len(units)) // max(passes, 1) % len(units)
    return units[k:] + units[:k]


def wrk_seconds(seconds: float) -> int:
    return max(1, round(seconds))  # wrk takes whole seconds


# Fitted to measured runs on the 2-core machine (a one-pass full run took 637 s where the windows
# and warm-ups alone are 618 s): process start to first 200 plus the stop, per window the sample
# check, CPU sampling and wrk's start, enrich-run's and pgbench's start and exit.
SERVER_OVERHEAD_S = 1.0
WINDOW_OVERHEAD_S = 0.2
NATIVE_OVERHEAD_S = 0.3
FIXED_OVERHEAD_S = 5.0  # versions, stub, report and picture


def estimate_seconds(vs: list[Variant], s: Settings, native: bool, pgbench: bool) -> float:
    """The run's wall time from its settings (bench/run.py alone, not scripts/bench's setup)."""
    one_pass = 0.0
    for v in vs:
        n = len(windows_of(v, s))
        if n:
            one_pass += (SERVER_OVERHEAD_S + wrk_seconds(s.first_warmup) + (n - 1) * wrk_seconds(s.warmup)
                         + n * (wrk_seconds(s.duration) + WINDOW_OVERHEAD_S))
    windows = len(s.scenarios) * len(s.connections)
    if native:
        one_pass += windows * (s.first_warmup + s.duration + NATIVE_OVERHEAD_S)
    if pgbench:
        one_pass += len(PGBENCH_SCRIPTS) * len(s.connections) * (round(s.first_warmup + s.duration + 1)
                                                                 + NATIVE_OVERHEAD_S)
    return one_pass * s.passes + FIXED_OVERHEAD_S


def aggregate(rows: list[dict]) -> list[dict]:
    """One row per (variant, scenario, connections) from the windows of every pass: each metric's
    median over the passes that did not fail, with its min and max (<metric>_min, <metric>_max),
    rps_spread (half the range between the slowest and the fastest pass, relative to the median),
    the passes it ran in, and "failed" (with the pass numbers) if any pass's window failed: a
    window that failed once is reported as FAILED, never as a median of the others. Pure: no
    measuring here (tests/bench checks it)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["scenario"], r["connections"]), []).append(r)
    out = []
    for (variant, scenario, conns), rs in groups.items():
        rs = sorted(rs, key=lambda r: r.get("pass", 1))
        agg: dict = dict(variant=variant, scenario=scenario, connections=conns,
                         passes=[r.get("pass", 1) for r in rs])
        failed = [r for r in rs if r.get("failed")]
        if failed:
            agg["failed"] = "; ".join(
                (f"pass {r['pass']}: " if len(rs) > 1 and "pass" in r else "") + r["failed"] for r in failed)
        good = [r for r in rs if not r.get("failed")]
        for m in METRICS:
            vals = [r[m] for r in good if r.get(m) is not None]
            if vals:
                agg[m], agg[f"{m}_min"], agg[f"{m}_max"] = statistics.median(vals), min(vals), max(vals)
        if agg.get("rps"):
            agg["rps_spread"] = (agg["rps_max"] - agg["rps_min"]) / 2 / agg["rps"]
        agg["degraded"] = sum(r.get("degraded", 0) for r in rs)  # all passes together
        out.append(agg)
    return out


def fmt_ms(v) -> str:
    return "-" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def fmt_spread(r: dict) -> str:
    """'±3%': half the range of the passes' req/s relative to their median ('' for one pass)."""
    if r.get("rps_spread") is None or len(r.get("passes", [])) < 2:
        return ""
    return f"±{r['rps_spread'] * 100:.0f}%" if r["rps_spread"] >= 0.01 else f"±{r['rps_spread'] * 100:.1f}%"


def index(rows: list[dict]) -> dict:
    return {(r["variant"], r["scenario"], r["connections"]): r for r in rows}


def ratio(rows_by: dict, a: str, b: str, scenario: str, conns: int, key: str = "rps",
          b_scenario: str | None = None) -> float | None:
    """a's value over b's (of the aggregated rows: the ratio of the medians); b's row may be of
    another scenario (a floor runs without analytics only)."""
    ra, rb = rows_by.get((a, scenario, conns)), rows_by.get((b, b_scenario or scenario, conns))
    if not ra or not rb or ra.get("failed") or rb.get("failed") or not rb.get(key) or ra.get(key) is None:
        return None
    return ra[key] / rb[key]


def ratio_range(rows: list[dict], a: str, b: str, scenario: str, conns: int, key: str = "rps",
                b_scenario: str | None = None) -> tuple[float, float] | None:
    """The lowest and the highest of the per-pass ratios a/b (both measured in the same pass)."""
    by_pass: dict[int, dict] = {}
    for r in rows:
        if r["connections"] != conns or r.get("failed") or r.get(key) is None:
            continue
        if r["variant"] == a and r["scenario"] == scenario:
            by_pass.setdefault(r.get("pass", 1), {})["a"] = r[key]
        if r["variant"] == b and r["scenario"] == (b_scenario or scenario):
            by_pass.setdefault(r.get("pass", 1), {})["b"] = r[key]
    ratios = [x["a"] / x["b"] for x in by_pass.values() if "a" in x and x.get("b")]
    return (min(ratios), max(ratios)) if ratios else None


def table(rows: list[dict], vs: list[Variant], scenario: str, conns: int) -> list[str]:
    """The scenario's table from the aggregated rows: medians, the spread of req/s, ratios."""
    by = index(rows)
    out = ["| variant | req/s | ± | vs original | vs floor | p50 ms | p90 ms | p99 ms | server CPU µs/req "
           "| Postgres CPU µs/req | peak RSS MB | cold start ms | notes |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    order = [v.key for v in vs] + NATIVE_KEYS
    for key in order:
        r = by.get((key, scenario, conns))
        if not r:
            continue
        label = LABELS.get(key, key)
        if r.get("failed"):
            out.append(f"| {label} | **FAILED** | | | | | | | | | | | {r['failed'][:300]} |")
            continue
        v = next((x for x in vs if x.key == key), None)
        base = baseline_for(v, scenario) if v else ("pgbench-pipeline" if key == "enrich-run" else "")
        rt = ratio(by, key, base, scenario, conns) if base else None
        rf = ratio(by, key, v.floor, scenario, conns, b_scenario="none") if v and v.floor else None
        notes = []
        if r.get("degraded"):
            notes.append(f"{r['degraded']} responses with analytics null (timed out), all passes")
        if v and v.constant:
            notes.append("the framework's floor: same route and validation, constant body")
        if key == "enrich-run":
            notes.append("no web server; client CPU")
        if key.startswith("pgbench"):
            notes.append("3 queries, no JSON; client CPU")
        out.append("| {} | {:,.0f} | {} | {} | {} | {} | {} | {} | {:,.0f} | {} | {} | {} | {} |".format(
            label, r["rps"], fmt_spread(r), f"{rt:.2f}x" if rt else "", f"{rf:.2f}" if rf else "",
            fmt_ms(r.get("p50_ms")), fmt_ms(r.get("p90_ms")), fmt_ms(r.get("p99_ms")), r["server_cpu_us"],
            f"{r['db_cpu_us']:,.0f}" if r.get("db_cpu_us") is not None else "-",
            f"{r['peak_rss_mb']:.0f}" if r.get("peak_rss_mb") else "-",
            f"{r['cold_start_ms']:,.0f}" if r.get("cold_start_ms") else "-", "; ".join(notes)))
    return out


def floor_table(rows: list[dict], per_pass: list[dict], vs: list[Variant], scenarios: list[str],
                conns: int) -> list[str]:
    """Each server's median req/s (rows: aggregated) as a share of its framework's floor (the
    floor's no-analytics row), per scenario, with the range of the per-pass ratios (per_pass)."""
    by = index(rows)
    floored = [v for v in vs if v.floor and any((v.key, sc, conns) in by for sc in scenarios)]
    if not floored:
        return []
    out = ["| variant | floor | " + " | ".join(SCENARIOS[sc] for sc in scenarios) + " |",
           "|---|---|" + "---:|" * len(scenarios)]
    for v in floored:
        cells = []
        for sc in scenarios:
            x = ratio(by, v.key, v.floor, sc, conns, b_scenario="none")
            rr = ratio_range(per_pass, v.key, v.floor, sc, conns, b_scenario="none")
            cells.append("" if x is None else f"{x:.2f}" + (f" ({rr[0]:.2f}–{rr[1]:.2f})" if rr and rr[0] != rr[1]
                                                             else ""))
        out.append(f"| {v.label} | {LABELS.get(v.floor, v.floor)} | " + " | ".join(cells) + " |")
    return out


def targets(rows: list[dict], conns: int, per_pass: list[dict] | None = None
            ) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured median, per-pass range, met) at `conns` connections, from the aggregated
    rows; per_pass (every pass's windows) gives the range of the per-pass ratios."""
    by = index(rows)
    per_pass = per_pass or []
    res = []

    def add(name, value, ok, rng=None, fmt="{:.2f}x"):
        res.append((name, value, "" if not rng or rng[0] == rng[1] else
                    f"{fmt.format(rng[0])}–{fmt.format(rng[1])}", ok))

    def check_ratio(name, a, b, sc, met, key="rps", b_scenario=None, fmt="{:.2f}x"):
        x = ratio(by, a, b, sc, conns, key, b_scenario)
        rng = ratio_range(per_pass, a, b, sc, conns, key, b_scenario)
        add(name, "-" if x is None else fmt.format(x), None if x is None else met(x), rng, fmt)

    def at_least(want):
        return lambda x: x >= want

    check_ratio("FastAPI + enrich run_json ≥ 4x FastAPI + asyncpg, no analytics", "fastapi-enrich-fast",
                "fastapi-asyncpg", "none", at_least(4))
    check_ratio("FastAPI + enrich run_json ≥ 8x FastAPI (shared httpx), healthy analytics", "fastapi-enrich-fast",
                "fastapi-asyncpg-shared", "healthy", at_least(8))
    check_ratio("FastAPI + enrich run_json ≥ 70% of the FastAPI floor's req/s, no analytics",
                "fastapi-enrich-fast", "fastapi-floor", "none", at_least(0.7), fmt="{:.2f}")
    for sc, base in (("none", "fastapi-asyncpg"), ("healthy", "fastapi-asyncpg-shared")):
        check_ratio(f"FastAPI + enrich run_json p99 ≤ ½ of the original's, {SCENARIOS[sc]}", "fastapi-enrich-fast",
                    base, sc, lambda x: x <= 0.5, key="p99_ms")
        check_ratio(f"FastAPI + enrich run_json uses less CPU/request, {SCENARIOS[sc]}", "fastapi-enrich-fast",
                    base, sc, lambda x: x < 1, key="server_cpu_us")
    check_ratio("FastAPI + enrich plan_route ≥ 70% of the FastAPI floor's req/s, no analytics",
                "fastapi-enrich-route", "fastapi-floor", "none", at_least(0.7), fmt="{:.2f}")
    for sc in ("none", "healthy"):
        check_ratio(f"FastAPI + enrich plan_route ahead of run_json, {SCENARIOS[sc]}", "fastapi-enrich-route",
                    "fastapi-enrich-fast", sc, at_least(1))
        check_ratio(f"Fastify + enrich planRoute ≥ 4x Fastify + pg, {SCENARIOS[sc]}", "fastify-enrich-route",
                    "fastify-pg", sc, at_least(4))
        check_ratio(f"Fastify + enrich planRoute ahead of runJson, {SCENARIOS[sc]}", "fastify-enrich-route",
                    "fastify-enrich-fast", sc, at_least(1))
    if any(k[0] == "fastapi-enrich-route-batch" for k in by):
        check_ratio("FastAPI + enrich plan_route, batched steps, ≥ 70% of the FastAPI floor's req/s, no analytics",
                    "fastapi-enrich-route-batch", "fastapi-floor", "none", at_least(0.7), fmt="{:.2f}")
    if any(k[0] == "fastify-enrich-route-batch" for k in by):
        check_ratio("Fastify + enrich planRoute, batched steps, ahead of runJson, no analytics",
                    "fastify-enrich-route-batch", "fastify-enrich-fast", "none", at_least(1))
    check_ratio("Fastify + enrich runJson ≥ 3x Fastify + pg, no analytics", "fastify-enrich-fast", "fastify-pg",
                "none", at_least(3))
    check_ratio("Fastify + enrich runJson ≥ 4x Fastify + pg, healthy analytics", "fastify-enrich-fast",
                "fastify-pg", "healthy", at_least(4))
    for sc in ("none", "healthy"):
        check_ratio(f"Fastify + enrich runJson ahead of Fastify + postgres.js, {SCENARIOS[sc]}",
                    "fastify-enrich-fast", "fastify-postgresjs", sc, at_least(1))
    check_ratio("enrich-run ≥ pgbench pipelined (same three queries)", "enrich-run", "pgbench-pipeline", "none", at_least(1))
    # Issue 16, section 1: enrich-run (which also assembles each JSON document) against pgbench
    # pipelined (which discards the rows); the client's CPU per enrichment is server_cpu_us.
    check_ratio("enrich-run ≥ 1.3x pgbench pipelined's throughput", "enrich-run", "pgbench-pipeline", "none",
                at_least(1.3))
    check_ratio("enrich-run client CPU/enrichment ≤ 1.5x pgbench pipelined's", "enrich-run", "pgbench-pipeline",
                "none", lambda x: x <= 1.5, key="server_cpu_us")
    # At 64 connections a CPU-bound server's p99 is mostly its queue (Little's law: 64 requests
    # in flight / throughput), so the hung-stub target is shown at 8 connections too.
    for key in ("fastify-enrich-fast", "fastapi-enrich-fast", "enrich-run"):
        for c in sorted({8, conns}):
            r = by.get((key, "hung", c))
            if r and not r.get("failed"):
                add(f"hung analytics: {LABELS.get(key, key)} p99 < 20 ms, {c} connections", f"{r['p99_ms']:.1f} ms",
                    r["p99_ms"] < 20, (r["p99_ms_min"], r["p99_ms_max"]), "{:.1f} ms")
    for a, b in (("fastify-enrich-fast", "fastify-pg"), ("fastify-enrich-compat", "fastify-pg"),
                 ("fastapi-enrich-fast", "fastapi-asyncpg"), ("fastapi-enrich-compat", "fastapi-asyncpg")):
        ra = next((r for r in rows if r["variant"] == a and r.get("peak_rss_mb")), None)
        rb = next((r for r in rows if r["variant"] == b and r.get("peak_rss_mb")), None)
        if ra and rb:
            add(f"peak RSS {LABELS[a]} ≤ {LABELS[b]}", f"{ra['peak_rss_mb']:.0f} vs {rb['peak_rss_mb']:.0f} MB",
                ra["peak_rss_mb"] <= rb["peak_rss_mb"])
    return res


def passes_table(rows: list[dict], vs: list[Variant], scenario: str, conns: int, passes: int) -> list[str]:
    """req/s of every pass (and where in its pass the unit ran) for one scenario."""
    cell: dict[tuple[str, int], str] = {}
    for r in rows:
        if r["scenario"] == scenario and r["connections"] == conns:
            val = "FAILED" if r.get("failed") else f"{r['rps']:,.0f}"
            cell[(r["variant"], r.get("pass", 1))] = f"{val} (#{r['position']})" if r.get("position") else val
    keys = [k for k in [v.key for v in vs] + NATIVE_KEYS if any((k, p + 1) in cell for p in range(passes))]
    if not keys:
        return []
    out = ["| variant | " + " | ".join(f"pass {p + 1}" for p in range(passes)) + " |",
           "|---|" + "---:|" * passes]
    for k in keys:
        out.append(f"| {LABELS.get(k, k)} | " + " | ".join(cell.get((k, p + 1), "") for p in range(passes)) + " |")
    return out


def plot(rows: list[dict], vs: list[Variant], s: Settings, path: Path) -> bool:
    """The aggregated rows: bars are medians, whiskers the range of the passes."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed: no picture (scripts/setup --bench installs it)")
        return False
    by = index(rows)
    keys = [v.key for v in vs] + NATIVE_KEYS
    colors = {"node": "#3c873a", "python": "#3572a5", "native": "#b5522b"}
    fam = {v.key: v.family for v in vs}
    # Only the scenarios some variant ran (--deploy and --tracing-cost skip the hung stub).
    scenarios = [sc for sc in s.scenarios if any(k[1] == sc for k in by)]
    if not scenarios:
        return False
    fig, axes = plt.subplots(2, len(scenarios), figsize=(6.6 * len(scenarios) + 0.5, 9.5), squeeze=False)
    for col, sc in enumerate(scenarios):
        present = [k for k in keys if any((k, sc, c) in by for c in s.connections)]
        for row_i, (metric, title) in enumerate((("rps", "requests/s"), ("p99_ms", "p99 latency, ms (log)"))):
            ax = axes[row_i][col]
            width = 0.8 / len(s.connections)
            for ci, conns in enumerate(s.connections):
                vals, lo, hi, hatch = [], [], [], ["", "//"][ci % 2]
                for k in present:
                    r = by.get((k, sc, conns))
                    ok = r and not r.get("failed") and r.get(metric) is not None
                    vals.append(r[metric] if ok else 0)
                    lo.append(r[metric] - r.get(f"{metric}_min", r[metric]) if ok else 0)
                    hi.append(r.get(f"{metric}_max", r[metric]) - r[metric] if ok else 0)
                xs = [i + (ci - (len(s.connections) - 1) / 2) * width for i in range(len(present))]
                bars = ax.barh(xs, vals, height=width, hatch=hatch, edgecolor="white",
                               color=[colors[fam.get(k, "native")] for k in present],
                               xerr=[lo, hi] if s.passes > 1 else None,
                               error_kw=dict(elinewidth=0.8, capsize=1.5, ecolor="#333333"),
                               label=f"{conns} connections")
                for b, val, k, h in zip(bars, vals, present, hi):
                    r = by.get((k, sc, conns))
                    text = "FAILED" if r and r.get("failed") else (f"{val:,.0f}" if metric == "rps" else f"{val:.1f}")
                    if r:
                        ax.text(b.get_width() + h, b.get_y() + b.get_height() / 2, " " + text, va="center",
                                fontsize=7)
            ax.set_yticks(range(len(present)))
            # Every column names its rows: the floors are in the no-analytics column only.
            ax.set_yticklabels([LABELS.get(k, k) for k in present], fontsize=8)
            ax.invert_yaxis()
            if metric == "p99_ms":
                ax.set_xscale("log")
            ax.set_title(f"{SCENARIOS[sc]}: {title}", fontsize=10)
            ax.grid(axis="x", alpha=0.3)
            ax.margins(x=0.18)
        axes[0][col].legend(fontsize=7, loc="lower right")
    fig.suptitle("GET /api/users/:id/enriched on one 2-core machine (wrk, random users of 100,000)\n"
                 f"median of {s.passes} interleaved passes" + (", whiskers: slowest to fastest pass"
                                                              if s.passes > 1 else "")
                 + "; green: Node, blue: Python, orange: native (no web server)"
                 + ("; hatched: 64 connections" if len(s.connections) > 1 else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def command_line(args) -> str:
    parts = ["scripts/bench"]
    if args.quick:
        parts.append("--quick")
    for flag, val in (("--passes", args.passes), ("--duration", args.duration), ("--warmup", args.warmup),
                      ("--first-warmup", args.first_warmup), ("--only", args.only)):
        if val not in (None, "") and not (flag == "--passes" and val == 3):
            parts += [flag, f"{val:g}" if isinstance(val, float) else str(val)]
    return " ".join(parts)


def write_report(rows, summary_rows, vs, s, args, meta, out: Path, picture: bool) -> None:
    """rows: every pass's windows; summary_rows: aggregate(rows)."""
    py = meta["python"]
    lines = [f"# Benchmark: the article's endpoint, every implementation, one run",
             "",
             f"Generated by `{command_line(args)}` on {meta['date']} in {meta['elapsed_s'] / 60:.1f} min "
             f"(estimated {meta['estimated_s'] / 60:.1f}). Each server ran alone on 127.0.0.1, loaded by wrk "
             f"(1 thread) with random user ids of {USERS:,} (scripts/seed: their preferences, 2,000,000 activity "
             f"rows): cold start, then per scenario and connection count {s.warmup:g} s of warm-up "
             f"({s.first_warmup:g} s for a server's first window) and a {s.duration:g} s measured window. "
             f"**{s.passes} passes**: each pass starts every server (and runs enrich-run and pgbench) once, in an "
             "order rotated from pass to pass (each pass's order is below), so a slow minute of the machine "
             "hits different variants in different passes. Every figure is the **median over the passes**; "
             "**±** is half the range between the slowest and the fastest pass's req/s, relative to the "
             "median. A window that failed in any pass is FAILED. "
             "CPU figures are per request over the measured window: the server process (all its threads), and "
             "all Postgres processes. \"vs original\" compares with the article's version of the same language "
             "(with analytics: FastAPI's shared-client form; enrich-run: pgbench pipelined), \"vs floor\" with "
             "the same framework's floor (the same route and input validation returning a constant 1 kB body, "
             "examples/fastapi/floor.py and examples/fastify/floor.js; it makes no analytics call, so its "
             "no-analytics row is the denominator in every scenario). Both are ratios of the medians.",
             "",
             f"Python: every Python server ran on `{py['venv']}` → {py['base']} (Python {py['version']}), "
             "the interpreter scripts/setup chose (ENRICH_PYTHON, else Debian's /usr/bin/python3).",
             ""]
    if any(r.get("failed") for r in summary_rows):
        lines += ["> **THIS RUN HAD ERRORS.** Rows marked FAILED report no throughput; see their notes.", ""]
    if picture:
        lines += [f"![requests/s and p99 per variant]({out.stem}.png)", ""]
    tgt_conns = 64 if 64 in s.connections else s.connections[-1]
    tg = targets(summary_rows, tgt_conns, rows)
    if tg:
        lines += [f"## Targets ({tgt_conns} connections; medians, and the lowest and highest pass)", "",
                  "| target | measured | passes | met |", "|---|---:|---:|---|"]
        lines += [f"| {n} | {v} | {rng} | {'yes' if ok else 'n/a' if ok is None else '**no**'} |"
                  for n, v, rng, ok in tg]
        lines.append("")
    ft = floor_table(summary_rows, rows, vs, s.scenarios, tgt_conns)
    if ft:
        lines += [f"## Share of the framework's floor ({tgt_conns} connections)", "",
                  "Median req/s over the floor's median req/s (no analytics), and the range of the per-pass "
                  "ratios.", ""] + ft + [""]
    for conns in sorted(s.connections, reverse=True):
        for sc in s.scenarios:
            lines += [f"## {SCENARIOS[sc]}, {conns} connections", ""] + table(summary_rows, vs, sc, conns) + [""]
    pt = passes_table(rows, vs, s.scenarios[0], tgt_conns, s.passes)
    if s.passes > 1 and pt:
        lines += [f"## Passes ({SCENARIOS[s.scenarios[0]]}, {tgt_conns} connections)", "",
                  "req/s of each pass, and (#n) the unit's place in that pass's order:", ""] + pt + [""]
        lines += [f"- pass {i + 1}: {', '.join(order)}" for i, order in enumerate(meta["orders"])] + [""]
    lines += ["## Variants", "", "| variant | command | database pool |", "|---|---|---|"]
    for v in vs:
        env = " ".join(f"{k}={val}" for k, val in v.env.items())
        lines.append(f"| {v.label} | `{(env + ' ') if env else ''}{shlex.join(v.command).replace(str(ROOT) + '/', '')}` "
                     f"| {v.pool} |")
    lines += ["", "Servers get DATABASE_URL, ANALYTICS_URL (the stub), PORT, HOST=127.0.0.1; Node servers log at "
              "warn (Fastify's default here), the Python ones log with structlog as the article's code does "
              "(the floors do not log), uvicorn with uvloop, one worker, no access log. The floors' documents "
              "are constant, so their sample check checks the document's shape but not the user id.", ""]
    lines += ["## Versions", "", "| component | version |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in meta["versions"].items()]
    m = meta["machine"]
    lines += ["", "## Machine", "",
              f"{m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}; load average before the "
              f"run {m['load_before'][0]:.2f}. Postgres, the server under test, wrk and the analytics stub share the "
              "cores, as in the article's measurements.", "",
              "## Commands", "", "```"]
    lines += [f"{command_line(args)}   # all of the below"]
    cmds = []
    for r in rows:
        c = r.get("command")
        if c and c not in cmds:
            cmds.append(c)
    lines += cmds[:3] + (["..."] if len(cmds) > 3 else []) + ["```", "",
              f"Every command is in `{out.stem}.json`: `rows` holds every pass's windows (with `pass` and "
              "`position`), `summary` the medians, minima and maxima."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def settings_for(quick: bool, passes: int = 3, duration: float | None = None, warmup: float | None = None,
                 first_warmup: float | None = None) -> Settings:
    """The run's settings. Budget on 2 cores with 3 passes (estimate_seconds; tests/bench checks
    it): the full run (every scenario, 8 and 64 connections, 8 s windows) about 34 minutes, under
    40 with scripts/bench's own checks; --quick (no analytics, 64 connections, 3 s windows after a
    2 s warm-up) under 4, under 5 with scripts/bench's checks."""
    if quick:
        return Settings(["none"], [64], first_warmup=first_warmup or 2, warmup=warmup or 2,
                        duration=duration or 3, samples=10, wrk_timeout=10, passes=passes)
    return Settings(["none", "healthy", "hung"], [8, 64], first_warmup=first_warmup or 5, warmup=warmup or 2,
                    duration=duration or 8, samples=10, wrk_timeout=10, passes=passes)


def python_info() -> dict:
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    venv = sys.executable.replace(str(ROOT) + "/", "")
    return {"executable": sys.executable, "venv": venv, "base": base, "version": platform.python_version(),
            "sys_version": sys.version}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="no analytics, 64 connections, short windows")
    p.add_argument("--only", default="", help="comma-separated variant keys (and enrich-run, pgbench)")
    p.add_argument("--deploy", action="store_true", help="the deployment rows only: both examples and the"
                   " originals at 2 workers, and through PgBouncer (default output bench/results/deploy)")
    p.add_argument("--tracing-cost", action="store_true", help="both enrich examples with tracing off and on"
                   " (default output bench/results/tracing.md)")
    p.add_argument("--output", default="", help="report path without suffix (default bench/results/latest"
                   " or bench/results/quick)")
    p.add_argument("--passes", type=int, default=3, help="interleaved passes over every variant (default 3)")
    p.add_argument("--duration", type=float, help="measured window, s (default 8; --quick 3)")
    p.add_argument("--warmup", type=float, help="warm-up before a server's later windows, s (default 2)")
    p.add_argument("--first-warmup", type=float, help="warm-up before a server's first window, s (default 5;"
                   " --quick 2)")
    args = p.parse_args()
    if args.passes < 1:
        p.error("--passes must be at least 1")

    dsn = os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("DATABASE_URL is not set (scripts/bench sets it)")
    for tool in ("wrk", "pgbench", "psql", "node"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (scripts/setup --bench installs what the benchmark needs)")
    build = Path(os.environ.get("ENRICH_BUILD_DIR", ROOT / "build"))
    enrich_run = str(build / "bin" / "enrich-run")
    stub_bin = str(build / "examples" / "stub" / "enrich-analytics-stub")

    s = settings_for(args.quick, args.passes, args.duration, args.warmup, args.first_warmup)
    default_out = ("deploy" if args.deploy else "tracing" if args.tracing_cost
                   else "quick" if args.quick else "latest")
    out = Path(args.output) if args.output else ROOT / "bench" / "results" / default_out
    out.parent.mkdir(parents=True, exist_ok=True)

    vs = variants(sys.executable)
    for v in vs:
        LABELS[v.key] = v.label
    LABELS.update({"enrich-run": "enrich-run (native, no server)", "pgbench-plain": "pgbench -M prepared",
                   "pgbench-pipeline": "pgbench -M prepared, pipelined"})
    only = set(filter(None, args.only.split(",")))
    unknown = only - {v.key for v in vs} - {"enrich-run", "pgbench"}
    if unknown:
        raise SystemExit(f"unknown --only key(s) {', '.join(sorted(unknown))}; keys: "
                         + ", ".join([v.key for v in vs] + ["enrich-run", "pgbench"]))
    if only:
        vs = [v for v in vs if v.key in only]
    elif args.deploy:
        vs = [v for v in vs if v.deploy or v.key == "fastapi-asyncpg"]  # the PgBouncer row's comparison
    elif args.tracing_cost:
        vs = [v for v in vs if v.traced or v.key in ("fastify-enrich-fast", "fastapi-enrich-fast")]
        vs = [replace(v, scenarios=tuple(sc for sc in v.scenarios if sc in ("none", "healthy"))) for v in vs]
    else:
        vs = [v for v in vs if not v.deploy and not v.traced and not v.batched]
    vs = [v for v in vs if windows_of(v, s)]  # e.g. the shared-httpx original has no no-analytics row
    native = (not only and not args.deploy and not args.tracing_cost) or "enrich-run" in only
    bench_pg = (not only and not args.deploy and not args.tracing_cost) or "pgbench" in only
    if any(v.pgbouncer for v in vs) and not os.environ.get("ENRICH_PGBOUNCER_DSN"):
        raise SystemExit("ENRICH_PGBOUNCER_DSN is not set (scripts/bench starts PgBouncer and sets it)")

    py = python_info()
    log(f"Python servers run on {py['venv']} -> {py['base']} (Python {py['version']})")
    estimate = estimate_seconds(vs, s, native, bench_pg)
    log(f"{s.passes} pass(es) of {len(vs) + native + bench_pg} units, {s.duration:g} s windows: "
        f"estimated {estimate / 60:.1f} min")

    started = time.monotonic()
    pg = Postgres(dsn)
    meta = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "versions": versions(pg), "quick": args.quick, "python": py, "estimated_s": estimate, "orders": []}
    stub = Stub(stub_bin)
    env = {**os.environ, "DATABASE_URL": dsn, "ANALYTICS_URL": stub.url, "HOST": "127.0.0.1"}
    env.pop("LOG_LEVEL", None)
    rows: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="enrich-bench-"))
    units: list[tuple[str, object]] = [
        (v.key, lambda n, v=v: measure_server(v, s, stub, pg, env, workdir, tag=f"-pass{n}")) for v in vs]
    if native:
        units.append(("enrich-run", lambda n: run_enrich_native(s, stub, pg, dsn, enrich_run)))
    if bench_pg:
        units.append(("pgbench", lambda n: run_pgbench(s, pg, dsn, workdir)))
    try:
        for i in range(s.passes):
            order = pass_order(units, i, s.passes)
            meta["orders"].append([key for key, _ in order])
            log(f"pass {i + 1} of {s.passes}: {', '.join(key for key, _ in order)}")
            for pos, (key, run) in enumerate(order):
                for row in run(i + 1):
                    row["pass"], row["position"] = i + 1, pos + 1
                    rows.append(row)
    finally:
        stub.stop()
    meta["elapsed_s"] = time.monotonic() - started
    summary_rows = aggregate(rows)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "settings": s.__dict__, "rows": rows,
                                                    "summary": summary_rows}, indent=1, default=str) + "\n")
    picture = plot(summary_rows, vs, s, out.with_suffix(".png"))
    write_report(rows, summary_rows, vs, s, args, meta, out, picture)
    print(out.with_suffix(".md").read_text())
    failed = [r for r in rows if r.get("failed")]
    if failed:
        print("\n" + "!" * 78 + f"\n!!! {len(failed)} WINDOW(S) HAD ERRORS: their throughput is not reported.\n"
              + "\n".join(f"!!!   pass {r['pass']}: {r['variant']} / {r['scenario']} / {r['connections']}: "
                          f"{r['failed'][:200]}" for r in failed) + "\n" + "!" * 78, file=sys.stderr)
        log(f"server logs and wrk scripts kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    log(f"wrote {out.with_suffix('.md')}, .json, .png in {meta['elapsed_s'] / 60:.1f} min "
        f"(estimated {estimate / 60:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
