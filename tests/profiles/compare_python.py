"""The python profile against the real thing: tests/profiles/types.sql fetched with asyncpg and
returned by a FastAPI endpoint through a pydantic 2 response model (as the article's endpoint
returns rows), compared with `enrich-query --profile python` on the same query.

    python compare_python.py ENRICH_QUERY_BINARY [DSN]   (default DSN: $ENRICH_TEST_DSN)
Exit status 0 when both documents are equal byte for byte.
"""

import asyncio
import json
import os
import pathlib
import subprocess
import sys
from typing import List

import asyncpg
import httpx
from fastapi import FastAPI
from pydantic import BaseModel

SQL = (pathlib.Path(__file__).parent / "types.sql").read_text()


class Rows(BaseModel):
    rows: List[dict]


async def fastapi_bytes(dsn: str) -> bytes:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    app = FastAPI()

    @app.get("/rows", response_model=Rows)
    async def rows() -> Rows:
        return Rows(rows=[dict(r) for r in await pool.fetch(SQL)])

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/rows")
    await pool.close()
    response.raise_for_status()
    # The endpoint wraps the rows in {"rows": ...}; compare the array itself.
    body = response.content
    prefix, suffix = b'{"rows":', b"}"
    assert body.startswith(prefix) and body.endswith(suffix), body[:40]
    return body[len(prefix) : -len(suffix)]


def main() -> int:
    binary = sys.argv[1]
    dsn = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ENRICH_TEST_DSN", "")
    if not dsn:
        print("ENRICH_TEST_DSN is not set", file=sys.stderr)
        return 1
    expected = asyncio.run(fastapi_bytes(dsn))
    actual = subprocess.run(
        [binary, "--dsn", dsn, "--profile", "python", "--shape", "many", SQL],
        check=True, capture_output=True,
    ).stdout.rstrip(b"\n")
    if actual == expected:
        print(f"python profile: identical to asyncpg + FastAPI ({len(expected)} bytes)")
        return 0
    exp_rows, act_rows = json.loads(expected), json.loads(actual)
    for e, a in zip(exp_rows, act_rows):
        for key in e:
            if e[key] != a.get(key) or json.dumps(e[key]) != json.dumps(a.get(key)):
                print(f"row {e.get('id')} column {key}: FastAPI {json.dumps(e[key], ensure_ascii=False)}"
                      f" != enrich {json.dumps(a.get(key), ensure_ascii=False)}")
    print("python profile: differs from asyncpg + FastAPI", file=sys.stderr)
    print("expected:", expected.decode()[:2000], file=sys.stderr)
    print("actual:  ", actual.decode()[:2000], file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
