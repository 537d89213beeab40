"""The stack every other test relies on: health, readiness, problem+json at the edges."""

from __future__ import annotations

import httpx
import pytest

from common.devstack import SERVICES, Stack

pytestmark = pytest.mark.asyncio


class TestHealth:
    @pytest.mark.parametrize("service", list(SERVICES))
    async def test_healthz_and_readyz(self, stack: Stack, http: httpx.AsyncClient, service: str):
        base = stack.url(service)
        assert (await http.get(f"{base}/healthz")).json() == {"status": "ok"}
        assert (await http.get(f"{base}/readyz")).json() == {"status": "ready"}

    @pytest.mark.parametrize("service", list(SERVICES))
    async def test_openapi_served(self, stack: Stack, http: httpx.AsyncClient, service: str):
        doc = (await http.get(f"{stack.url(service)}/openapi.json")).json()
        assert doc["openapi"].startswith("3.")
        assert "Problem" in doc["components"]["schemas"]


class TestUnknownRoutes:
    @pytest.mark.parametrize("service", list(SERVICES))
    async def test_unknown_route_is_problem_json(
        self, stack: Stack, http: httpx.AsyncClient, service: str
    ):
        resp = await http.get(f"{stack.url(service)}/no/such/thing")
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert {"type", "title", "status", "detail"} <= body.keys()
        assert body["status"] == 404

    async def test_wrong_method_is_problem_json(self, stack: Stack, http: httpx.AsyncClient):
        resp = await http.delete(f"{stack.url('records')}/healthz")
        assert resp.status_code == 405
        assert resp.headers["content-type"] == "application/problem+json"
