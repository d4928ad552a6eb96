"""The gateway's web server: nameko's, but what it refuses before any route runs is a
problem details body like every other error of the API.

nameko answers a URL none of its rules match with werkzeug's HTML page. The API's
catch-all rule cannot match everything: werkzeug's ``path`` converter stops at a line
break, so ``/api/v1/hours/entries/a%0Ab`` got ``404 text/html``, a Content-Type the
OpenAPI document does not declare (the fuzzer found it)."""

from __future__ import annotations

from typing import Any, Iterable

from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from services.gateway.problems import CATALOGUE, problem_response
from yilin.backlog import widen_backlog
from yilin.errors import YilinError


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

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ, shallow=True)  # as nameko's: the body stays unread until the handler
        try:
            try:
                provider, values = self.adapter.match(request.path, request.method)
            except RequestRedirect:  # its Location names the request's own host
                provider, values = self.url_map.bind_to_environ(environ).match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = problem_http_error(exc, request.path)
        return response(environ, start_response)


class ProblemWebServer(WebServer):
    def start(self) -> None:
        super().start()
        widen_backlog(self)  # a rush of new keep-alive connections queues instead of being dropped

    def get_wsgi_app(self) -> ProblemWsgiApp:
        return ProblemWsgiApp(self)
