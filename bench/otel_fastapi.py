"""The FastAPI example with tracing on, as a traced service runs it (scripts/bench --tracing-cost):
OpenTelemetry's SDK with every request sampled, a batch span processor and an exporter that drops
the spans, then examples/fastapi/app.py as __main__ (ENRICH_TRACING=1 comes from the variant)."""

import runpy
import sys
from pathlib import Path
from typing import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON


class DropExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


provider = TracerProvider(sampler=ALWAYS_ON)
provider.add_span_processor(BatchSpanProcessor(DropExporter()))
trace.set_tracer_provider(provider)

app = Path(__file__).resolve().parents[1] / "examples" / "fastapi" / "app.py"
sys.path.insert(0, str(app.parent))
runpy.run_path(str(app), run_name="__main__")
