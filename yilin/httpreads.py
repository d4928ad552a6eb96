"""Reads over HTTP inside the cluster: a read without the broker's two hops.

Over RPC a read is a request published to the broker, routed to the service's queue,
delivered, answered with a reply published to the broker and delivered again: four
AMQP frames through a third process, and the AMQP client's work in both processes.
A service declares a read with :func:`read_rpc`: the method is an RPC entrypoint as
before *and* ``POST /reads/<method>`` on the service's internal HTTP server
(``INTERNAL_HTTP_ADDRESS``; empty: no server, reads go over RPC only). The same method
body answers both, so its permission rule is written once.

The internal entrypoint checks identity exactly as :class:`yilin.rpc.Rpc` does: the
caller's signed assertion (header ``X-Yilin-Identity``) goes through
:func:`yilin.identity.verify_assertion` with the same trusted keys before a worker starts; a
missing, forged or expired one gets 401 and no worker runs. Arguments, answers and
errors travel as over RPC (kombu's JSON; errors as nameko's ``serialize``), so the
caller gets the same result, or the same exception, either way.

Callers use :class:`HttpReads`: ``INTERNAL_READ_URLS`` maps a service to its internal
base URL (a service not named there is read over RPC), connections are kept alive and
pooled per service, an answer is awaited ``RPC_READ_TIMEOUT`` seconds
(:class:`~yilin.rpc.RpcTimeout`), and a refused connection is an ``UnknownService``
as a queue without consumers is. Writes never take this path: they keep RPC's
persistent, confirmed requests and their write keys."""

from __future__ import annotations

import http.client
import json as stdlib_json
import logging
from functools import partial
from typing import Any, Callable, TypeVar

from eventlet.event import Event
from kombu.utils import json
from nameko.exceptions import (
    ContainerBeingKilled,
    IncorrectSignature,
    MalformedRequest,
    MethodNotFound,
    UnknownService,
    deserialize,
    serialize,
)
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler

from yilin import tracing
from yilin.errors import YilinError
from yilin.identity import IDENTITY_KEY, VERIFIED_KEY, Verifier, verify_assertion
from yilin.logs import CORRELATION_KEY
from yilin.readpool import Pool
from yilin.readserver import READ_PATH, InternalWebServer
from yilin.rpc import DEFAULT_READ_TIMEOUT, RpcTimeout, rpc
from yilin.signatures import SignatureCheckedOnce

log = logging.getLogger(__name__)

URLS_KEY = "INTERNAL_READ_URLS"  # service name → its internal base URL, for callers
IDENTITY_HEADER = "X-Yilin-Identity"
CORRELATION_HEADER = "X-Correlation-Id"
JSON = "application/json"


class ReadEndpoint(SignatureCheckedOnce, HttpRequestHandler):
    """``POST /reads/<method>`` with ``{"args": [...], "kwargs": {...}}``: the method run as
    its RPC would run it, for the identity the request's assertion carries."""

    server = InternalWebServer()
    verifies_identity = True  # the caller is this entrypoint's word (yilin.identity.caller_of)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("POST", "", **kwargs)

    def check_configuration(self, config: Any) -> None:
        """A malformed public key of a trusted signer stops the service before it starts."""
        Verifier(config)

    def setup(self) -> None:
        self.verifier = Verifier(self.container.config)
        super().setup()

    def answer(self, header: Callable[[str], str | None], raw: bytes) -> tuple[int, bytes]:
        """The status and JSON body answering a call with ``raw`` body whose headers
        ``header`` looks up: ``{"result": ...}`` or ``{"error": ...}``."""
        try:
            # the identity first, as yilin.rpc.Rpc: a refused caller gets no worker and
            # no word about the arguments
            assertion = header(IDENTITY_HEADER)
            identity = verify_assertion(self.container.config, assertion, self.verifier)
            args, kwargs = _call_of(raw)
            self.check_signature(args, kwargs)
            context = {
                IDENTITY_KEY: assertion,
                VERIFIED_KEY: identity.to_header(),
                "yilin.route": READ_PATH + self.method_name,
                "yilin.method": "POST",
            }
            traceparent = header(tracing.KEY)
            if traceparent:
                context.update(tracing.from_headers({tracing.KEY: traceparent}))
            correlation_id = header(CORRELATION_HEADER)
            if correlation_id:
                context[CORRELATION_KEY] = correlation_id[:64]
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data=context, handle_result=partial(self.handle_result, done)
            )
            return 200, _encoded({"result": done.wait()})
        except Exception as exc:  # noqa: BLE001 - every failure goes back serialized, as an RPC's does
            return _status(exc), _encoded({"error": serialize(exc)})


def _encoded(payload: Any) -> bytes:
    return _dumps(payload).encode()


def _dumps(payload: Any) -> str:
    """kombu's JSON, as over RPC, through the C encoder when the payload holds only JSON's
    own types (kombu's encoder is Python, with a hook per value: most of a read's
    encoding time); a date, UUID or Decimal takes kombu's path and its tagged form."""
    try:
        return stdlib_json.dumps(payload)
    except TypeError:
        text: str = json.dumps(payload)
        return text


def _loads(raw: bytes) -> Any:
    """kombu's JSON decoding, as over RPC, through the C decoder alone when ``raw`` holds
    no tagged value: kombu's decoder calls a Python hook for every object (a third of
    decoding a volunteer's answer). Only a tagged value (``{"__type__": ..., "__value__":
    ...}``, a date or a UUID as kombu encodes it) has the key ``"__type__"`` in the text;
    a string holding those characters is escaped (``\\"``), so it is never mistaken for one."""
    if b'"__type__"' in raw:
        return json.loads(raw)
    return stdlib_json.loads(raw)


def _call_of(raw: bytes) -> tuple[tuple[Any, ...], dict[str, Any]]:
    try:
        call = _loads(raw)
        args, kwargs = call["args"], call["kwargs"]
    except (ValueError, KeyError, TypeError):
        raise MalformedRequest("the body must be {args, kwargs}") from None
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise MalformedRequest("the body must be {args: [...], kwargs: {...}}")
    return tuple(args), kwargs


def _status(exc: Exception) -> int:
    if isinstance(exc, YilinError):
        return int(exc.status)
    if isinstance(exc, (MalformedRequest, IncorrectSignature)):
        return 400
    if isinstance(exc, ContainerBeingKilled):
        return 503
    return 500


Method = TypeVar("Method", bound=Callable[..., Any])


def read_rpc(method: Method) -> Method:
    """Declare ``method`` a read: an RPC entrypoint (:func:`yilin.rpc.rpc`) and the same
    method on the service's internal HTTP server (:class:`ReadEndpoint`)."""
    declared: Method = ReadEndpoint.decorator(rpc(method))
    return declared


class HttpReadProxy:
    """A service's reads for one worker: ``proxy.get_volunteer(volunteer_id)`` as over RPC,
    sent with the worker's identity assertion."""

    def __init__(self, pool: Pool, service: str, worker_ctx: Any) -> None:
        self._pool, self._service, self._data = pool, service, worker_ctx.data

    def __getattr__(self, method: str) -> Callable[..., Any]:
        return partial(self._call, method)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        headers = {"Content-Type": JSON}
        for header, key in ((IDENTITY_HEADER, IDENTITY_KEY), (CORRELATION_HEADER, CORRELATION_KEY)):
            if self._data.get(key):
                headers[header] = str(self._data[key])
        with tracing.client(self._service, method):
            traceparent = tracing.current()
            if traceparent is not None:
                headers[tracing.KEY] = traceparent
            try:
                status, raw = self._pool.post(READ_PATH + method, _dumps({"args": args, "kwargs": kwargs}), headers)
            except TimeoutError:
                raise RpcTimeout(self._service) from None
            except (OSError, http.client.HTTPException) as exc:
                log.warning("%s's internal reads unreachable: %s", self._service, exc)
                raise UnknownService(self._service) from None
        try:
            answer = _loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not ("result" in answer or "error" in answer):
            # not the read entrypoint's answer: no such read on that server (werkzeug's 404)
            raise MethodNotFound(f"{self._service}.{method} (HTTP {status})")
        if "error" in answer:
            raise deserialize(answer["error"])
        return answer["result"]


class HttpReads(DependencyProvider):
    """``self.<name>`` in a worker: :meth:`Readers.of` gives a service's reads over its
    internal HTTP server (:class:`HttpReadProxy`), or ``None`` when ``INTERNAL_READ_URLS``
    names no URL for it (the caller then reads over RPC)."""

    def setup(self) -> None:
        config = self.container.config
        urls = config.get(URLS_KEY) or {}
        if not isinstance(urls, dict):
            raise RuntimeError(f"{URLS_KEY} maps service names to internal URLs")
        timeout = float(config.get("RPC_READ_TIMEOUT") or DEFAULT_READ_TIMEOUT)
        self.pools = {str(service): Pool(str(url), timeout) for service, url in urls.items() if url}

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.close()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> "Readers":
        return Readers(self.pools, worker_ctx)


class Readers:
    """The services' internal read servers, for one worker."""

    def __init__(self, pools: dict[str, Pool], worker_ctx: Any) -> None:
        self._pools, self._worker_ctx = pools, worker_ctx

    def of(self, service: str) -> HttpReadProxy | None:
        """``service``'s reads over HTTP, or ``None``: it has no internal URL configured."""
        pool = self._pools.get(service)
        return None if pool is None else HttpReadProxy(pool, service, self._worker_ctx)
