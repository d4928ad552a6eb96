"""Each request body is validated once, with its marshmallow schema, by the service that
owns it: a forwarded route passes the body through (the gateway only parses the JSON)
and the RPC it calls loads that same schema, so the service refuses bad input from any
caller. Only a route whose own handler reads the body has the gateway load it."""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

from services import SERVICES
from services.gateway import routes  # noqa: F401 - imported for its side effect (registers the routes)
from services.gateway.routing import ROUTER, Route

LOADS = re.compile(r"\bload\((\w+)\(")


def service_class(name: str) -> Any:
    module, cls = SERVICES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def forwarded_to(route: Route) -> tuple[str, str]:
    """The service and RPC a forwarded route's handler calls."""
    closure = dict(zip(route.handler.__code__.co_freevars, (c.cell_contents for c in route.handler.__closure__ or ())))
    return closure["service"], closure["rpc"]


def schemas_loaded_by(method: Any) -> set[type]:
    """The schema classes ``method`` passes to ``load(...)``, resolved in its module."""
    method = inspect.unwrap(method)
    names = LOADS.findall(inspect.getsource(method))
    return {getattr(inspect.getmodule(method), n) for n in names}


def test_every_forwarded_body_is_loaded_by_its_service_with_the_routes_schema() -> None:
    passed = [r for r in ROUTER.routes if r.passes_body]
    assert len(passed) >= 40  # registry, tickets, voice, hours, fund and activities writes
    wrong = []
    for route in passed:
        service, rpc = forwarded_to(route)
        if route.body not in schemas_loaded_by(getattr(service_class(service), rpc)):
            wrong.append((route.method, route.path, f"{service}.{rpc}"))
    assert wrong == []


def test_the_gateway_loads_only_the_bodies_its_own_handlers_read() -> None:
    own = {(r.method, r.path) for r in ROUTER.routes if r.body is not None and not r.passes_body}
    assert own == {("POST", "/volunteers/import"), ("POST", "/suggestions/<suggestion_id>/fund-requests")}
