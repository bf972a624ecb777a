"""FastAPI's floor for the article's endpoint: what FastAPI, Starlette and uvicorn cost per request
on their own, with no database, no HTTP call and no JSON encoding.

The same route as app.py (``GET /api/users/{user_id}/enriched``), validating the same inputs the
same way (``user_id`` an integer within Postgres's bigint, ``include_analytics`` a boolean, both
422 otherwise), served the same way (uvicorn, uvloop, httptools, one worker, no access log). It
returns one constant 1,024-byte ``Response``: a document shaped like app.py's (python profile key
names: ``recent_activity``, ``meta.processing_time_ms``) for one fixed user, with analytics null.
It does not log per request (app.py logs one structlog line per request).

scripts/bench measures it as the row "FastAPI floor" and divides the other FastAPI rows' throughput
by it ("vs floor"): no implementation of the endpoint on FastAPI can be faster than this.

Environment: PORT (8000), HOST (127.0.0.1). ``python examples/fastapi/floor.py``.
"""

import json
import os
from typing import Annotated

from fastapi import FastAPI, Path as PathParam, Query, Response

UserId = Annotated[int, PathParam(ge=-(2**63), le=2**63 - 1)]

DOCUMENT = {
    "user": {
        "id": 77777, "email": "saoirse.obrien77777@mail.example.org", "name": "Saoirse O'Brien",
        "is_active": True, "level": 3, "login_count": 2, "score": "625.68", "rating": 3.1049885749816895,
        "balance": 111089.18590998082, "external_id": "fbf85598-5fe2-ee25-0f6f-a1f2b340cdfb",
        "birth_date": "1997-10-11", "last_login": "2025-01-30T01:12:14.877127",
        "created_at": "2022-05-15T01:06:39.010545Z", "tags": [],
        "profile": '{"bio": "Coffee enthusiast & bookworm.", "nickname": "<b>bold</b>", "verified": false}',
        "avatar": None,
    },
    "preferences": {
        "user_id": 77777, "theme": "system", "language": "fr", "notifications": False,
        "settings": '{"email": true, "digest": "daily"}', "updated_at": "2025-01-18T01:56:55.879722Z",
    },
    "recent_activity": [
        {"id": "act_1756999", "action": "update_profile", "created_at": "2025-06-21T08:28:41.956769Z"},
        {"id": "act_1885780", "action": "view_page", "created_at": "2025-06-10T22:35:31.426305Z"},
        {"id": "act_426387", "action": "comment", "created_at": "2025-05-15T01:40:49.361151Z"},
    ],
    "analytics": None,
    "meta": {"processing_time_ms": 3.769619},
}
BODY = json.dumps(DOCUMENT, separators=(",", ":"), ensure_ascii=False).encode()
assert len(BODY) == 1024, len(BODY)

app = FastAPI()


@app.get("/api/users/{user_id}/enriched")
async def get_user_enriched_floor(user_id: UserId, include_analytics: bool = Query(False)) -> Response:
    return Response(content=BODY, media_type="application/json")


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
