#!/usr/bin/env python3
"""Quick requests/s of the article's FastAPI endpoint in its forms, one after the other under the
same load, in one run:

  original          examples/fastapi/original.py (asyncpg + httpx, an httpx client per request,
                    as the article prints it)
  original-shared   the same with one shared httpx.AsyncClient (ORIGINAL_SHARED_HTTP_CLIENT=1)
  compat            examples/fastapi/app.py ENRICH_MODE=compat (enrich queries + response model)
  fast              examples/fastapi/app.py ENRICH_MODE=fast (one plan, run_json -> Response)

Each server is a fresh child process (uvicorn on uvloop, one worker, access log off) on a free
port, warmed up, then loaded by wrk with random user ids (1..--users) for --duration seconds.
Needs wrk (apt-get install wrk), DATABASE_URL or ENRICH_FIXTURE_DSN with the article's tables,
the analytics stub (ENRICH_ANALYTICS_STUB or build/examples/stub/enrich-analytics-stub), and the
project's venv (. scripts/env.sh). On a 2-core machine wrk, the server, enrich's I/O thread and
Postgres share the cores: compare the rows with each other, not with numbers from elsewhere.
The full benchmark (all implementations, longer runs) is bench's other harness.

  python bench/python_fastapi_quick.py [--duration 10] [--connections 32] [--analytics 0|1]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "fastapi"

FORMS = {
    "original": ("original.py", {}),
    "original-shared": ("original.py", {"ORIGINAL_SHARED_HTTP_CLIENT": "1"}),
    "compat": ("app.py", {"ENRICH_MODE": "compat"}),
    "fast": ("app.py", {"ENRICH_MODE": "fast"}),
}

WRK_SCRIPT = """
math.randomseed(42)
request = function()
  local id = math.random(1, {users})
  return wrk.format("GET", "/api/users/" .. id .. "/enriched?include_analytics={analytics}")
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not become ready")


def wrk(port: int, duration: int, connections: int, script: str) -> dict:
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency", "-s", script,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": lat.get("50", "?"), "p99": lat.get("99", "?"),
            "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--analytics", choices=["0", "1"], default="0")
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--forms", default=",".join(FORMS))
    args = p.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    dsn = os.environ.get("DATABASE_URL_BENCH") or os.environ.get("ENRICH_FIXTURE_DSN") or os.environ.get("DATABASE_URL")
    if not dsn:
        raise SystemExit("set ENRICH_FIXTURE_DSN or DATABASE_URL")
    stub_bin = os.environ.get("ENRICH_ANALYTICS_STUB") or str(ROOT / "build/examples/stub/enrich-analytics-stub")
    stub = subprocess.Popen([stub_bin, "--port", "0"], stdout=subprocess.PIPE, text=True)
    stub_url = f"http://127.0.0.1:{int(stub.stdout.readline().split()[1])}"
    analytics = "true" if args.analytics == "1" else "false"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT.replace("{users}", str(args.users)).replace("{analytics}", analytics))
        script = f.name
    rows = []
    try:
        for form in args.forms.split(","):
            file, extra = FORMS[form]
            port = free_port()
            env = {**os.environ, **extra, "DATABASE_URL": dsn, "ANALYTICS_URL": stub_url, "PORT": str(port)}
            server = subprocess.Popen([sys.executable, str(EXAMPLES / file)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_ready(f"http://127.0.0.1:{port}/api/users/1/enriched", server)
                wrk(port, args.warmup, args.connections, script)
                rows.append((form, wrk(port, args.duration, args.connections, script)))
            finally:
                server.terminate()
                server.wait(15)
    finally:
        stub.terminate()
        os.unlink(script)
    print(f"\nGET /api/users/<random 1..{args.users}>/enriched?include_analytics={analytics}, "
          f"{args.connections} connections, {args.duration} s (wrk, 1 thread)\n")
    print("| form | requests/s | p50 | p99 | non-2xx |")
    print("|---|---|---|---|---|")
    for form, r in rows:
        print(f"| {form} | {r['rps']:,.0f} | {r['p50']} | {r['p99']} | {r['non2xx']} |")


if __name__ == "__main__":
    main()
