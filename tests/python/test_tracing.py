"""Tracing and timings through the Python binding, with OpenTelemetry's SDK and its in-memory
exporter (opentelemetry-sdk, pinned in requirements-dev.txt) and the analytics stub recording the
trace context it received.

- ``tracing=True``: a plan's span is a child of the caller's current span; one span per step with
  the native start and end times, semantic-convention attributes, the shared Sync of the read-only
  wave; the analytics call carries the plan span's traceparent; a failed plan's span is an error.
- Direct statements get spans too.
- ``run_with_timings`` returns the core's per-step timings.
- Without opentelemetry installed, a client with tracing=True works and makes no spans.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import enrich

from conftest import FIXTURE_DSN, PLAN_PATH, TEST_DSN, python_subprocess

EXPORTER = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_provider)
TRACER = trace.get_tracer("tests")


def stub_stats(stub) -> dict:
    with urllib.request.urlopen(stub.url + "/__stats", timeout=5) as r:
        return json.loads(r.read())


def test_plan_spans_are_children_of_the_callers_span_and_the_service_gets_the_context(healthy_stub):
    plan = enrich.Plan.load(str(PLAN_PATH), variables={"ANALYTICS_URL": healthy_stub.url})

    async def main():
        async with enrich.Client(FIXTURE_DSN, tracing=True) as c:
            await c.run_json(plan, user_id=1)  # the connection is open from here on
            EXPORTER.clear()
            with TRACER.start_as_current_span("GET /api/users/{id}/enriched") as request_span:
                body = await c.run_json(plan, user_id=42, include_analytics=True)
            assert json.loads(body)["user"]["id"] == 42
            return request_span

    request_span = asyncio.run(main())
    spans = {s.name: s for s in EXPORTER.get_finished_spans()}
    plan_span = spans[f"enrich.plan {plan.name}"]
    assert plan_span.parent.span_id == request_span.get_span_context().span_id
    assert plan_span.context.trace_id == request_span.get_span_context().trace_id
    steps = [s for s in spans.values() if s.parent and s.parent.span_id == plan_span.context.span_id]
    assert {s.attributes["enrich.step"] for s in steps} == {"user", "preferences", "recent_activity", "analytics"}
    for s in steps:
        assert plan_span.start_time <= s.start_time <= s.end_time <= plan_span.end_time, s.name
        if s.attributes["enrich.step"] == "analytics":
            assert s.attributes["http.request.method"] == "GET"
            assert s.attributes["http.response.status_code"] == 200
            assert s.kind == trace.SpanKind.CLIENT
        else:
            assert s.attributes["db.system.name"] == "postgresql"
            assert s.attributes["enrich.shared_sync"] is True and s.attributes["enrich.wave"] == 3
            assert s.attributes["server.port"] > 0
            assert s.attributes["db.operation.name"] == "SELECT"
            assert "db.query.text" not in s.attributes  # opt-in: trace_query_text
    # The analytics service saw the plan span as its parent, as with an instrumented httpx.
    trace_id = format(plan_span.context.trace_id, "032x")
    span_id = format(plan_span.context.span_id, "016x")
    received = stub_stats(healthy_stub)["last_traceparent"]
    assert received.startswith(f"00-{trace_id}-{span_id}-"), received  # then the sampled flags


def test_direct_queries_and_failures_get_spans():
    async def main():
        async with enrich.Client(TEST_DSN, tracing=True) as c:
            EXPORTER.clear()
            assert await c.fetch_value("SELECT 41 + $1::int", 1) == 42
            with pytest.raises(enrich.UndefinedTableError):
                await c.fetch("SELECT * FROM no_such_table_for_tracing")

    asyncio.run(main())
    ok, failed = EXPORTER.get_finished_spans()
    assert ok.name == "SELECT" and ok.attributes["db.operation.name"] == "SELECT"
    assert ok.attributes["db.system.name"] == "postgresql"
    assert "db.query.text" not in ok.attributes
    assert failed.status.status_code == trace.StatusCode.ERROR
    assert failed.attributes["error.type"] == "query"
    assert failed.attributes["db.response.status_code"] == "42P01"


def test_statement_texts_only_with_trace_query_text():
    plan = enrich.Plan.load(str(PLAN_PATH), variables={"ANALYTICS_URL": "http://127.0.0.1:9"})

    async def main():
        async with enrich.Client(FIXTURE_DSN, tracing=True, trace_query_text=True) as c:
            await c.run_json(plan, user_id=1)
            EXPORTER.clear()
            await c.run_json(plan, user_id=42)
            assert await c.fetch_value("  /* leading comment */ with x AS (SELECT 2) TABLE x") == 2

    asyncio.run(main())
    spans = {s.attributes.get("enrich.step", s.name): s for s in EXPORTER.get_finished_spans()}
    user = spans["user"]
    assert user.attributes["db.query.text"] == "SELECT * FROM users WHERE id = $1"
    assert user.attributes["db.operation.name"] == "SELECT"
    direct = spans["WITH"]  # the core's reading: comments skipped, upper case
    assert direct.attributes["db.operation.name"] == "WITH"
    assert direct.attributes["db.query.text"] == "  /* leading comment */ with x AS (SELECT 2) TABLE x"


def test_a_failed_plan_ends_its_span_as_an_error_with_the_steps_until_then():
    plan = enrich.Plan.from_json(json.dumps({
        "name": "broken", "steps": [
            {"name": "x", "sql": "SELECT 1 AS id FROM no_such_table_for_plans", "shape": "one"},
            {"name": "slow", "sql": "SELECT pg_sleep(30) IS NULL AS slept", "shape": "value"},
            {"name": "after", "sql": "SELECT $1::int AS id", "params": ["x.id"], "shape": "one"},
        ],
    }))

    async def main():
        async with enrich.Client(TEST_DSN, tracing=True) as c:
            EXPORTER.clear()
            with pytest.raises(enrich.UndefinedTableError):
                await c.run_json(plan)

    asyncio.run(main())
    spans = {s.attributes.get("enrich.step", s.name): s for s in EXPORTER.get_finished_spans()}
    plan_span = spans.pop("enrich.plan broken")
    assert plan_span.status.status_code == trace.StatusCode.ERROR
    # The failing step, and the one stopped because of it; "after" never started: no span.
    assert set(spans) == {"x", "slow"}, set(spans)
    assert spans["x"].attributes["error.type"] == "query"
    assert spans["x"].attributes["db.response.status_code"] == "42P01"
    assert spans["slow"].attributes["error.type"] == "cancelled"
    for s in spans.values():
        assert s.parent.span_id == plan_span.context.span_id
        assert plan_span.start_time <= s.start_time <= s.end_time <= plan_span.end_time, s.name


def test_run_with_timings(healthy_stub):
    plan = enrich.Plan.load(str(PLAN_PATH), variables={"ANALYTICS_URL": healthy_stub.url})

    async def main():
        async with enrich.Client(FIXTURE_DSN) as c:
            await c.run_json(plan, user_id=1)
            return await c.run_with_timings(plan, user_id=42, include_analytics=True)

    body, timings = asyncio.run(main())
    assert json.loads(body)["user"]["id"] == 42
    steps = {s["name"]: s for s in timings["steps"]}
    assert steps["user"]["kind"] == "sql" and steps["user"]["rows"] == 1
    assert steps["user"]["queued_us"] <= steps["user"]["duration_us"]
    assert steps["analytics"]["status"] == 200 and steps["analytics"]["attempts"] == 1
    assert timings["total_us"] >= max(s["start_us"] + s["duration_us"] for s in steps.values())


def test_the_timings_option_keeps_run_json_a_document():
    plan = enrich.Plan.from_json('{"name": "p", "steps": [{"name": "v", "sql": "SELECT 2 AS v", "shape": "value"}]}')

    async def main():
        async with enrich.Client(TEST_DSN, timings=True) as c:
            assert json.loads(await c.run_json(plan))["v"] == 2
            assert c.run_sync(plan)["v"] == 2
            _, timings = await c.run_with_timings(plan)
            assert timings["steps"][0]["name"] == "v"

    asyncio.run(main())


def test_tracing_without_opentelemetry_installed():
    """The binding never requires OpenTelemetry: with the package hidden, tracing=True still works."""
    code = f"""
import sys, asyncio
sys.modules["opentelemetry"] = None  # import opentelemetry now raises ImportError
import enrich
async def main():
    async with enrich.Client({TEST_DSN!r}, tracing=True) as c:
        assert await c.fetch_value("SELECT 1") == 1
        plan = enrich.Plan.from_json('{{"name": "p", "steps": [{{"name": "v", "sql": "SELECT 2 AS v", "shape": "value"}}]}}')
        assert (await c.run(plan)) ["v"] == 2
asyncio.run(main())
print("ok")
"""
    p = python_subprocess(code, timeout=60)
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr
