"""FastAPI route helper: one GET route that runs a plan and answers with its JSON bytes.

    from enrich.fastapi import plan_route

    @plan_route(app, "/api/users/{user_id}/enriched", client=lambda: state["db"],
                plan=lambda: state["plan"], response_model=UserEnrichedResponse)
    def get_user_enriched(user_id: UserId, include_analytics: bool = False) -> None:
        "The user, their preferences, recent activity and analytics."

The decorated function only declares the route's inputs: its parameters (path parameters named in
the path, the others query parameters, exactly as FastAPI reads any endpoint's) are the plan's
inputs, by name; its body is never called. FastAPI validates them (422 with its own error
document) and lists them in the OpenAPI document; ``response_model`` (or ``responses``) gives the
200 response's schema there, but the plan's bytes are never re-serialized: the endpoint returns
them in a ``Response`` (``application/json``), which FastAPI passes through untouched.

The least framework work: a request whose inputs validate goes from the router to the plan
through one pydantic validation of all of them (a model built from the route's own parameter
fields: the same types, constraints, aliases and defaults), skipping FastAPI's per-parameter
dependency solving; any other request takes FastAPI's whole handler, so every 422 is FastAPI's
own. Routes with dependencies, header, cookie or list-valued parameters always take FastAPI's
handler (enrich/_fastapi_route.py).

Errors from enrich become JSON responses as in examples/fastapi/app.py: :class:`enrich.NotFoundError`
(a ``required`` step found no row) 404 ``{"detail": not_found}``; the database unreachable, the
pool full, a timeout or a closed client 503 ``{"detail": "Database unavailable"}``; a plan input
the core rejects 422 ``{"detail": message}``; anything else from enrich 500
``{"detail": "Internal server error"}`` (logged on the "enrich.fastapi" logger).

FastAPI is imported when :func:`plan_route` is first called: it stays an optional dependency of
the package.
"""

from __future__ import annotations

import inspect
import logging
import typing
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar, Union, cast

from . import _errors
from ._client import Client, Plan

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["plan_route", "error_status", "attach_trace_context", "detach_trace_context", "UNAVAILABLE"]

_logger = logging.getLogger("enrich.fastapi")

#: The failures that mean "the database is not available right now" (503).
UNAVAILABLE: Tuple[type, ...] = (
    _errors.ConnectionFailedError,
    _errors.OperationTimeoutError,
    _errors.PoolQueueFullError,
    _errors.ClosedError,
)

_Declaration = TypeVar("_Declaration", bound=Callable[..., Any])


def error_status(exc: _errors.Error, not_found: str = "Not found") -> Tuple[int, str]:
    """The HTTP status and ``detail`` that :func:`plan_route` answers an enrich error with."""
    if isinstance(exc, _errors.NotFoundError):
        return 404, not_found
    if isinstance(exc, UNAVAILABLE):
        return 503, "Database unavailable"
    if isinstance(exc, _errors.InvalidArgumentError):
        return 422, str(exc)
    return 500, "Internal server error"


def _error_schema(description: str) -> Dict[str, Any]:
    schema = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _resolve(value: Any, kind: type) -> Callable[[], Any]:
    """A getter for a client or plan given as itself or as a zero-argument callable (for objects
    made in the app's lifespan)."""
    if isinstance(value, kind):
        return lambda: value
    if callable(value):
        return cast("Callable[[], Any]", value)
    raise _errors.InvalidArgumentError(f"expected an enrich.{kind.__name__} or a callable returning one")


def _route_signature(declaration: Callable[..., Any], request_type: type) -> inspect.Signature:
    """The declaration's parameters with their annotations evaluated in its own module (FastAPI
    would evaluate string annotations in this one's), plus the request, keyword-only, last."""
    hints = typing.get_type_hints(declaration, include_extras=True)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(declaration).parameters.values()
    ]
    params.append(inspect.Parameter("_enrich_request", inspect.Parameter.KEYWORD_ONLY,
                                    annotation=request_type))
    return inspect.Signature(params)


def attach_trace_context(request: "Request") -> Any:
    """Attaches the request's W3C trace context, so that a plan run by a client with
    ``tracing=True`` becomes a child of the caller's span; returns the token for
    :func:`detach_trace_context`. A request without ``traceparent`` (or no OpenTelemetry) has none
    to continue: the current context stays and the token is None."""
    if "traceparent" not in request.headers:
        return None
    try:
        from opentelemetry import context
        from opentelemetry.propagate import extract
    except ImportError:
        return None
    return context.attach(extract(request.headers))


def detach_trace_context(token: Any) -> None:
    """Undoes :func:`attach_trace_context` (None: nothing to undo)."""
    if token is not None:
        from opentelemetry import context

        context.detach(token)


def plan_route(
    router: Union["FastAPI", "APIRouter"],
    path: str,
    *,
    client: Union[Client, Callable[[], Client]],
    plan: Union[Plan, Callable[[], Plan]],
    response_model: Any = None,
    not_found: str = "Not found",
    timeout: Optional[float] = None,
    use_primary: bool = False,
    responses: Optional[Mapping[Union[int, str], Dict[str, Any]]] = None,
    **route_options: Any,
) -> Callable[[_Declaration], _Declaration]:
    """Adds ``GET path`` to ``router`` (a FastAPI app or an APIRouter), running ``plan`` on
    ``client`` with the decorated function's parameters as inputs; see the module's documentation.

    ``client`` and ``plan`` are the objects or zero-argument callables returning them (called per
    request, for objects made in the lifespan). ``response_model``: the 200 response's schema in
    the OpenAPI document only (default: a JSON object). ``not_found``: the 404's detail.
    ``timeout`` (seconds) and ``use_primary`` go to :meth:`enrich.Client.run_json`.
    ``route_options`` go to ``router.add_api_route`` (``summary``, ``tags``, ``name``, ...).
    Returns the declaration unchanged."""
    from fastapi import FastAPI, Request
    from starlette.responses import JSONResponse, Response

    from ._fastapi_route import plan_api_route

    class PlanJSONResponse(JSONResponse):
        """The plan's JSON bytes as they are (a JSONResponse, so that the OpenAPI document gives
        the response model's schema, but nothing is serialized again)."""

        def render(self, content: Any) -> bytes:
            return cast(bytes, content)

    get_client = _resolve(client, Client)
    get_plan = _resolve(plan, Plan)
    documented: Dict[Union[int, str], Dict[str, Any]] = {
        404: _error_schema(not_found),
        503: _error_schema("Database unavailable"),
        **(responses or {}),
    }
    if response_model is None and 200 not in documented:
        documented[200] = {"content": {"application/json": {"schema": {"type": "object"}}}}

    def decorate(declaration: _Declaration) -> _Declaration:
        async def respond(inputs: Dict[str, Any], request: Request) -> Response:
            db = get_client()
            token = attach_trace_context(request) if db._tracing else None
            try:
                body = await db.run_json(get_plan(), inputs, timeout=timeout, use_primary=use_primary)
            except _errors.Error as exc:
                status, detail = error_status(exc, not_found)
                if status == 500:
                    _logger.error("%s %s failed: %r", "GET", path, exc)
                return JSONResponse({"detail": detail}, status_code=status)
            finally:
                detach_trace_context(token)
            return PlanJSONResponse(body)

        async def endpoint(_enrich_request: Request, **inputs: Any) -> Response:
            return await respond(inputs, _enrich_request)

        setattr(endpoint, "_enrich_respond", respond)  # the route's shorter way in (_fastapi_route)
        setattr(endpoint, "__signature__", _route_signature(declaration, Request))
        endpoint.__name__ = declaration.__name__
        endpoint.__qualname__ = declaration.__qualname__
        endpoint.__doc__ = declaration.__doc__
        route_options.setdefault("name", declaration.__name__)
        api_router = router.router if isinstance(router, FastAPI) else router
        api_router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            response_model=response_model,
            response_class=PlanJSONResponse,
            responses=documented,
            route_class_override=plan_api_route(),
            **route_options,
        )
        return declaration

    return decorate
