"""RPC between Yilin's processes: nameko's, with a cheaper path for reads.

nameko publishes every RPC request and every reply as a persistent message and waits for
the broker's publisher confirm of each. For a write that is what we want: the request
survives a broker restart, and a request to a service whose queue does not exist comes
back as ``UnknownService`` (the confirm is what makes that detectable). For a read it
buys nothing: a read can be asked again, and a read that is lost only needs to end.

So the gateway sends reads through :class:`ReadRpcProxy`: transient requests, no
confirm, and a bounded wait (:class:`RpcTimeout` after ``RPC_READ_TIMEOUT`` seconds,
whatever was lost: the request, the reply, or a service that is not there). Services reply
with :func:`rpc`, which answers a transient request with a transient, unconfirmed reply
and any other request exactly as nameko does. Every service's RPC methods must use this
:func:`rpc` (not nameko's): two RPC entrypoint classes in one service would put two
consumers on its queue, each knowing only its own methods.

Writes go through :class:`WriteRpcProxy`: nameko's persistent, confirmed requests with a
bounded wait too (``RPC_WRITE_TIMEOUT``). A service declares its writes with
:func:`write_rpc`, which applies each write once per write key (:mod:`yilin.writes`), so
a caller that gave up waiting, or a request the broker redelivered, changes nothing twice."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, TypeVar

import eventlet
from eventlet.semaphore import Semaphore
from kombu import Connection, Producer
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    DEFAULT_TRANSPORT_OPTIONS,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MalformedRequest, UnknownService

from yilin import tracing
from yilin.identity import IDENTITY_KEY, VERIFIED_KEY, Verifier, verify_assertion
from yilin.signatures import SignatureCheckedOnce
from yilin.writes import applies_once

DEFAULT_READ_TIMEOUT = 30.0  # seconds; far above any read's own time (the slowest, a PDF, takes ~1 s)
DEFAULT_WRITE_TIMEOUT = 30.0  # seconds; a write carries its key, so giving up on it and retrying is safe


class RpcTimeout(UnknownService):
    """A read got no answer in time. An ``UnknownService``, so callers that handle a
    missing service (the gateway answers 503) handle this the same way."""

    def __str__(self) -> str:
        return f"no answer from {self._service_name!r} in time"


class ReadPublisher(Publisher):
    """Transient messages without publisher confirms, through one producer per process.

    nameko's ``Publisher`` takes a producer from kombu's pool for every message (a new
    ``Connection`` object, a pool checkout, a channel revived), which is most of a
    publish's cost when nothing is awaited after the write. Unconfirmed, a publish is
    one write, so one producer shared by the workers (in turn) does as well; kombu's
    ``ensure`` still reconnects it after a broker restart. Its connection has options
    of its own: nameko keeps them in one dict shared by every publisher and rewrites
    ``confirm_publish`` in it on each publish."""

    use_confirms = False
    delivery_mode = NON_PERSISTENT
    _shared: dict[str, tuple[Semaphore, Producer]] = {}

    def publish(self, payload: Any, **kwargs: Any) -> None:
        headers = {
            **self.publish_kwargs.get("headers", {}),
            **kwargs.pop("headers", {}),
            **kwargs.pop("extra_headers", {}),
        }
        for unused in ("mandatory", "use_confirms", "transport_options", "delivery_mode"):
            # mandatory delivery reports a missing queue only through a confirm; unconfirmed,
            # an unroutable read simply times out
            kwargs.pop(unused, None)
        serializer = kwargs.pop("serializer", self.serializer)
        turn, producer = self._producer()
        with turn:
            producer.publish(
                payload,
                headers=headers,
                delivery_mode=NON_PERSISTENT,
                serializer=serializer,
                retry=self.retry,
                retry_policy=self.retry_policy,
                **kwargs,
            )

    def _producer(self) -> tuple[Semaphore, Producer]:
        if self.amqp_uri not in self._shared:
            connection = Connection(
                self.amqp_uri,
                ssl=self.ssl,
                login_method=self.login_method,
                transport_options={**DEFAULT_TRANSPORT_OPTIONS, "confirm_publish": False},
            )
            self._shared[self.amqp_uri] = (Semaphore(1), connection.Producer())
        return self._shared[self.amqp_uri]


class _TracedMethodProxy(nameko_rpc.MethodProxy):
    """nameko's method proxy whose call is a CLIENT span (:func:`yilin.tracing.client`)
    and whose request carries that span's context, so the callee's span is its child."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with tracing.client(self.service_name, self.method_name):
            return self._answer(self._call(*args, **kwargs))

    def _answer(self, reply: Any) -> Any:
        return reply.result()

    def get_message_headers(self, worker_ctx: Any) -> dict[str, Any]:
        headers: dict[str, Any] = super().get_message_headers(worker_ctx)
        traceparent = tracing.current()  # the CLIENT span's while it is open; None untraced
        if traceparent is not None:
            headers[self._get_header_name(tracing.KEY)] = traceparent
        return headers


class _TimedMethodProxy(_TracedMethodProxy):
    """nameko's method proxy (persistent, confirmed requests) with a bounded wait."""

    def __init__(self, *args: Any, timeout: float = DEFAULT_READ_TIMEOUT, **options: Any) -> None:
        self.timeout = timeout
        super().__init__(*args, **options)

    def _answer(self, reply: Any) -> Any:
        try:
            with eventlet.Timeout(self.timeout):
                return reply.result()
        except eventlet.Timeout:
            # forget the reply we stopped waiting for (nameko keeps it until it arrives)
            waiting = self.reply_listener._reply_events
            for key in [k for k, event in waiting.items() if event is reply.reply_event]:
                del waiting[key]
            raise RpcTimeout(self.service_name) from None


class _ReadMethodProxy(_TimedMethodProxy):
    publisher_cls = ReadPublisher


class _ReadServiceProxy(nameko_rpc.ServiceProxy):
    def __getattr__(self, name: str) -> _ReadMethodProxy:
        return _ReadMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class _WriteServiceProxy(nameko_rpc.ServiceProxy):
    def __getattr__(self, name: str) -> _TimedMethodProxy:
        return _TimedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class _TracedServiceProxy(nameko_rpc.ServiceProxy):
    def __getattr__(self, name: str) -> _TracedMethodProxy:
        return _TracedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener, **self.options)


class RpcProxy(nameko_rpc.RpcProxy):
    """nameko's ``RpcProxy`` (persistent, confirmed requests, no time limit) whose calls
    are traced as CLIENT spans, like the gateway's read and write proxies."""

    def get_dependency(self, worker_ctx: Any) -> _TracedServiceProxy:
        return _TracedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener, **self.options)


class WriteRpcProxy(nameko_rpc.RpcProxy):
    """nameko's ``RpcProxy`` (persistent, confirmed requests) that stops waiting after
    ``RPC_WRITE_TIMEOUT`` seconds (configuration) with :class:`RpcTimeout`. The write may
    still apply; its write key (yilin.writes) makes a retry return that same answer."""

    def setup(self) -> None:
        self.timeout = float(self.container.config.get("RPC_WRITE_TIMEOUT") or DEFAULT_WRITE_TIMEOUT)

    def get_dependency(self, worker_ctx: Any) -> _WriteServiceProxy:
        return _WriteServiceProxy(
            worker_ctx, self.target_service, self.rpc_reply_listener, timeout=self.timeout, **self.options
        )


class ReadRpcProxy(nameko_rpc.RpcProxy):
    """An ``RpcProxy`` for reads: transient requests, no confirms, and ``RPC_READ_TIMEOUT``
    seconds (configuration) for the answer. It shares the worker's reply queue with the
    ordinary proxies."""

    def setup(self) -> None:
        self.timeout = float(self.container.config.get("RPC_READ_TIMEOUT") or DEFAULT_READ_TIMEOUT)

    def get_dependency(self, worker_ctx: Any) -> _ReadServiceProxy:
        return _ReadServiceProxy(
            worker_ctx, self.target_service, self.rpc_reply_listener, timeout=self.timeout, **self.options
        )


class _RpcConsumer(nameko_rpc.RpcConsumer):
    def setup(self) -> None:
        # one per container: every RPC method shares its trusted keys and verified assertions
        self.verifier = Verifier(self.container.config)
        super().setup()

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> Any:
        # nameko's, but a transient request gets its reply the way it came
        config = self.container.config
        transient = message.properties.get("delivery_mode") == NON_PERSISTENT
        responder = (_ReadResponder if transient else nameko_rpc.Responder)(
            config[AMQP_URI_CONFIG_KEY],
            nameko_rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class _ReadResponder(nameko_rpc.Responder):
    publisher_cls = ReadPublisher


class Rpc(SignatureCheckedOnce, nameko_rpc.Rpc):
    """nameko's RPC entrypoint, replying to reads as they were asked (see the module),
    that refuses a call without a verifiable identity (:mod:`yilin.identity`): the
    caller gets ``Unauthenticated`` and no worker runs, so nothing changes."""

    rpc_consumer = _RpcConsumer()
    verifies_identity = True

    def check_configuration(self, config: Any) -> None:
        """A malformed public key of a trusted signer stops the service before it starts."""
        Verifier(config)

    def handle_message(self, body: Any, message: Any) -> None:
        # nameko's, with the identity verified between the headers and the worker; an
        # exception here is sent back to the caller as the reply (RpcConsumer)
        try:
            args, kwargs = body["args"], body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`") from None
        self.check_signature(args, kwargs)
        context_data = self.unpack_message_headers(message)
        context_data.pop(VERIFIED_KEY, None)  # only this entrypoint may say what it verified
        identity = verify_assertion(self.container.config, context_data.get(IDENTITY_KEY), self.rpc_consumer.verifier)
        context_data[VERIFIED_KEY] = identity.to_header()
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, args, kwargs, context_data=context_data, handle_result=handle_result)
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)


Method = TypeVar("Method", bound=Callable[..., Any])


def rpc(method: Method) -> Method:
    """Declare ``method`` an RPC entrypoint of its service (nameko's ``@rpc``, typed)."""
    declared: Method = Rpc.decorator(method)
    return declared


def write_rpc(method: Method) -> Method:
    """Declare ``method`` a write RPC entrypoint: :func:`rpc` that applies once per write
    key however often it is delivered (:func:`yilin.writes.applies_once`)."""
    return rpc(applies_once(method))
