"""OpenTelemetry tracing: set up in lifespan; the W3C trace id follows HTTP → outbox → Kafka."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("ohs.telemetry")


def setup_tracing(service_name: str, otlp_endpoint: str | None) -> TracerProvider:
    """A tracer provider for this process; exports over OTLP when an endpoint is set."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTLP exporter not installed; spans stay in process")
        else:
            exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def current_trace_id() -> str | None:
    """The W3C trace id of the current span, or None outside a trace."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def current_traceparent() -> str | None:
    """The W3C traceparent header of the current span, for Kafka headers."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def context_from_headers(headers: Mapping[str, str]) -> otel_context.Context:
    """An OpenTelemetry context from W3C headers (HTTP or Kafka)."""
    return extract(dict(headers))


class TracingMiddleware:
    """Starts a server span per request, continuing the caller's W3C trace."""

    def __init__(self, app: ASGIApp, service_name: str) -> None:
        self.app = app
        self.tracer = trace.get_tracer(service_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = context_from_headers(headers)
        name = f"{scope['method']} {scope['path']}"
        with self.tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.request.method", scope["method"])

            async def send_with_status(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self.app(scope, receive, send_with_status)
