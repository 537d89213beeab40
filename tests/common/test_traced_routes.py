"""Traced by construction: every route of every service's OpenAPI either writes its access event
through a tracing dependency (records' FileAccess, common.trail.TracedEvents) or is named here
with the reason it carries no health or trail data. A new route that forgets fails this test."""

from __future__ import annotations

import importlib
import inspect

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from common.trail import is_traced

HEALTH = {("GET", "/healthz"), ("GET", "/readyz")}
SERVICES = ("identity", "records", "register", "audit", "portal")

# (method, path) → why the route needs no access event of its own.
UNTRACED: dict[str, dict[tuple[str, str], str]] = {
    "records": {
        ("GET", "/.well-known/records-signing-key"): "public keys of export bundles",
    },
    "identity": {
        ("*", "*"): "accounts, sessions and keys: no health or trail data; "
        "logins, failures, locks, grants and changes are events of their own",
    },
    "register": {
        ("*", "*"): "the GDPR register holds no health data (but the worker's copy attached to "
        "an access answer, whose routes take TracedEvents); every change and export is an event",
    },
    "audit": {
        ("GET", "/integrity"): "the verification's verdict, counts and hashes; no entry",
        ("GET", "/checkpoints"): "signed hashes of the store; no entry",
        ("GET", "/checkpoints/public-keys"): "public keys",
        ("GET", "/log/checkpoint"): "the signed tree head; no entry",
        ("GET", "/log/key"): "a public key",
        ("GET", "/log/consistency"): "hashes of subtrees; no entry",
        ("GET", "/log/inclusion"): "hashes of subtrees; no entry",
        ("GET", "/stats"): "consumer lag and event counts per source; no entry",
        ("GET", "/alerts/latest"): "the newest alert's id and time and an open count; the "
        "alerts are read through GET /alerts (traced)",
    },
}


def _app(service: str) -> FastAPI:
    return importlib.import_module(f"{service}.main").app


def _routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    routes = {}
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)
        if included is not None:  # an included router (FastAPI keeps it whole)
            pending.extend(included.routes)
        elif isinstance(route, APIRoute):
            for method in route.methods:
                routes[(method, route.path)] = route
    return routes


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


class TestEveryRouteIsTracedOrExplained:
    @pytest.mark.parametrize("service", sorted(UNTRACED))
    def test_routes_that_serve_data_leave_an_event(self, service: str) -> None:
        app = _app(service)
        routes = _routes(app)
        allowed = UNTRACED[service]
        untraced = []
        for operation in _operations(app):
            if operation in HEALTH or ("*", "*") in allowed or operation in allowed:
                continue
            if not is_traced(routes[operation]):
                untraced.append(" ".join(operation))
        assert not untraced, f"{service}: routes serving data without a trace: {untraced}"

    @pytest.mark.parametrize("service", ["records"])
    def test_every_health_route_is_traced(self, service: str) -> None:
        app = _app(service)
        traced = [op for op, route in _routes(app).items() if is_traced(route)]
        assert len(traced) == len(_operations(app)) - len(HEALTH) - len(UNTRACED[service])

    def test_the_walk_sees_a_forgotten_route(self) -> None:
        records = _app("records")
        forgotten = APIRoute("/workers/{worker_id}/leak", lambda worker_id: {}, methods=["GET"])
        assert is_traced(forgotten) is False
        assert any(is_traced(r) for r in _routes(records).values())


def _sync_callables(route: APIRoute) -> list[str]:
    found = [] if inspect.iscoroutinefunction(route.endpoint) else [f"endpoint {route.path}"]
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        pending.extend(dependency.dependencies)
        call = dependency.call
        if call is None or inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
            continue
        found.append(f"{getattr(call, '__module__', '?')}.{getattr(call, '__qualname__', call)}")
    return found


class TestNothingRunsInTheThreadPool:
    """FastAPI runs a plain `def` endpoint or dependency in a worker thread: a hop to the thread
    pool and back per call, which measured about half a millisecond of a history request."""

    @pytest.mark.parametrize("service", sorted(SERVICES))
    def test_every_endpoint_and_dependency_is_async(self, service: str) -> None:
        found = {c for route in _routes(_app(service)).values() for c in _sync_callables(route)}
        assert not found, f"{service}: runs in the thread pool: {sorted(found)}"

    def test_the_walk_sees_a_plain_dependency(self) -> None:
        def plain() -> int:
            return 1

        route = APIRoute("/x", lambda: {}, methods=["GET"], dependencies=[Depends(plain)])
        assert len(_sync_callables(route)) == 2
