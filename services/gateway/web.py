"""The gateway's web server: nameko's, but what it refuses before any route runs is a
JSON error body like every other answer of the API.

nameko answers a URL none of its rules match with werkzeug's HTML page. The API's
catch-all rule cannot match everything: werkzeug's ``path`` converter stops at a line
break, so ``/api/v1/hours/entries/a%0Ab`` got ``404 text/html``, a Content-Type the
OpenAPI document does not declare (the fuzzer found it)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response


def json_http_error(exc: HTTPException) -> Response:
    """werkzeug's error as ``{error, message}``, keeping headers such as ``Allow``."""
    code = (exc.name or "error").lower().replace(" ", "_")
    body = json.dumps({"error": code, "message": exc.description or exc.name or "error"})
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return Response(body, status=exc.code or 500, headers=headers, mimetype="application/json")


class JsonWsgiApp(WsgiApp):
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ, shallow=True)  # as nameko's: the body stays unread until the handler
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = json_http_error(exc)
        return response(environ, start_response)


class JsonWebServer(WebServer):
    def get_wsgi_app(self) -> JsonWsgiApp:
        return JsonWsgiApp(self)
