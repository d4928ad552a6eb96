"""The gateway: Yilin's one public HTTP API, routed to the services over RPC."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from functools import partial
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from services import METRICS_PORTS
from services.gateway import conditional, cursors, idempotency, indicators, routes  # noqa: F401 - registers the routes
from services.gateway.auth import ANONYMOUS, AuthSettings, authenticate, authorise
from services.gateway.backends import RETRY_AFTER, Backends
from services.gateway.openapi import build_openapi
from services.gateway.pages import views as pages
from services.gateway.problems import (
    InternalError,
    MethodNotAllowed,
    Unavailable,
    UnsupportedMediaType,
    problem_response,
)
from services.gateway.ratelimit import RateLimit
from services.gateway.routing import BACKENDS, ROUTER, Call, Route
from services.gateway.web import ProblemWebServer
from services.tickets.schedule import configured_timer
from yilin import tracing
from yilin.db import Database
from yilin.errors import (
    BadRequest,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthenticated,
    YilinError,
    load,
)
from yilin.etags import content_tag, entity_tag
from yilin.httpreads import HttpReads
from yilin.identity import IDENTITY_KEY, Caller, Identity, sign_assertion
from yilin.logs import CORRELATION_KEY, new_correlation_id
from yilin.metrics import Instrumentation, own_dependencies
from yilin.rpc import ReadRpcProxy, WriteRpcProxy
from yilin.signatures import SignatureCheckedOnce
from yilin.tracing import Tracing
from yilin.writes import WRITE_KEY

log = logging.getLogger(__name__)
access_log = logging.getLogger("yilin.access")

MAX_BODY_BYTES = 1024 * 1024
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CORRELATION_HEADER = "X-Correlation-Id"
CORRELATION_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")


MAX_BODY_DEPTH = 32  # no payload of the API nests deeper than a few levels


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level > MAX_BODY_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class ApiEntrypoint(SignatureCheckedOnce, HttpRequestHandler):
    """nameko's HTTP entrypoint, carrying a correlation id into the worker context."""

    server = ProblemWebServer()  # errors before routing are problem details too

    def handle_request(self, request: Request) -> Response:
        request.shallow = False
        supplied = request.headers.get(CORRELATION_HEADER, "")
        correlation_id = supplied if CORRELATION_PATTERN.fullmatch(supplied) else new_correlation_id()
        started = time.perf_counter()
        # The worker's context data (it adds yilin.route), with the caller's trace context if any.
        context = {CORRELATION_KEY: correlation_id, **tracing.from_headers(request.headers)}
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data=context, handle_result=partial(self.handle_result, done)
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:  # noqa: BLE001 - nameko's own fallback, kept
            response = self.response_from_exception(exc)
        response.headers[CORRELATION_HEADER] = correlation_id
        # One access line per request: the route template, never the path or query (they name people's ids).
        if access_log.isEnabledFor(logging.INFO):  # else its fields are not even gathered
            self._access_line(request, response, context, correlation_id, started)
        return response

    def _access_line(
        self, request: Request, response: Response, context: dict[str, Any], correlation_id: str, started: float
    ) -> None:
        access_log.info(
            "%s %s %d",
            request.method,
            context.get("yilin.route", "unmatched"),
            response.status_code,
            extra={
                "service": self.container.service_name,
                "correlation_id": correlation_id,
                "fields": {
                    "method": request.method,
                    "route": context.get("yilin.route", "unmatched"),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            },
        )


endpoint = ApiEntrypoint.decorator


class WorkerContext(DependencyProvider):
    """``self.context``: the worker context, to record route and identity for RPC and metrics."""

    def get_dependency(self, worker_ctx: Any) -> Any:
        return worker_ctx


def json_response(status: int, payload: Any) -> Response:
    body = "" if status == 204 else json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def error_response(error: YilinError, instance: str | None = None) -> Response:
    return problem_response(error, instance)


JSON_TYPES = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


class GatewayService:
    name = "gateway"
    metrics_port = METRICS_PORTS["gateway"]
    # Its workers hold no database connection, only a wait on another service's answer, so
    # it takes many more than a service does; the per-backend limit is half of them.
    max_workers_setting = "GATEWAY_MAX_WORKERS"

    # Writes: nameko's persistent, confirmed requests with a bounded wait (RPC_WRITE_TIMEOUT);
    # each carries its write key, so a retry after a timeout applies nothing twice.
    registry = WriteRpcProxy("registry")
    activities = WriteRpcProxy("activities")
    fund = WriteRpcProxy("fund")
    hours = WriteRpcProxy("hours")
    tickets = WriteRpcProxy("tickets")
    # GET routes call through these: transient requests, no publisher confirms, a bounded
    # wait (yilin.rpc).
    registry_reads = ReadRpcProxy("registry")
    activities_reads = ReadRpcProxy("activities")
    fund_reads = ReadRpcProxy("fund")
    hours_reads = ReadRpcProxy("hours")
    tickets_reads = ReadRpcProxy("tickets")
    # ...or over a service's internal HTTP server when INTERNAL_READ_URLS names it (yilin.httpreads)
    http_reads = HttpReads()
    context = WorkerContext()
    caller = Caller()  # health pings and other calls of its own go as the gateway's account
    metrics = Instrumentation()
    traces = Tracing()  # one span per worker when OTLP_ENDPOINT is set (yilin.tracing)
    auth = AuthSettings()
    rate_limit = RateLimit()
    db = Database(idempotency.metadata)  # Idempotency-Key records
    backends = Backends()  # one backend's fault stays on its own routes (services.gateway.backends)

    _openapi: dict[str, Any] | None = None

    @endpoint("GET", "/health")
    def health(self, request: Request) -> Response:
        self.context.data["yilin.route"] = "/health"
        try:
            self.rate_limit.take("address:" + self.rate_limit.client(request))
        except TooManyRequests as error:
            return error_response(error)
        # the gateway's own broker and database decide its status; a backend that is down
        # is shown (and its routes answer 503) but the gateway stays ready for the others
        own = own_dependencies(self.context.container)
        pool = eventlet.GreenPool(len(BACKENDS))
        backends = dict(zip(BACKENDS, pool.imap(self.backends.state, BACKENDS)))
        ready = all(v == "ok" for v in own.values())
        complete = ready and all(v == "up" for v in backends.values())
        return json_response(
            200 if ready else 503,
            {
                "status": "ok" if complete else "degraded" if ready else "unavailable",
                "dependencies": {**own, **backends},
                "services": {name: "ok" if state == "up" else state for name, state in backends.items()},
            },
        )

    @configured_timer("GATEWAY_INDICATORS_INTERVAL", 60, eager=True)
    def refresh_indicators(self) -> None:
        """Keep the district gauges current whether or not anyone asks for the report."""
        indicators.publish(indicators.gather(lambda source: getattr(self, f"{source}_reads"), {}))

    @endpoint("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        self.context.data["yilin.route"] = "/openapi.json"
        try:
            self.rate_limit.take("address:" + self.rate_limit.client(request))
        except TooManyRequests as error:
            return error_response(error)
        if GatewayService._openapi is None:
            GatewayService._openapi = build_openapi(ROUTER)
        return json_response(200, GatewayService._openapi)

    # Public pages for residents (services.gateway.pages): HTML, no login, no personal data.
    @endpoint("GET", "/pages/fund/<community_id>")
    def fund_page(self, request: Request, community_id: str) -> Response:
        return self._page(
            request, "/pages/fund/{community_id}", lambda rpc: pages.fund(rpc, community_id, request.args.to_dict())
        )

    @endpoint("GET", "/pages/certificates/check")
    def certificate_page(self, request: Request) -> Response:
        return self._page(
            request, "/pages/certificates/check", lambda rpc: pages.certificate(rpc, request.args.to_dict())
        )

    @endpoint("GET", "/pages/district")
    def district_page(self, request: Request) -> Response:
        return self._page(request, "/pages/district", lambda rpc: pages.district(rpc, request.args.to_dict()))

    def _page(self, request: Request, route: str, view: Any) -> Response:
        data = self.context.data
        data["yilin.route"], data["yilin.method"] = route, request.method
        data[IDENTITY_KEY] = sign_assertion(self.context.config, ANONYMOUS, "gateway")  # the services verify it
        try:
            self.rate_limit.take("address:" + self.rate_limit.client(request))
            status, html = view(lambda service: self.backends.guard(service, getattr(self, f"{service}_reads")))
        except YilinError as error:
            status, html = pages.error_page(error)
        except (UnknownService, MethodNotFound):
            log.warning("service unavailable", exc_info=True)
            status, html = pages.error_page(pages.Unavailable("服务暂时不可用，请稍后再试"))
        except Exception:
            log.exception("page %s failed", route)
            status, html = pages.error_page(pages.Failed("页面出错，请稍后再试"))
        response = Response(html, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "public, max-age=60"
        if status == 503:
            response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    @endpoint("GET,POST,PUT,PATCH,DELETE,OPTIONS,TRACE", "/api/v1/<path:path>")  # any other method: 405 + Allow
    def api(self, request: Request, path: str) -> Response:
        try:
            return self._dispatch(request)
        except YilinError as error:
            return error_response(error, request.path)
        except RequestEntityTooLarge:
            return error_response(PayloadTooLarge(f"the body exceeds {MAX_BODY_BYTES} bytes"), request.path)
        except (UnknownService, MethodNotFound):
            log.warning("service unavailable", exc_info=True)
            response = error_response(Unavailable("a service is not answering; try again"), request.path)
            response.headers["Retry-After"] = str(RETRY_AFTER)
            return response
        except RemoteError as error:
            log.error("service failed: %s", error.exc_type)
            return error_response(InternalError("an internal error occurred"), request.path)
        except Exception:  # never show a caller a stack trace or internals
            log.exception("gateway failed on %s %s", request.method, self.context.data.get("yilin.route"))
            return error_response(InternalError("an internal error occurred"), request.path)

    def _dispatch(self, request: Request) -> Response:
        data = self.context.data
        data["yilin.method"] = request.method
        try:
            route, path_values = ROUTER.match(request.method, request.path)
        except LookupError:
            raise NotFound("no such resource", {"path": [request.path]}) from None
        except PermissionError as allowed:
            response = error_response(MethodNotAllowed(f"allowed: {allowed}"), request.path)
            response.headers["Allow"] = str(allowed)
            return response
        data["yilin.route"] = route.template
        identity = ANONYMOUS if route.public else self._authenticate(request)
        self.rate_limit.take(
            "address:" + self.rate_limit.client(request)
            if identity is ANONYMOUS
            else f"identity:{identity.role}:{identity.subject}"
        )
        if not authorise(identity, route.roles):
            raise Forbidden(f"the role {identity.role} may not {route.summary.lower()}")
        data[IDENTITY_KEY] = sign_assertion(self.context.config, identity, "gateway")  # the services verify it
        bad_ids = {k: ["not a valid id (UUID)"] for k, v in path_values.items() if not UUID_PATTERN.match(v)}
        if bad_ids:
            raise InvalidInput("malformed id in the path", bad_ids)
        query = request.args.to_dict()
        if route.paged and query.get("cursor"):  # sealed by the gateway; the service pages by its own
            query["cursor"] = cursors.unseal(self._cursor_key, route.template, query["cursor"])
        if route.query_schema is not None:
            load(route.query_schema, query)
        elif query:
            raise InvalidInput("this route takes no query parameters", {k: ["unknown parameter"] for k in query})
        body = self._body(request) if route.body is not None else None
        if_match = conditional.if_match(request.headers.get(conditional.HEADER)) if route.conditional else None
        if route.body_schema is not None and not route.passes_body:
            # a handler that reads the body gets it checked first; a forwarded body is
            # validated once, by the service that owns it (its MalformedInput names the field)
            load(route.body_schema, body)  # a JSON null or list is refused here too
        if request.method != "GET":
            # every write RPC of this request carries the client's key, else one of the request's own
            data[WRITE_KEY] = request.headers.get(idempotency.HEADER) or str(uuid.uuid4())
        call = Call(
            services=self,
            identity=identity,
            path=path_values,
            query=query,
            body=body,
            headers=request.headers,  # read by a handler that needs one; not copied per request
            read=request.method == "GET",
            if_match=if_match,
        )

        def respond() -> Response:
            return self._respond(route, route.handler(call))

        return idempotency.guard(
            self.db,
            request,
            identity.subject,
            lambda: idempotency.fingerprint(request.method, request.path, query, body),
            respond,
        )

    @property
    def _cursor_key(self) -> bytes:
        return cursors.cursor_key(self.context.config)

    def _respond(self, route: Route, result: Any) -> Response:
        """The handler's result as the response: list cursors sealed, an ``ETag`` on a
        resource read or written."""
        if isinstance(result, Response):
            if route.etagged and result.status_code == 200:
                result.headers["ETag"] = content_tag(result.get_data())
            return result
        if route.paged and isinstance(result, dict) and result.get("next_cursor"):
            result = {**result, "next_cursor": cursors.seal(self._cursor_key, route.template, result["next_cursor"])}
        response = json_response(route.status, result)
        if route.etagged:
            response.headers["ETag"] = entity_tag(route.tagged(result) if route.tagged else result)
        return response

    def _authenticate(self, request: Request) -> Identity:
        try:
            return authenticate(request, self.context.config, self.auth)
        except Unauthenticated:
            # failed attempts count against the client address: guessing is rate-limited too
            self.rate_limit.take("address:" + self.rate_limit.client(request))
            raise

    @staticmethod
    def _body(request: Request) -> Any:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the body exceeds {MAX_BODY_BYTES} bytes", {"body": ["too large"]})
        if request.mimetype and not JSON_TYPES.match(request.mimetype):
            raise UnsupportedMediaType(
                f"the body must be application/json, not {request.mimetype}", {"Content-Type": ["not JSON"]}
            )
        request.max_content_length = MAX_BODY_BYTES
        raw = request.get_data(cache=True)
        if not raw:
            raise BadRequest("a JSON body is required", {"body": ["missing"]})
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}", {"body": ["invalid JSON"]}) from None
        except RecursionError:
            raise BadRequest(
                f"the body nests deeper than {MAX_BODY_DEPTH} levels", {"body": ["nested too deep"]}
            ) from None
        if _depth(body) > MAX_BODY_DEPTH:
            raise BadRequest(f"the body nests deeper than {MAX_BODY_DEPTH} levels", {"body": ["nested too deep"]})
        return body
