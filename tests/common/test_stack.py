"""The stack every other test relies on: health, readiness, problem+json at the edges."""

from __future__ import annotations

import asyncio
import http.client
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from common.devstack import AUDIT_WORKERS, SERVICES, Ports, Stack, _ephemeral_low, free_port

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


class TestKeepAlive:
    async def test_idle_connection_outlives_the_clients_expiry(self, stack: Stack):
        """httpx drops an idle connection after 5 s; the server must not close it first."""
        url = urlsplit(stack.url("identity"))
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            reply = conn.getresponse()
            assert reply.status == 200 and reply.read()
            await asyncio.sleep(6)
            assert conn.sock is not None
            conn.sock.setblocking(False)
            with pytest.raises(BlockingIOError):  # b"" here would mean the server hung up
                conn.sock.recv(1, socket.MSG_PEEK)
        finally:
            conn.close()


class TestFreePort:
    async def test_ports_are_distinct_and_below_the_ephemeral_range(self):
        ports = [free_port() for _ in range(200)]
        assert len(set(ports)) == len(ports)
        assert all(10000 <= p < _ephemeral_low() for p in ports)


class TestProjectorProcessSwitch:
    def stack(self, tmp_path, **extra_env: str) -> Stack:
        return Stack(tmp_path, Ports.free(), admin_password="Unused-Passw0rd!", extra_env=extra_env)

    def test_by_default_the_projector_signs_and_the_consumer_holds_no_key(self, tmp_path):
        stack = self.stack(tmp_path)
        names = [c.name for c in stack.child_specs()]
        assert "audit-consumer" in names and "audit-projector" in names
        env = stack.env()
        consumer, projector = (stack.child_env(n, env) for n in AUDIT_WORKERS)
        assert consumer["AUDIT_PROJECTOR_PROCESS"] == "true"
        assert "AUDIT_CHECKPOINT_KEY_FILE" not in consumer
        assert projector["AUDIT_CHECKPOINT_KEY_FILE"] == str(stack.checkpoint_key_path)

    def test_switched_off_no_projector_starts_and_the_consumer_signs(self, tmp_path):
        stack = self.stack(tmp_path, AUDIT_PROJECTOR_PROCESS="false")
        names = [c.name for c in stack.child_specs()]
        assert "audit-consumer" in names and "audit-projector" not in names
        consumer = stack.child_env("audit-consumer", stack.env())
        assert consumer["AUDIT_PROJECTOR_PROCESS"] == "false"
        assert consumer["AUDIT_CHECKPOINT_KEY_FILE"] == str(stack.checkpoint_key_path)
