"""The article's endpoint on enrich (examples/fastapi/app.py, both forms) against the article's
asyncpg + httpx version (examples/fastapi/original.py): equal JSON values, apart from the
processing time, for hundreds of random users with and without analytics; and the error
statuses (404, 422, 503)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, List

import httpx
import pytest

import enrich

from conftest import DEAD_DSN, EXAMPLES, FIXTURE_DSN, ORIGINAL_FIXTURE_DSN, first_response, free_port, run, stop

USERS = 2000  # the fixture's users are 1..2000
# tests/fixtures/awkward.sql: NULLs, empty values, control characters, huge numbers, no
# preferences (1991, 1996: the article's Python version answers 500 there; the example 200 with
# "preferences": null, in both modes).
AWKWARD = list(range(1991, 1998))
NO_PREFERENCES = {1991, 1996}


def load(name: str, file: str, env: dict) -> Any:
    """Imports an example module (they read their environment at import)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves the models' annotations through it
        spec.loader.exec_module(module)
        return module
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def modules(stub):
    env = {"DATABASE_URL": FIXTURE_DSN, "ANALYTICS_URL": stub.url}
    original_env = {**env, "DATABASE_URL": ORIGINAL_FIXTURE_DSN}
    return load("enrich_example_app", "app.py", env), load("enrich_example_original", "original.py", original_env)


def without_time(doc: dict) -> dict:
    doc = dict(doc)
    meta = dict(doc.get("meta") or {})
    assert isinstance(meta.pop("processing_time_ms"), (int, float))
    doc["meta"] = meta
    return doc


def differences(expected: Any, got: Any, path: str = "$") -> List[str]:
    """Where two JSON values differ, precisely (path, expected, got)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for k in expected.keys() | got.keys():
            if k not in got or k not in expected:
                out.append(f"{path}.{k}: key only in {'expected' if k in expected else 'got'}")
            else:
                out += differences(expected[k], got[k], f"{path}.{k}")
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in differences(e, g, f"{path}[{i}]")]
    if expected != got or type(expected) is not type(got):
        return [f"{path}: expected {expected!r} ({type(expected).__name__}), got {got!r} ({type(got).__name__})"]
    return []


async def fetch_all(app: Any, paths: List[str], batch: int = 50) -> List[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            out: List[httpx.Response] = []
            for i in range(0, len(paths), batch):
                out += await asyncio.gather(*(http.get(p) for p in paths[i : i + batch]))
            return out


@pytest.mark.parametrize("mode", ["compat", "fast", "route", "route-batched"])
def test_same_json_as_the_original(modules, mode, healthy_stub, loop_kind, monkeypatch):
    app_module, original = modules
    rng = random.Random(f"{mode}-{loop_kind}")
    batched = mode == "route-batched"
    if batched:
        # The same plan with its SQL steps batched across the concurrent requests of each batch.
        mode = "route"
        monkeypatch.setattr(app_module, "PLAN_PATH",
                            str(EXAMPLES.parent / "plans" / "user_enriched_python_batch.json"))
    ids = rng.sample(range(1, USERS + 1), 300)
    paths = [f"/api/users/{u}/enriched?include_analytics={'true' if i % 2 else 'false'}" for i, u in enumerate(ids)]
    paths += [f"/api/users/{u}/enriched" for u in ids[:20]]  # the default: no analytics
    paths += [f"/api/users/{u}/enriched?include_analytics={a}" for u in AWKWARD for a in ("true", "false")]

    # The article's per-request httpx client costs ~20 ms of CPU per request (a new TLS
    # context each time); one run keeps it, the others share one client to keep the suite fast.
    original.SHARED_HTTP_CLIENT = not (mode == "compat" and loop_kind == "asyncio")

    async def main():
        # The batched route's own count of batched statements comes last, from its /metrics.
        extra = ["/metrics"] if batched else []
        return await fetch_all(original.create_app(), paths), await fetch_all(app_module.create_app(mode), paths + extra)

    expected, got = run(main, loop_kind)
    if batched:
        metrics = got.pop().text
        count = re.search(r"^enrich_statements_batched_total\{[^}]*\} ([0-9.e+]+)$", metrics, re.M)
        assert count and float(count.group(1)) > 0, "the batched route never batched: the comparison showed nothing"

    # The article's version gives up on analytics after 0.5 s, which its per-request httpx
    # client can miss on a loaded machine (analytics: null). Ask it again, alone, for those.
    again = [i for i, (e, g) in enumerate(zip(expected, got))
             if e.status_code == 200 and e.json()["analytics"] is None and "analytics=true" in paths[i]]
    if again:
        async def retry():
            return await fetch_all(original.create_app(), [paths[i] for i in again], batch=1)

        for i, r in zip(again, run(retry, loop_kind)):
            expected[i] = r
    mismatches = []
    with_analytics = 0
    for path, e, g in zip(paths, expected, got):
        assert g.status_code == 200, (path, g.text)
        assert g.headers["content-type"] == "application/json"
        if int(path.split("/")[3]) in NO_PREFERENCES:
            assert e.status_code == 500, (path, e.text)  # the article's dict(None)
            assert g.json()["preferences"] is None, path
            continue
        assert e.status_code == 200, (path, e.text)
        e_doc, g_doc = without_time(e.json()), without_time(g.json())
        with_analytics += e_doc["analytics"] is not None
        diff = differences(e_doc, g_doc)
        if diff:
            mismatches.append((path, diff[:5]))
    assert not mismatches, f"{len(mismatches)} responses differ, e.g. {mismatches[:3]}"
    asked = sum(1 for p in paths if "analytics=true" in p and int(p.split("/")[3]) not in NO_PREFERENCES)
    assert with_analytics == asked  # the stub answered every analytics call


def test_errors_are_json_with_the_right_status(modules, healthy_stub):
    app_module, original = modules

    async def main():
        for mode in ("compat", "fast", "route"):
            app = app_module.create_app(mode)
            r404, r422, r_big, r_small, r_ok = await fetch_all(
                app,
                [
                    "/api/users/2001/enriched",
                    "/api/users/abc/enriched",
                    "/api/users/99999999999999999999999/enriched",
                    "/api/users/-9223372036854775809/enriched",
                    "/api/users/1/enriched",
                ],
            )
            assert (r404.status_code, r404.json()) == (404, {"detail": "User not found"}), mode
            for r in (r422, r_big, r_small):  # malformed ids, an id outside int64 among them
                assert r.status_code == 422 and r.json()["detail"], (mode, r.text)
            assert r_ok.status_code == 200
        # The article's version answers an unknown user with its 500 (kept as printed).
        r = (await fetch_all(original.create_app(), ["/api/users/2001/enriched"]))[0]
        assert (r.status_code, r.json()) == (500, {"detail": "Internal server error"})

        # A dead database: 503 with a JSON body, not a bare 500.
        app_module.DATABASE_URL = DEAD_DSN
        try:
            for mode in ("compat", "fast", "route"):
                r = (await fetch_all(app_module.create_app(mode), ["/api/users/1/enriched"]))[0]
                assert (r.status_code, r.json()) == (503, {"detail": "Database unavailable"}), mode
        finally:
            app_module.DATABASE_URL = FIXTURE_DSN

    run(main)


def test_awkward_users_give_the_same_json_in_both_modes(modules, healthy_stub):
    app_module, _ = modules
    paths = [f"/api/users/{u}/enriched?include_analytics={a}" for u in AWKWARD for a in ("true", "false")]

    async def main():
        return [await fetch_all(app_module.create_app(mode), paths) for mode in ("compat", "fast")]

    compat, fast = run(main)
    for path, c, f in zip(paths, compat, fast):
        assert c.status_code == f.status_code == 200, (path, c.text, f.text)
        diff = differences(without_time(c.json()), without_time(f.json()))
        assert not diff, (path, diff[:5])


def test_analytics_failures_do_not_fail_the_endpoint(modules, healthy_stub):
    app_module, _ = modules

    async def main():
        for stub_mode in ("hang", "error", "close"):
            healthy_stub.control(stub_mode)
            for mode in ("compat", "fast", "route"):
                r = (await fetch_all(app_module.create_app(mode), ["/api/users/3/enriched?include_analytics=true"]))[0]
                assert r.status_code == 200, (stub_mode, mode, r.text)
                doc = r.json()
                assert doc["user"]["id"] == 3
                if stub_mode != "error" or mode != "compat":  # compat keeps the article's r.json() of a 500
                    assert doc["analytics"] is None, (stub_mode, mode)
        healthy_stub.control("healthy")

    run(main)


@pytest.mark.parametrize("script,mode", [("app.py", "compat"), ("app.py", "fast"), ("app.py", "route"), ("original.py", None)])
def test_examples_start_as_scripts(script, mode, healthy_stub):
    """`python examples/fastapi/app.py` (uvicorn on uvloop) serves the endpoint."""
    port = free_port()
    dsn = ORIGINAL_FIXTURE_DSN if script == "original.py" else FIXTURE_DSN
    env = {**os.environ, "DATABASE_URL": dsn, "ANALYTICS_URL": healthy_stub.url, "PORT": str(port)}
    if mode:
        env["ENRICH_MODE"] = mode
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / script)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/users/42/enriched?include_analytics=true"
        doc = json.loads(first_response(proc, url, script, 20))
        assert doc["user"]["id"] == 42 and doc["analytics"] == healthy_stub.summary(42)
    finally:
        stop(proc, 10)
    assert proc.returncode in (0, -15), proc.stderr.read()


def _children(pid: int) -> List[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("how", ["uvicorn", "gunicorn --preload"])
def test_several_workers_each_with_their_own_client(how, healthy_stub):
    """WORKERS=2 (uvicorn's workers) and gunicorn -w 2 --preload with uvicorn-worker: every
    request answered correctly, two worker processes, and at most workers x max_connections
    connections to Postgres."""
    port = free_port()
    app_name = f"enrich_workers_{os.getpid()}_{port}"
    dsn = FIXTURE_DSN + ("&" if "?" in FIXTURE_DSN else "?") + f"application_name={app_name}"
    env = {**os.environ, "DATABASE_URL": dsn, "ANALYTICS_URL": healthy_stub.url, "PORT": str(port),
           "ENRICH_MODE": "fast", "ENRICH_MAX_CONNECTIONS": "2", "WORKERS": "2"}
    if how == "uvicorn":
        cmd = [sys.executable, str(EXAMPLES / "app.py")]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "--preload", "-k", "uvicorn_worker.UvicornWorker",
               "-b", f"127.0.0.1:{port}", "--chdir", str(EXAMPLES), "app:app"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/api/users/%d/enriched"
        first_response(proc, base % 1, how, 30)

        def get(uid: int) -> dict:
            with urllib.request.urlopen(base % uid, timeout=10) as r:
                return json.loads(r.read())

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            docs = list(pool.map(get, range(1, 201)))
        assert [d["user"]["id"] for d in docs] == list(range(1, 201))
        workers = [c for c in _children(proc.pid) if "resource_tracker" not in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) == 2, workers

        async def connections() -> int:
            async with enrich.Client(FIXTURE_DSN) as c:
                return await c.fetch_value(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app_name)

        n = run(connections)
        assert 1 <= n <= 2 * 2, f"{n} connections for 2 workers x max_connections 2"
    finally:
        stop(proc, 15)
