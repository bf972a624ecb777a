"""The APIRoute class of enrich.fastapi.plan_route: FastAPI's own route, with a shorter way in.

A request's path and query inputs are validated in one call of a pydantic model built from the
route's own parameter fields (the same types, constraints, aliases and defaults FastAPI reads
from the declaration), and go straight to the plan. A request they do not validate goes the
whole way through FastAPI's handler instead, which answers with its own 422 document: the fast
way in never produces an answer FastAPI would not. Routes with anything else to solve
(dependencies, headers, cookies, a body, list-valued or model-valued parameters) always take
FastAPI's handler. Imported by plan_route, never by ``import enrich``.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Tuple

import pydantic
from fastapi.dependencies.models import Dependant
from fastapi.params import ParamTypes
from fastapi.routing import APIRoute

try:  # FastAPI's request data for OpenTelemetry log processors (FastAPI >= 0.160)
    from fastapi.telemetry import get_telemetry_data
except ImportError:  # pragma: no cover
    get_telemetry_data = None  # type: ignore[assignment]
from starlette.requests import Request
from starlette.responses import Response

#: ``respond(inputs, request)``: the plan run and its response, given validated inputs.
Respond = Callable[[Dict[str, Any], Request], Awaitable[Response]]
_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _simple_inputs(dependant: Dependant) -> Optional[Tuple[List[Tuple[str, str, bool]], Any]]:
    """``([(name, alias, in_path)], validate)`` for a route whose inputs are all scalar path and
    query parameters, else None."""
    if (dependant.dependencies or dependant.header_params or dependant.cookie_params
            or dependant.body_params or dependant.background_tasks_param_name):
        return None
    fields = [*dependant.path_params, *dependant.query_params]
    aliases = [f.alias for f in fields]
    if len(set(aliases)) != len(aliases):
        return None
    model_fields: Dict[str, Any] = {}
    for i, f in enumerate(fields):
        annotation = f.field_info.annotation
        if not _is_scalar(annotation):
            return None  # lists and the rest: FastAPI reads them its own way
        # The type with FastAPI's constraints (ge, le, pattern, ... as pydantic metadata), the
        # request's key as the alias, FastAPI's default; keyed by position: no name clashes.
        checked = Annotated[(annotation, *f.field_info.metadata)] if f.field_info.metadata else annotation
        default = ... if f.field_info.is_required() else f.field_info.default
        model_fields[f"f{i}"] = (checked, pydantic.Field(default, alias=f.alias))
    model = pydantic.create_model("PlanRouteInputs", **model_fields)
    spec = [(f.name, f.alias, f.field_info.in_ is ParamTypes.path) for f in fields]  # type: ignore[attr-defined]
    return spec, model.__pydantic_validator__.validate_python


_SCALARS = (int, float, str, bool)


def _is_scalar(annotation: Any) -> bool:
    """int, float, str, bool, or one of them or None (Optional[int], int | None)."""
    if annotation in _SCALARS:
        return True
    args = typing.get_args(annotation)
    return (typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 2
            and type(None) in args and all(a in _SCALARS or a is type(None) for a in args))


@functools.lru_cache(maxsize=None)
def plan_api_route() -> type:
    """The APIRoute subclass (made once: FastAPI is imported by then)."""

    class PlanAPIRoute(APIRoute):
        def get_route_handler(self) -> _Handler:
            handler: _Handler = super().get_route_handler()
            respond: Optional[Respond] = getattr(self.endpoint, "_enrich_respond", None)
            simple = _simple_inputs(self.dependant)
            if respond is None or simple is None:
                return handler
            spec, validate = simple
            names = [name for name, _, _ in spec]

            async def plan_handler(request: Request) -> Response:
                if get_telemetry_data is not None and (telemetry := get_telemetry_data()) is not None:
                    telemetry.request = request  # as FastAPI's handler does
                path, query = request.path_params, request.query_params
                data = {}
                for name, alias, in_path in spec:
                    source = path if in_path else query
                    if alias in source:
                        data[alias] = source[alias]
                try:
                    validated = validate(data).__dict__
                except pydantic.ValidationError:
                    return await handler(request)  # FastAPI's own 422
                inputs = {name: validated[f"f{i}"] for i, name in enumerate(names)}
                return await respond(inputs, request)

            return plan_handler

    return PlanAPIRoute
