"""Shared fixtures of the Python binding's tests.

Environment (scripts/test and ctest set these):
  ENRICH_TEST_DSN        a database on the test server (role with SUPERUSER)
  ENRICH_FIXTURE_DSN     the enrich_fixture database: the article's tables, users 1..2000
  ENRICH_ORIGINAL_FIXTURE_DSN, ENRICH_ORIGINAL_TEST_DSN
                         where the original code and asyncpg (the reference) read them
  ENRICH_ANALYTICS_STUB  the enrich-analytics-stub binary (started here, on a free port)
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest

import enrich

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "fastapi"

TEST_DSN = os.environ.get("ENRICH_TEST_DSN", "postgresql://enrich:enrich@127.0.0.1:54329/enrich")
FIXTURE_DSN = os.environ.get("ENRICH_FIXTURE_DSN", TEST_DSN.rsplit("/", 1)[0] + "/enrich_fixture")
# The article's original code and asyncpg as the reference (its statement cache) do not work behind
# PgBouncer in transaction mode; when the suites run through PgBouncer they read the database
# directly, so the comparison is enrich through PgBouncer against the reference on the direct path.
ORIGINAL_FIXTURE_DSN = os.environ.get("ENRICH_ORIGINAL_FIXTURE_DSN", FIXTURE_DSN)
ORIGINAL_TEST_DSN = os.environ.get("ENRICH_ORIGINAL_TEST_DSN", TEST_DSN)
# Nothing listens here: connections are refused at once.
DEAD_DSN = "postgresql://enrich:enrich@127.0.0.1:1/enrich?connect_timeout=2"
PLAN_PATH = ROOT / "examples" / "plans" / "user_enriched_python.json"


def run(coro_fn: Callable[[], Awaitable[Any]], loop: str = "asyncio") -> Any:
    """Runs a coroutine function on a fresh event loop of the given kind."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coro_fn())
    return asyncio.run(coro_fn())


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    return request.param


async def wait_settled(client: Any, timeout: float = 10.0) -> dict:
    """Waits until nothing is in flight, pending or in a transaction; returns the stats."""
    deadline = time.monotonic() + timeout
    while True:
        s = client.stats()
        if s["pending_operations"] == 0 and s["in_transaction"] == 0 and s["in_flight"] == 0 \
                and s["waiting"] == 0:
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"client did not settle: {s}")
        await asyncio.sleep(0.02)


def wait_settled_sync(client: Any, timeout: float = 10.0) -> dict:
    return asyncio.run(wait_settled(client, timeout))


async def eventually(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Waits (yielding to the loop) until `predicate()` holds; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


def eventually_sync(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


def statement_marker(prefix: str = "py_marker") -> str:
    """A marker that makes one statement findable on the server: put it in a comment of the SQL,
    f"SELECT pg_sleep(30) /* {marker} */", and wait_running(marker) finds exactly that one."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:12]}"


RUNNING_SQL = (
    "SELECT count(*)::int FROM pg_stat_activity "
    "WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0"
)


async def wait_running(marker: str, count: int = 1, timeout: float = 10.0) -> None:
    """Waits until `count` statements whose text holds `marker` run on the server, as a connection
    of its own sees them in pg_stat_activity. A test that cancels a running statement waits for
    it first, so that it cancels a statement that runs, not one still on its way."""
    async with enrich.Client(TEST_DSN, max_connections=1) as monitor:
        deadline = time.monotonic() + timeout
        while (n := await monitor.fetch_value(RUNNING_SQL, marker)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the statement marked {marker} was not seen running in pg_stat_activity "
                    f"within {timeout} s ({n} of {count} active)"
                )
            await asyncio.sleep(0.02)



class Stub:
    """The analytics stub server (examples/stub), one per test session."""

    def __init__(self) -> None:
        binary = os.environ.get("ENRICH_ANALYTICS_STUB") or str(
            ROOT / "build" / "examples" / "stub" / "enrich-analytics-stub"
        )
        if not os.path.exists(binary):
            raise RuntimeError(f"analytics stub not found at {binary} (set ENRICH_ANALYTICS_STUB)")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--host", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "LISTENING":
            self.proc.kill()
            raise RuntimeError(f"analytics stub did not start: {line}")
        self.port = int(line[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, mode: str = "healthy", delay_ms: int = 0, **extra: Any) -> None:
        q = f"mode={mode}" + (f"&delay_ms={delay_ms}" if delay_ms else "")
        for k, v in extra.items():
            q += f"&{k}={v}"
        req = urllib.request.Request(f"{self.url}/__control?{q}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    def summary(self, user_id: int) -> dict:
        with urllib.request.urlopen(f"{self.url}/users/{user_id}/summary", timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def stub() -> Iterator[Stub]:
    s = Stub()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def healthy_stub(stub: Stub) -> Iterator[Stub]:
    stub.control("healthy")
    yield stub
    stub.control("healthy")


def python_subprocess(code: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter (the one running the tests)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


# ---- servers started as subprocesses (the examples) --------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_response(proc: subprocess.Popen, url: str, what: str, seconds: float) -> bytes:
    """The body of the first answer from a server that is starting; fails if it exits or does not
    answer in time (with its stderr)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what} did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
            time.sleep(0.1)


def stop(proc: subprocess.Popen, seconds: float) -> None:
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
