"""enrich.fastapi.plan_route: the same bytes as a hand-written run_json route, FastAPI's own 422s,
a complete OpenAPI document, enrich's errors mapped as examples/fastapi/app.py maps them, and
FastAPI kept an optional dependency of the package."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Annotated, Any, List, Tuple

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query

import enrich
from enrich.fastapi import plan_route

from conftest import DEAD_DSN, EXAMPLES, FIXTURE_DSN, PLAN_PATH, first_response, free_port, python_subprocess, run, stop

UserId = Annotated[int, Path(ge=-(2**63), le=2**63 - 1)]
# Users of the fixture (1..2000), awkward ones (tests/fixtures/awkward.sql: NULLs, no preferences,
# huge numbers) and one that does not exist.
USERS = [1, 2, 17, 512, 1999, 1991, 1993, 1996, 1997]
MISSING = 2001


def example_app() -> Any:
    """examples/fastapi/app.py as a module (it reads DATABASE_URL at import)."""
    os.environ.setdefault("DATABASE_URL", FIXTURE_DSN)
    spec = importlib.util.spec_from_file_location("enrich_example_route_app", EXAMPLES / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def masked(body: bytes) -> bytes:
    """The document with its processing time replaced by 0."""
    masked, n = re.subn(rb'"processing_time_ms":[0-9.e-]+}}$', b'"processing_time_ms":0}}', body)
    assert n == 1, body[-80:]
    return masked


def without_time(body: bytes) -> Any:
    doc = json.loads(body)
    assert isinstance(doc["meta"].pop("processing_time_ms"), float)
    return doc


async def get_all(app: FastAPI, paths: List[str]) -> List[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return [await http.get(p) for p in paths]


def route_app(dsn: str = FIXTURE_DSN, plan: Any = None, **route_options: Any) -> Tuple[FastAPI, dict]:
    """An app with one plan_route (the example's plan unless given), client and plan made in the
    lifespan as an app would."""
    state: dict = {}

    async def lifespan(app: FastAPI) -> Any:
        state["db"] = enrich.Client(dsn, max_connections=2)
        state["plan"] = plan or enrich.Plan.load(PLAN_PATH)
        try:
            yield
        finally:
            await state.pop("db").aclose()

    app = FastAPI(lifespan=lifespan)

    @plan_route(app, "/users/{user_id}", client=lambda: state["db"], plan=lambda: state["plan"],
                **route_options)
    def get_user(user_id: UserId, include_analytics: bool = Query(False)) -> None:
        """One user, enriched."""

    return app, state


def test_same_bytes_as_the_run_json_route_on_a_real_server(healthy_stub):
    """examples/fastapi/app.py under uvicorn on 127.0.0.1, ENRICH_MODE=route against =fast."""
    servers = {}
    try:
        for mode in ("fast", "route"):
            port = free_port()
            env = {"DATABASE_URL": FIXTURE_DSN, "ANALYTICS_URL": healthy_stub.url, "ENRICH_MODE": mode,
                   "PORT": str(port), "PYTHONUNBUFFERED": "1"}
            proc = subprocess.Popen([sys.executable, str(EXAMPLES / "app.py")], env={**os.environ, **env},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            servers[mode] = (proc, f"http://127.0.0.1:{port}")
            first_response(proc, f"http://127.0.0.1:{port}/api/users/1/enriched", f"app.py {mode}", 30)

        for user in USERS + [MISSING]:
            for analytics in ("false", "true"):
                path = f"/api/users/{user}/enriched?include_analytics={analytics}"
                fast, route = (_get(servers[m][1] + path) for m in ("fast", "route"))
                assert route[0] == fast[0], path
                assert route[1] == fast[1] == "application/json", path
                if user == MISSING:
                    assert route[0] == 404 and json.loads(route[2]) == {"detail": "User not found"}
                    assert route[2] == fast[2]
                else:
                    assert route[0] == 200, (path, route[2][:200])
                    assert masked(route[2]) == masked(fast[2]), path  # byte for byte, time aside
    finally:
        for proc, _ in servers.values():
            stop(proc, 10)


def _get(url: str) -> Tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["content-type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["content-type"], e.read()


def test_validation_errors_are_fastapis_own_422():
    """The same 422 documents as FastAPI gives a hand-written route with the same parameters."""
    app, _ = route_app()
    plain = FastAPI()

    @plain.get("/users/{user_id}")
    async def get_user(user_id: UserId, include_analytics: bool = Query(False)) -> None:
        raise AssertionError("never reached: every request here is invalid")

    bad = ["/users/abc", "/users/9223372036854775808", "/users/1.5", "/users/1?include_analytics=maybe",
           "/users/abc?include_analytics=maybe"]

    async def main():
        return await get_all(app, bad), await get_all(plain, bad)

    got, expected = run(main)
    for path, g, e in zip(bad, got, expected):
        assert g.status_code == e.status_code == 422, (path, g.text)
        assert g.json() == e.json(), path
        assert g.json()["detail"][0]["loc"][0] in ("path", "query")


def test_openapi_lists_the_parameters_and_the_response_schema():
    app = example_app().create_app("route")
    operation = app.openapi()["paths"]["/api/users/{user_id}/enriched"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["user_id"]["in"] == "path" and params["user_id"]["required"] is True
    assert params["user_id"]["schema"]["type"] == "integer"
    assert params["user_id"]["schema"]["maximum"] == 2**63 - 1
    assert params["include_analytics"]["in"] == "query"
    assert params["include_analytics"]["schema"] == {"type": "boolean", "default": False,
                                                     "title": "Include Analytics"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/UserEnrichedResponse"}
    model = app.openapi()["components"]["schemas"]["UserEnrichedResponse"]
    assert set(model["properties"]) == {"user", "preferences", "recent_activity", "analytics", "meta"}
    assert operation["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"}
    for status, detail in (("404", "User not found"), ("503", "Database unavailable")):
        assert operation["responses"][status]["description"] == detail
    assert operation["description"] == "The user, their preferences, last 10 activity rows and (optionally) analytics."


def test_openapi_without_a_response_model_still_says_json_object():
    app, _ = route_app()
    operation = app.openapi()["paths"]["/users/{user_id}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert [p["name"] for p in operation["parameters"]] == ["user_id", "include_analytics"]


def test_enrich_errors_map_as_the_example_maps_them():
    failing = enrich.Plan.from_dict({
        "name": "failing", "inputs": {"user_id": {"type": "integer"},
                                      "include_analytics": {"type": "boolean", "default": False}},
        "steps": [{"name": "boom", "sql": "SELECT 1 / (id - id) FROM users WHERE id = $1",
                   "params": ["user_id"], "shape": "one"}],
    })
    strict = enrich.Plan.from_dict({  # the plan wants a string the route declares as an integer
        "name": "strict", "inputs": {"user_id": {"type": "string"},
                                     "include_analytics": {"type": "boolean", "default": False}},
        "steps": [{"name": "user", "sql": "SELECT $1::text AS id", "params": ["user_id"], "shape": "one"}],
    })

    async def main():
        (missing,) = await get_all(route_app(not_found="User not found")[0], [f"/users/{MISSING}"])
        (dead,) = await get_all(route_app(DEAD_DSN)[0], ["/users/1"])
        (boom,) = await get_all(route_app(plan=failing)[0], ["/users/1"])
        (rejected,) = await get_all(route_app(plan=strict)[0], ["/users/1"])
        return missing, dead, boom, rejected

    missing, dead, boom, rejected = run(main)
    assert (missing.status_code, missing.json()) == (404, {"detail": "User not found"})
    assert (dead.status_code, dead.json()) == (503, {"detail": "Database unavailable"})
    assert (boom.status_code, boom.json()) == (500, {"detail": "Internal server error"})
    assert rejected.status_code == 422 and "user_id" in rejected.json()["detail"]


def test_client_and_plan_may_be_given_as_objects():
    async def main():
        async with enrich.Client(FIXTURE_DSN, max_connections=1) as db:
            plan = enrich.Plan.load(PLAN_PATH)
            app = FastAPI()

            @plan_route(app, "/users/{user_id}", client=db, plan=plan)
            def get_user(user_id: int, include_analytics: bool = False) -> None: ...

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                r = await http.get("/users/3?include_analytics=false")
            return r.status_code, without_time(r.content), json.loads(await db.run_json(plan, user_id=3))

    status, got, expected = run(main)
    expected["meta"].pop("processing_time_ms")
    assert status == 200 and got == expected


def test_a_router_included_under_a_prefix():
    router = APIRouter(prefix="/v1", tags=["users"])
    state: dict = {}

    @plan_route(router, "/users/{user_id}", client=lambda: state["db"], plan=enrich.Plan.load(PLAN_PATH))
    def get_user(user_id: int) -> None: ...

    app = FastAPI()
    app.include_router(router)

    async def main():
        async with enrich.Client(FIXTURE_DSN, max_connections=1) as db:
            state["db"] = db
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await http.get("/v1/users/8"), await http.get("/v1/users/x")

    ok, bad = run(main)
    assert ok.status_code == 200 and json.loads(ok.content)["user"]["id"] == 8
    assert bad.status_code == 422
    assert app.openapi()["paths"]["/v1/users/{user_id}"]["get"]["tags"] == ["users"]


ECHO = enrich.Plan.from_dict({
    "name": "echo", "profile": "python",
    "inputs": {"user_id": {"type": "integer"}, "include_analytics": {"type": "boolean"}, "tag": {"type": "string"}},
    "steps": [{"name": "row", "sql": "SELECT $1::int8 AS user_id, $2::bool AS include_analytics, $3::text AS tag",
               "params": ["user_id", "include_analytics", "tag"], "shape": "one"}],
})
Tag = Annotated[str, Query(alias="the-tag", max_length=5)]


def test_valid_inputs_arrive_as_fastapi_reads_them():
    """The route's shorter way in (one pydantic validation, _fastapi_route) takes what FastAPI's own
    handler takes, with the same values, and leaves everything else to FastAPI (its 422s)."""
    state: dict = {}
    app, plain = FastAPI(), FastAPI()

    @plan_route(app, "/users/{user_id}", client=lambda: state["db"], plan=ECHO)
    def echo(user_id: UserId, include_analytics: bool = Query(False), tag: Tag = "none") -> None: ...

    @plain.get("/users/{user_id}")
    async def plain_echo(user_id: UserId, include_analytics: bool = Query(False), tag: Tag = "none") -> dict:
        return {"row": {"user_id": user_id, "include_analytics": include_analytics, "tag": tag}}

    route = next(r for r in app.routes if getattr(r, "path", "") == "/users/{user_id}")
    assert route.get_route_handler().__name__ == "plan_handler"  # the shorter way in is taken
    paths = ["/users/5", "/users/+5?include_analytics=yes", "/users/0005?include_analytics=off",
             "/users/5?include_analytics=true&include_analytics=0", "/users/5?other=1&the-tag=ab%22c",
             "/users/-9223372036854775808?tag=x", "/users/9223372036854775807?include_analytics=1",
             "/users/5?the-tag=toolong", "/users/5?include_analytics=", "/users/5.0", "/users/%205",
             "/users/5?the-tag=", "/users/9223372036854775808", "/users/abc?include_analytics=maybe"]

    async def main():
        async with enrich.Client(FIXTURE_DSN, max_connections=1) as db:
            state["db"] = db
            out = []
            for a in (app, plain):
                transport = httpx.ASGITransport(app=a)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                    out.append([await http.get(p) for p in paths])
            return out

    got, expected = run(main)
    assert sum(r.status_code == 200 for r in expected) >= 7 and sum(r.status_code == 422 for r in expected) >= 4
    for path, g, e in zip(paths, got, expected):
        assert g.status_code == e.status_code, (path, g.text)
        if e.status_code == 200:
            assert g.json()["row"] == e.json()["row"], path
        else:
            assert g.json() == e.json(), path


def test_dependencies_and_headers_take_fastapis_whole_way():
    async def refuse() -> None:
        raise HTTPException(status_code=401, detail="no")

    app = FastAPI()
    state: dict = {}

    @plan_route(app, "/users/{user_id}", client=lambda: state["db"], plan=enrich.Plan.load(PLAN_PATH),
                dependencies=[Depends(refuse)])
    def guarded(user_id: int) -> None: ...

    @plan_route(app, "/tagged/{user_id}", client=lambda: state["db"], plan=ECHO)
    def tagged(user_id: int, tag: str = Header("h"), include_analytics: bool = False) -> None: ...

    handlers = {r.path: r.get_route_handler().__name__ for r in app.routes if hasattr(r, "get_route_handler")}
    assert handlers["/users/{user_id}"] != "plan_handler" and handlers["/tagged/{user_id}"] != "plan_handler"

    async def main():
        async with enrich.Client(FIXTURE_DSN, max_connections=1) as db:
            state["db"] = db
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await http.get("/users/1"), await http.get("/tagged/3", headers={"tag": "hdr"})

    refused, tagged_r = run(main)
    assert (refused.status_code, refused.json()) == (401, {"detail": "no"})
    assert json.loads(tagged_r.content)["row"] == {"user_id": 3, "include_analytics": False, "tag": "hdr"}


def test_bad_client_argument_fails_when_the_route_is_made():
    with pytest.raises(enrich.InvalidArgumentError):
        plan_route(FastAPI(), "/x", client="postgresql://nope", plan=enrich.Plan.load(PLAN_PATH))  # type: ignore[arg-type]


def test_fastapi_stays_optional():
    """Importing enrich and enrich.fastapi imports no web framework."""
    r = python_subprocess("import sys, enrich, enrich.fastapi\n"
                          "print(sorted(m for m in ('fastapi', 'starlette', 'pydantic') if m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
