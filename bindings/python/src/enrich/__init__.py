"""enrich: a native (C++) pooled, pipelined Postgres client, HTTP client and plan runner for
asyncio, with one await per endpoint.

    import enrich

    client = enrich.Client("postgresql://user:pw@host/db", max_connections=8)
    row = await client.fetch_one("SELECT * FROM users WHERE id = $1", 42)
    plan = enrich.Plan.load("examples/plans/user_enriched_python.json")
    body = await client.run_json(plan, user_id=42)      # bytes, ready for a Response

Rows are plain dicts (column name -> value), decoded like asyncpg decodes them: int2/int4/int8
-> int, float4/float8 -> float, numeric -> Decimal, text types -> str, bool, bytea -> bytes,
date -> date, timestamp -> naive datetime, timestamptz -> UTC-aware datetime, time, interval ->
timedelta, uuid -> uuid.UUID, json/jsonb -> str (as asyncpg does), arrays -> lists, inet/cidr ->
ipaddress objects; other types -> their Postgres text.

Works on any asyncio event loop (uvloop included), from any number of loops and threads.
"""

from __future__ import annotations

from . import _errors, _native
from ._errors import *  # noqa: F403 (the names of _errors.__all__)
from ._errors import (
    from_native as _from_native,
)
from ._params import encode as _encode
from ._types import HttpResponse, decode_text as _decode_text

_native.set_hooks(_from_native, _decode_text, _encode)

from ._client import OPTIONS, Client, Plan, Record, SyncTransaction, Transaction  # noqa: E402
from ._metrics import PrometheusCollector  # noqa: E402

__version__ = _native.version_string()

__all__ = [
    "Client",
    "Plan",
    "Transaction",
    "SyncTransaction",
    "Record",
    "OPTIONS",
    "HttpResponse",
    "PrometheusCollector",
    *_errors.__all__,
    "__version__",
]
