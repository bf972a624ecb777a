"""Metrics through the Python binding: Client.metrics(), enrich.PrometheusCollector in a
prometheus_client registry, and the FastAPI example's /metrics (with its worker label) and trace
context propagation (ENRICH_TRACING=1: the analytics service sees the caller's trace id)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

import enrich

from conftest import EXAMPLES, FIXTURE_DSN, PLAN_PATH, first_response, free_port, stop


def test_collector_serves_the_core_families(healthy_stub):
    plan = enrich.Plan.load(str(PLAN_PATH), variables={"ANALYTICS_URL": healthy_stub.url})

    async def main(c):
        for uid in (1, 2, 3):
            await c.run_json(plan, user_id=uid, include_analytics=True)
        try:
            await c.fetch("SELECT * FROM no_such_table_for_metrics")
        except enrich.UndefinedTableError:
            pass

    with enrich.Client(FIXTURE_DSN) as c:
        asyncio.run(main(c))
        registry = prometheus_client.CollectorRegistry(auto_describe=False)
        registry.register(enrich.PrometheusCollector(c, labels={"worker": "7"}))
        text = prometheus_client.generate_latest(registry).decode()
        assert {f["name"] for f in c.metrics()} >= {"enrich_statements_total", "enrich_plan_duration_seconds"}
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("enrich_plans_total", (("outcome", "ok"), ("worker", "7")))] == 3
    assert samples[("enrich_http_requests_total", (("status_class", "2xx"), ("worker", "7")))] == 3
    assert samples[("enrich_statement_errors_total", (("kind", "query"), ("sqlstate_class", "42"), ("worker", "7")))] == 1
    assert samples[("enrich_statements_total", (("worker", "7"),))] >= 10
    assert families["enrich_plan_duration_seconds"].type == "histogram"
    assert samples[("enrich_plan_duration_seconds_count", (("worker", "7"),))] == 3
    # A closed client contributes nothing (and does not fail the scrape).
    assert c.metrics() == [] and list(enrich.PrometheusCollector(c).collect()) == []


def test_fastapi_example_serves_metrics_and_passes_the_trace_context_on(healthy_stub):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    incoming = f"00-{trace_id}-00f067aa0ba902b7-01"
    for mode in ("fast", "compat"):
        port = free_port()
        env = {**os.environ, "DATABASE_URL": FIXTURE_DSN, "ANALYTICS_URL": healthy_stub.url,
               "PORT": str(port), "ENRICH_MODE": mode, "ENRICH_TRACING": "1"}
        proc = subprocess.Popen([sys.executable, str(EXAMPLES / "app.py")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            first_response(proc, base + "/api/users/1/enriched", "app.py", 20)
            req = urllib.request.Request(base + "/api/users/42/enriched?include_analytics=true",
                                         headers={"traceparent": incoming})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert json.loads(r.read())["user"]["id"] == 42
            with urllib.request.urlopen(healthy_stub.url + "/__stats", timeout=5) as r:
                received = json.loads(r.read())["last_traceparent"]
            assert received.startswith(f"00-{trace_id}-"), (mode, received)
            with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
                text = r.read().decode()
            samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
            plans = [s for s in samples if s.name == "enrich_plans_total" and s.labels.get("outcome") == "ok"]
            workers = {s.labels["worker"] for s in samples}
            assert workers == {str(proc.pid)}, workers  # one worker: the process itself
            if mode == "fast":
                assert plans and plans[0].value >= 2
            else:
                statements = [s for s in samples if s.name == "enrich_statements_total"]
                assert statements[0].value >= 6
        finally:
            stop(proc, 10)
