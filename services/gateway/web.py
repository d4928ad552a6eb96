"""The gateway's web server: nameko's, but what it refuses before any route runs is a
problem details body like every other error of the API.

nameko answers a URL none of its rules match with werkzeug's HTML page. The API's
catch-all rule cannot match everything: werkzeug's ``path`` converter stops at a line
break, so ``/api/v1/hours/entries/a%0Ab`` got ``404 text/html``, a Content-Type the
OpenAPI document does not declare (the fuzzer found it)."""

from __future__ import annotations

from typing import Any, Iterable

from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.routing import Map, RequestRedirect
from werkzeug.wrappers import Request, Response

from services.gateway.problems import CATALOGUE, problem_response
from yilin.errors import YilinError
from yilin.frontserver import LeanWebServer


def problem_http_error(exc: HTTPException, instance: str | None = None) -> Response:
    """werkzeug's error as problem details, keeping headers such as ``Allow``."""
    status = exc.code or 500
    kind = next((t for t in CATALOGUE.values() if t.status == status), CATALOGUE["bad_request"])
    error = YilinError(exc.description or exc.name or kind.title)
    error.status, error.code = status, kind.code  # an instance of the status, not a new class per code
    response = problem_response(error, instance)
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


class ProblemWsgiApp(WsgiApp):
    def __init__(self, server: WebServer) -> None:
        super().__init__(server)
        # bound once: the rules name no host, and binding per request (as bind_to_environ
        # does) cost as much as matching
        self.adapter = self.url_map.bind("gateway", "/")
        self.catch_all = _catch_all(self.url_map)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ, shallow=True)  # as nameko's: the body stays unread until the handler
        try:
            try:
                matched = self.catch_all is not None and self.catch_all.match(request.path, request.method)
                provider, values = matched or self.adapter.match(request.path, request.method)
            except RequestRedirect:  # its Location names the request's own host
                provider, values = self.url_map.bind_to_environ(environ).match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = problem_http_error(exc, request.path)
        return response(environ, start_response)


class CatchAll:
    """The one rule ``<prefix><path:path>`` that takes every path under its prefix (the
    API's), matched by a prefix test instead of werkzeug's state machine: every API
    request matched nameko's map before the gateway's own route table matched it again."""

    def __init__(self, prefix: str, methods: frozenset[str], provider: Any) -> None:
        self.prefix, self.methods, self.provider = prefix, methods, provider

    def match(self, path: str, method: str) -> tuple[Any, dict[str, str]] | None:
        """The provider and values werkzeug would match, or ``None`` to ask werkzeug."""
        size = len(self.prefix)
        # werkzeug's path converter: a first character other than '/', no line break
        if method in self.methods and path.startswith(self.prefix) and path[size : size + 1] not in ("", "/"):
            if "\n" not in path:
                return self.provider, {"path": path[size:]}
        return None


def _catch_all(url_map: Map) -> CatchAll | None:
    """The map's ``<prefix><path:path>`` rule when no other rule's path starts with that prefix."""
    for rule in url_map.iter_rules():
        prefix, converter, name = rule.rule.rpartition("<path:")
        if not converter or name != "path>" or "<" in prefix or not rule.methods:
            continue
        if all(other is rule or not other.rule.startswith(prefix) for other in url_map.iter_rules()):
            return CatchAll(prefix, frozenset(rule.methods), rule.endpoint)
    return None


class ProblemWebServer(LeanWebServer):
    """The gateway's public server (yilin.frontserver): a request refused before any route
    runs (malformed, too large) is answered with problem details too."""

    def get_wsgi_app(self) -> ProblemWsgiApp:
        return ProblemWsgiApp(self)

    def refusal(self, status: int, message: str) -> tuple[str, bytes]:
        """Problem details of ``status`` (``application/problem+json``)."""
        exception = default_exceptions.get(status, HTTPException)(description=message)
        exception.code = status
        response = problem_http_error(exception)
        return str(response.content_type), response.get_data()
