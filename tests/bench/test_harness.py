"""bench/run.py checks its own honesty: every response under load (wrk's Lua check) and a sample
of fully parsed documents. A server that answers wrongly must come out FAILED, with the reason,
and a correct one must be measured. Runs the harness's real measuring code against
fake_endpoint.py under real wrk load."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = bench  # dataclasses look their module up
spec.loader.exec_module(bench)

STUB = os.environ.get("ENRICH_ANALYTICS_STUB", "")
pytestmark = pytest.mark.skipif(not shutil.which("wrk") or not STUB,
                                reason="needs wrk (scripts/setup) and ENRICH_ANALYTICS_STUB (ctest sets it)")


class NoDatabase:
    """The harness samples Postgres's CPU; these servers use no database."""

    def ticks(self) -> dict:
        return {}


@pytest.fixture(scope="module")
def stub():
    s = bench.Stub(STUB)
    yield s
    s.stop()


def measure(mode: str, stub, tmp_path: Path) -> dict:
    v = bench.Variant(f"fake-{mode}", f"fake {mode}", "node",
                      [sys.executable, str(Path(__file__).with_name("fake_endpoint.py")), mode],
                      scenarios=("none",))
    settings = bench.Settings(["none"], [4], first_warmup=1, warmup=1, duration=2, samples=6, wrk_timeout=5)
    rows = bench.measure_server(v, settings, stub, NoDatabase(), dict(os.environ), tmp_path)
    assert len(rows) == 1
    return rows[0]


def test_a_correct_server_is_measured(stub, tmp_path):
    row = measure("good", stub, tmp_path)
    assert "failed" not in row, row.get("failed")
    assert row["requests"] > 0 and row["rps"] > 0
    assert row["bad"] == 0 and row["non2xx"] == 0 and row["socket_errors"] == 0
    assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert row["cold_start_ms"] > 0 and row["peak_rss_mb"] > 0


def test_a_missing_key_fails_every_response(stub, tmp_path):
    row = measure("missing-key", stub, tmp_path)
    assert "bad responses" in row["failed"]
    assert row["bad"] == row["requests"] > 0


def test_a_document_for_the_wrong_user_fails_the_sample(stub, tmp_path):
    row = measure("wrong-user", stub, tmp_path)
    assert row["bad"] == 0  # looks right to the per-response check...
    assert "bad sample documents" in row["failed"] and "is not user" in row["failed"]  # ...not to the parse


def test_errors_fail_the_window(stub, tmp_path):
    row = measure("status-500", stub, tmp_path)
    assert "non-2xx" in row["failed"]


def test_a_failed_window_reports_no_throughput(stub, tmp_path):
    row = measure("status-500", stub, tmp_path)
    lines = bench.table([row], [bench.Variant(row["variant"], "fake", "node")], "none", 4)
    cells = [c.strip() for c in lines[-1].split("|")]
    assert cells[2] == "**FAILED**" and "non-2xx" in lines[-1]
