"""bench/run.py checks its own honesty: every response under load (wrk's Lua check) and a sample
of fully parsed documents. A server that answers wrongly must come out FAILED, with the reason,
and a correct one must be measured. Runs the harness's real measuring code against
fake_endpoint.py and the framework floors (examples/*/floor.*) under real wrk load.

And the passes: the order of each pass, the medians, spreads and ratios of the report, and the
run-time budget, as pure functions of made-up windows (no timing is asserted)."""

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
needs_wrk = pytest.mark.skipif(not shutil.which("wrk") or not STUB,
                               reason="needs wrk (scripts/setup) and ENRICH_ANALYTICS_STUB (ctest sets it)")


class NoDatabase:
    """The harness samples Postgres's CPU; these servers use no database."""

    def ticks(self) -> dict:
        return {}


@pytest.fixture(scope="module")
def stub():
    if not STUB:
        pytest.skip("needs ENRICH_ANALYTICS_STUB (ctest sets it)")
    s = bench.Stub(STUB)
    yield s
    s.stop()


def measure_variant(v, stub, tmp_path: Path) -> dict:
    settings = bench.Settings(["none"], [4], first_warmup=1, warmup=1, duration=2, samples=6, wrk_timeout=5)
    rows = bench.measure_server(v, settings, stub, NoDatabase(), dict(os.environ), tmp_path)
    assert len(rows) == 1
    return rows[0]


def measure(mode: str, stub, tmp_path: Path) -> dict:
    v = bench.Variant(f"fake-{mode}", f"fake {mode}", "node",
                      [sys.executable, str(Path(__file__).with_name("fake_endpoint.py")), mode],
                      scenarios=("none",))
    return measure_variant(v, stub, tmp_path)


@needs_wrk
def test_a_correct_server_is_measured(stub, tmp_path):
    row = measure("good", stub, tmp_path)
    assert "failed" not in row, row.get("failed")
    assert row["requests"] > 0 and row["rps"] > 0
    assert row["bad"] == 0 and row["non2xx"] == 0 and row["socket_errors"] == 0
    assert 0 < row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert row["cold_start_ms"] > 0 and row["peak_rss_mb"] > 0


@needs_wrk
def test_a_missing_key_fails_every_response(stub, tmp_path):
    row = measure("missing-key", stub, tmp_path)
    assert "bad responses" in row["failed"]
    assert row["bad"] == row["requests"] > 0


@needs_wrk
def test_a_document_for_the_wrong_user_fails_the_sample(stub, tmp_path):
    row = measure("wrong-user", stub, tmp_path)
    assert row["bad"] == 0  # looks right to the per-response check...
    assert "bad sample documents" in row["failed"] and "is not user" in row["failed"]  # ...not to the parse


@needs_wrk
def test_errors_fail_the_window(stub, tmp_path):
    row = measure("status-500", stub, tmp_path)
    assert "non-2xx" in row["failed"]


@needs_wrk
def test_a_failed_window_reports_no_throughput(stub, tmp_path):
    row = measure("status-500", stub, tmp_path)
    lines = bench.table([row], [bench.Variant(row["variant"], "fake", "node")], "none", 4)
    cells = [c.strip() for c in lines[-1].split("|")]
    assert cells[2] == "**FAILED**" and "non-2xx" in lines[-1]


# ---- the floors under the harness's checks -------------------------------------------------------


def floor(key: str):
    v = next(v for v in bench.variants(sys.executable) if v.key == key)
    assert v.constant and v.scenarios == ("none",)
    return v


@needs_wrk
def test_the_fastapi_floor_passes_the_checks(stub, tmp_path):
    pytest.importorskip("fastapi")
    row = measure_variant(floor("fastapi-floor"), stub, tmp_path)
    assert "failed" not in row, row.get("failed")
    assert row["bad"] == 0 and row["requests"] > 0


@needs_wrk
def test_the_fastify_floor_passes_the_checks(stub, tmp_path):
    if not shutil.which("node") or not (ROOT / "examples/fastify/node_modules/fastify").is_dir():
        pytest.skip("needs node and examples/fastify/node_modules (scripts/setup)")
    row = measure_variant(floor("fastify-floor"), stub, tmp_path)
    assert "failed" not in row, row.get("failed")
    assert row["bad"] == 0 and row["requests"] > 0


def test_only_a_floor_is_excused_the_user_id():
    body = b'{"user":{"id":5},"preferences":{},"recent_activity":[],"analytics":null,"meta":{}}'
    assert bench.check_document(floor("fastapi-floor"), "none", 7, 200, body) == ""
    real = next(v for v in bench.variants(sys.executable) if v.key == "fastapi-enrich-fast")
    assert "is not user 7" in bench.check_document(real, "none", 7, 200, body)
    assert "no 'meta'" in bench.check_document(floor("fastapi-floor"), "none", 7, 200, body.replace(b',"meta":{}', b""))


def test_every_server_has_its_frameworks_floor():
    vs = {v.key: v for v in bench.variants(sys.executable)}
    for v in vs.values():
        if v.deploy:  # 2 workers or PgBouncer: a one-process floor is no bar for them
            assert not v.floor and not v.constant
        elif not v.constant:
            assert vs[v.floor].family == v.family and vs[v.floor].constant


def test_route_helper_rows_run_the_examples_route_mode_beside_the_run_json_rows():
    vs = {v.key: v for v in bench.variants(sys.executable)}
    for route, fast, article in (("fastapi-enrich-route", "fastapi-enrich-fast", "fastapi-asyncpg"),
                                 ("fastify-enrich-route", "fastify-enrich-fast", "fastify-pg")):
        r, f = vs[route], vs[fast]
        assert r.command == f.command and r.env == {**f.env, "ENRICH_MODE": "route"}, route
        assert (r.family, r.floor, r.baseline, r.pool) == (f.family, f.floor, article, f.pool), route
        assert r.scenarios == ("none", "healthy") and not (r.deploy or r.traced or r.constant), route
        assert (r.query_flag, r.activity_key) == (f.query_flag, f.activity_key), route


def test_route_helper_targets_are_of_the_medians():
    for v in bench.variants(sys.executable):
        bench.LABELS[v.key] = v.label
    rows = []
    for key, rps in (("fastapi-floor", 5000), ("fastapi-enrich-fast", 2500), ("fastapi-enrich-route", 3600),
                     ("fastify-pg", 1000), ("fastify-enrich-fast", 3900), ("fastify-enrich-route", 4200)):
        rows += [window(key, rps * f, p) for p, f in ((1, 0.9), (2, 1.0), (3, 1.1))]
        rows += [window(key, rps * f / 2, p, scenario="healthy") for p, f in ((1, 0.9), (2, 1.0), (3, 1.1))]
    got = {t[0]: t[1:] for t in bench.targets(bench.aggregate(rows), 64, rows)}
    assert got["FastAPI + enrich plan_route ≥ 70% of the FastAPI floor's req/s, no analytics"][::2] == \
        ("0.72", True)
    assert got["FastAPI + enrich plan_route ahead of run_json, analytics, healthy stub"][::2] == ("1.44x", True)
    assert got["Fastify + enrich planRoute ≥ 4x Fastify + pg, no analytics"][::2] == ("4.20x", True)
    assert got["Fastify + enrich planRoute ahead of runJson, no analytics"][::2] == ("1.08x", True)


def test_tracing_rows_compare_with_their_untraced_forms():
    vs = {v.key: v for v in bench.variants(sys.executable)}
    traced = [v for v in vs.values() if v.traced]
    assert {v.key for v in traced} == {"fastify-enrich-fast-traced", "fastapi-enrich-fast-traced",
                                       "fastify-enrich-fast-tracing-nosdk", "fastapi-enrich-fast-tracing-nosdk"}
    for v in traced:
        base = vs[v.baseline]
        assert v.env == {**base.env, "ENRICH_TRACING": "1"} and v.family == base.family and not base.traced


def test_deploy_rows_compare_like_with_like():
    vs = {v.key: v for v in bench.variants(sys.executable)}
    deploy = [v for v in vs.values() if v.deploy]
    assert {v.key for v in deploy} >= {"fastify-enrich-fast-w2", "fastapi-enrich-fast-w2", "fastify-pg-w2",
                                       "fastapi-asyncpg-w2", "fastify-enrich-fast-pgbouncer",
                                       "fastapi-enrich-fast-pgbouncer"}
    for v in deploy:
        if v.key.endswith("-w2"):
            assert v.env.get("WORKERS") == "2" or "--workers" in v.command, v.key
            assert not v.baseline or vs[v.baseline].key.endswith("-w2"), v.key
        if v.pgbouncer:
            assert not v.baseline or vs[v.baseline].family == v.family, v.key


# ---- passes: order, aggregation, ratios, budget (pure) ---------------------------------------------


def window(variant, rps, p, scenario="none", conns=64, **extra):
    return {**dict(variant=variant, scenario=scenario, connections=conns, rps=rps, p50_ms=1000 / rps,
                   p90_ms=2000 / rps, p99_ms=3000 / rps, server_cpu_us=100.0, db_cpu_us=50.0,
                   requests=int(rps * 8), peak_rss_mb=60.0 + p, cold_start_ms=400.0, degraded=0,
                   command=f"wrk {variant}", position=1), "pass": p, **extra}


def test_each_pass_runs_every_unit_once_in_a_rotated_order():
    units = list("abcdefghij")
    orders = [bench.pass_order(units, p, 3) for p in range(3)]
    assert all(sorted(o) == units for o in orders)
    assert orders[0] == units and orders[1][0] == "d" and orders[2][0] == "g"
    for u in units:  # no unit is in the same place twice
        assert len({o.index(u) for o in orders}) == 3
    assert bench.pass_order(units, 0, 1) == units and bench.pass_order([], 1, 3) == []
    assert sorted(bench.pass_order(["x", "y"], 2, 5)) == ["x", "y"]


def test_the_median_of_the_passes_and_their_spread():
    rows = [window("a", 1000, 1), window("a", 1200, 2), window("a", 900, 3), window("b", 500, 2)]
    agg = {r["variant"]: r for r in bench.aggregate(rows)}
    a = agg["a"]
    assert a["rps"] == 1000 and (a["rps_min"], a["rps_max"]) == (900, 1200)
    assert a["p99_ms"] == 3.0 and a["peak_rss_mb"] == 62.0 and a["passes"] == [1, 2, 3]
    assert a["rps_spread"] == pytest.approx(0.15)
    assert bench.fmt_spread(a) == "±15%"
    assert agg["b"]["rps"] == 500 and bench.fmt_spread(agg["b"]) == ""  # one pass: no spread
    even = bench.aggregate([window("c", 100, 1), window("c", 200, 2)])[0]
    assert even["rps"] == 150


def test_a_window_failed_in_one_pass_fails_the_row():
    rows = [window("a", 1000, 1), window("a", 1100, 2, failed="3 non-2xx"), window("a", 900, 3)]
    [a] = bench.aggregate(rows)
    assert a["failed"] == "pass 2: 3 non-2xx"
    lines = bench.table([a], [bench.Variant("a", "A", "node")], "none", 64)
    assert "**FAILED**" in lines[-1] and "pass 2" in lines[-1]
    assert bench.ratio(bench.index([a, *bench.aggregate([window("b", 10, 1)])]), "a", "b", "none", 64) is None


def test_degraded_responses_add_up_over_the_passes():
    rows = [window("a", 1000, p, scenario="healthy", degraded=p) for p in (1, 2, 3)]
    assert bench.aggregate(rows)[0]["degraded"] == 6


def test_ratios_are_of_the_medians_and_floors_are_the_no_analytics_row():
    rows = [window("fastapi-floor", f, p) for p, f in ((1, 4000), (2, 5000), (3, 4500))]
    rows += [window("fastapi-enrich-fast", x, p) for p, x in ((1, 3000), (2, 3300), (3, 3600))]
    rows += [window("fastapi-enrich-fast", x, p, scenario="healthy") for p, x in ((1, 2000), (2, 2250), (3, 2500))]
    agg = bench.aggregate(rows)
    by = bench.index(agg)
    assert bench.ratio(by, "fastapi-enrich-fast", "fastapi-floor", "none", 64) == pytest.approx(3300 / 4500)
    assert bench.ratio(by, "fastapi-enrich-fast", "fastapi-floor", "healthy", 64, b_scenario="none") == \
        pytest.approx(2250 / 4500)
    lo, hi = bench.ratio_range(rows, "fastapi-enrich-fast", "fastapi-floor", "none", 64)
    assert (lo, hi) == (pytest.approx(3300 / 5000), pytest.approx(3600 / 4500))  # pairs of the same pass

    vs = [v for v in bench.variants(sys.executable) if v.key in ("fastapi-floor", "fastapi-enrich-fast")]
    for v in vs:
        bench.LABELS[v.key] = v.label
    line = next(x for x in bench.table(agg, vs, "healthy", 64) if x.startswith("| FastAPI + enrich run_json"))
    cells = [c.strip() for c in line.split("|")]
    assert cells[2] == "2,250" and cells[3] == "±11%" and cells[5] == "0.50"  # req/s, ±, vs floor
    target = next(t for t in bench.targets(agg, 64, rows) if "70% of the FastAPI floor" in t[0])
    assert target == (target[0], "0.73", "0.66–0.80", True)
    share = bench.floor_table(agg, rows, vs, ["none", "healthy"], 64)
    assert share[-1].split("|")[3].strip() == "0.73 (0.66–0.80)"


def test_the_budget_full_under_40_minutes_quick_under_5():
    vs = [v for v in bench.variants(sys.executable) if not v.deploy and not v.traced and not v.batched]
    deploy = [v for v in bench.variants(sys.executable) if v.deploy or v.key == "fastapi-asyncpg"]
    assert bench.estimate_seconds(deploy, bench.settings_for(False), False, False) < 25 * 60
    traced = [v for v in bench.variants(sys.executable)
              if v.traced or v.key in ("fastify-enrich-fast", "fastapi-enrich-fast")]
    assert bench.estimate_seconds(traced, bench.settings_for(False), False, False) < 20 * 60
    # scripts/bench's own setup, build and seed checks take well under a minute when nothing changed.
    for quick, limit in ((False, 39 * 60), (True, 4.5 * 60)):
        s = bench.settings_for(quick)
        assert s.passes == 3
        assert bench.estimate_seconds([v for v in vs if bench.windows_of(v, s)], s, True, True) < limit
    full = bench.settings_for(False)
    assert full.scenarios == ["none", "healthy", "hung"] and full.connections == [8, 64]
