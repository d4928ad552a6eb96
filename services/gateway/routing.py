"""The gateway's route table: each route names its method, path, the marshmallow
schemas of its body, query and response, and a small handler that makes the RPC call
(most only forward to one RPC: :func:`forwarding` registers those without a handler of
their own). The same table dispatches requests and generates the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from marshmallow import Schema
from werkzeug.datastructures import Headers
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map, MapAdapter, Rule

from services import SERVICES
from yilin.identity import Identity

API_PREFIX = "/api/v1"

BACKENDS = tuple(name for name in SERVICES if name != "gateway")  # every service behind the gateway


@dataclass
class Call:
    """What a route handler gets: RPC access, the caller and the validated input."""

    services: Any
    identity: Identity
    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    headers: Headers  # the request's own
    read: bool = False  # a GET: the service is called through its read proxy
    # A PATCH or PUT: the strong tags of its If-Match (["*"] for any), for the service's write
    # RPC to compare inside its transaction (services.gateway.conditional).
    if_match: list[str] | None = None

    def rpc(self, service: str) -> Any:
        """The RPC proxy of ``service`` (for a read, the one that sends reads: see yilin.rpc),
        its calls limited and refused while it is down (services.gateway.backends)."""
        proxy = getattr(self.services, f"{service}_reads" if self.read else service)
        return self.services.backends.guard(service, proxy)

    def reads(self, service: str) -> Any:
        """For a GET: ``service``'s reads over its internal HTTP server when configured
        (:mod:`yilin.httpreads`: no broker hop; the service verifies the identity as on
        RPC), else :meth:`rpc`; limited and refused alike (services.gateway.backends)."""
        proxy = self.services.http_reads.of(service) if self.read else None
        return self.rpc(service) if proxy is None else self.services.backends.guard(service, proxy)


@dataclass
class Route:
    method: str
    path: str
    handler: Callable[[Call], Any]
    summary: str
    tag: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    roles: tuple[str, ...] | None = None  # None: any authenticated caller
    public: bool = False
    errors: tuple[int, ...] = (400, 401, 403, 404, 409, 413, 422, 429)
    content_type: str = "application/json"
    # Other media types the success response comes in besides JSON (a CSV export, a PDF),
    # so the OpenAPI document declares every Content-Type the route answers with.
    media_types: tuple[str, ...] = ()
    path_params: tuple[str, ...] = field(default_factory=tuple)
    # The part of the JSON answer the ETag is computed over: the resource itself (the
    # default), or, when the answer carries more than the target resource (PUT
    # …/selection answers with the volunteer's totals), the target's representation.
    tagged: Callable[[Any], Any] | None = None
    # The handler hands the body, as it came, to the one RPC that loads it with this same
    # schema (a forwarded route): the service, which owns the payload, validates it once.
    # Otherwise the gateway loads it before the handler reads it.
    passes_body: bool = False

    @property
    def conditional(self) -> bool:
        """A PATCH or PUT: it needs ``If-Match``."""
        return self.method in ("PATCH", "PUT")

    @property
    def paged(self) -> bool:
        """A list: it takes a ``cursor`` and answers ``next_cursor``."""
        return self.query is not None and "cursor" in self.query._declared_fields

    @property
    def etagged(self) -> bool:
        """Its JSON answer carries an ``ETag``: a read of one resource, or a conditional write."""
        return (self.method == "GET" or self.conditional) and not self.paged and self.status == 200

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Every error status the route may answer (besides ``errors``, those that come with
        a body, a precondition, and 500/503 that any route can meet)."""
        extra = (415,) if self.body is not None else ()
        extra += (412, 428) if self.conditional else ()
        return tuple(sorted({*self.errors, *extra, 500, 503} - ({401} if self.public else set())))

    @cached_property
    def query_schema(self) -> Schema | None:
        """One instance of ``query`` for every request (a schema's construction costs more
        than its load; an instance holds no state between loads)."""
        return self.query() if self.query is not None else None

    @cached_property
    def body_schema(self) -> Schema | None:
        """One instance of ``body``, as :attr:`query_schema`."""
        return self.body() if self.body is not None else None

    @property
    def template(self) -> str:
        """The path as the metrics label and OpenAPI key: ``/api/v1/volunteers/{volunteer_id}``."""
        return API_PREFIX + self.path.replace("<", "{").replace(">", "}")


class Router:
    """Routes registered by the modules under ``services.gateway.routes``."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._map: MapAdapter | None = None
        self._loose: MapAdapter | None = None

    def route(
        self, method: str, path: str, *, summary: str, tag: str, **options: Any
    ) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
        """Register a handler for ``method path`` (path relative to ``/api/v1``)."""

        def register(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
            params = tuple(part[1:-1] for part in path.split("/") if part.startswith("<"))
            self.routes.append(Route(method, path, handler, summary, tag, path_params=params, **options))
            self._map = self._loose = None
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request; raises ``LookupError`` (404) or ``PermissionError``
        (405, its message the allowed methods).

        Path parameters are ids (UUIDs), so ``PATCH /volunteers/import`` is a wrong method
        on ``/volunteers/import``, not an update of a volunteer whose id is "import". A
        path that only fits with a malformed id still matches, and the gateway answers 422
        naming the parameter."""
        if self._map is None:
            self._map = self._build(lambda p: p.replace("<", "<uuid:"))
            self._loose = self._build(lambda p: p)
        try:
            index, values = self._match(self._map, method, path)
        except LookupError:
            index, values = self._match(self._loose, method, path)  # type: ignore[arg-type]  # _loose is built on first use, never None here
        return self.routes[index], {k: str(v) for k, v in values.items()}

    def _build(self, rewrite: Callable[[str], str]) -> MapAdapter:
        # bound once: binding per request cost a third of the match
        return Map(
            [Rule(API_PREFIX + rewrite(r.path), methods=[r.method], endpoint=i) for i, r in enumerate(self.routes)],
            strict_slashes=False,
            # an empty segment (``/certificates//pdf``: an id left out) is a path that does not
            # exist, not one to redirect to after merging the slashes
            merge_slashes=False,
        ).bind("gateway", "/")

    @staticmethod
    def _match(rules: MapAdapter, method: str, path: str) -> tuple[int, dict[str, Any]]:
        try:
            return rules.match(path, method=method)
        except MethodNotAllowed as exc:
            raise PermissionError(", ".join(sorted(exc.valid_methods or []))) from None
        except NoRoute:
            raise LookupError(path) from None


ROUTER = Router()
api = ROUTER.route


def forwarding(service: str, tag: str) -> Callable[..., None]:
    """A registrar for routes whose handler only forwards to one RPC of ``service``:
    ``forward("GET", "/projects/<project_id>", "get_project", summary=..., **options)``
    calls ``get_project(project_id)``. The RPC gets the path's ids in order, then the
    body if the route has one, else the query if it has one, and a PATCH or PUT its
    ``if_match`` (see :class:`Call`). ``name`` is the operationId (the RPC's name unless
    given); ``items`` answers the RPC's list as ``{"items": [...]}``; ``tag`` may be given
    per route; every other option is :class:`Route`'s. The body goes to the RPC as it
    came and the service validates it (the route's ``body`` is the schema it loads). A
    route that does more than forward keeps its own handler."""

    def forward(
        method: str,
        path: str,
        rpc: str,
        *,
        summary: str,
        name: str | None = None,
        items: bool = False,
        **options: Any,
    ) -> None:
        ids = tuple(part[1:-1] for part in path.split("/") if part.startswith("<"))
        payload = "body" if options.get("body") is not None else "query" if options.get("query") is not None else None
        conditional = method in ("PATCH", "PUT")

        def handler(call: Call) -> Any:
            args: list[Any] = [call.path[i] for i in ids]
            if payload is not None:
                args.append(getattr(call, payload))
            keywords = {"if_match": call.if_match} if conditional else {}
            answer = getattr(call.reads(service) if method == "GET" else call.rpc(service), rpc)(*args, **keywords)
            return {"items": answer} if items else answer

        handler.__name__ = handler.__qualname__ = name or rpc
        handler.forwards_to = (service, rpc)  # type: ignore[attr-defined]  # read by the test that every forwarded GET is a read_rpc
        api(method, path, summary=summary, **{"tag": tag, "passes_body": payload == "body", **options})(handler)

    return forward
