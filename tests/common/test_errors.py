"""Every error is problem+json with the right status; never a 500 for bad input, never a trace."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.asyncio
PROBLEM = "application/problem+json"


def assert_problem(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


class TestBadBodies:
    async def test_malformed_json(self, client: httpx.AsyncClient):
        resp = await client.post(
            "/things", content=b'{"name": "x", ', headers={"content-type": "application/json"}
        )
        assert_problem(resp, 400)

    async def test_wrong_types_name_the_fields(self, client: httpx.AsyncClient):
        body = assert_problem(await client.post("/things", json={"name": 3, "count": "many"}), 422)
        fields = {e["field"] for e in body["errors"]}
        assert {"body.name", "body.count"} <= fields

    async def test_unknown_fields_are_refused(self, client: httpx.AsyncClient):
        body = assert_problem(
            await client.post("/things", json={"name": "a", "count": 1, "admin": True}), 422
        )
        assert any(e["field"] == "body.admin" for e in body["errors"])

    async def test_missing_body(self, client: httpx.AsyncClient):
        assert_problem(await client.post("/things"), 422)

    async def test_oversized_body_declared(self, client: httpx.AsyncClient):
        resp = await client.post("/things", json={"name": "a" * 20_000, "count": 1})
        assert_problem(resp, 413)

    async def test_oversized_body_streamed_without_length(self, client: httpx.AsyncClient):
        async def chunks():
            for _ in range(30):
                yield b"x" * 1000

        resp = await client.post(
            "/things", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(resp, 413)

    async def test_values_are_not_echoed(self, client: httpx.AsyncClient):
        resp = await client.post("/things", json={"name": "", "count": "DIAGNOSIS-F32"})
        assert "DIAGNOSIS-F32" not in resp.text

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    ))  # fmt: skip
    async def test_any_json_gets_a_4xx_or_success_never_5xx(self, client: httpx.AsyncClient, body):
        resp = await client.post("/things", content=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})  # fmt: skip
        assert resp.status_code in (201, 400, 413, 422)
        if resp.status_code != 201:
            assert resp.headers["content-type"] == PROBLEM


class TestDatabaseRefusals:
    async def test_a_nul_character_is_bad_input_not_an_outage(self, client: httpx.AsyncClient):
        resp = await client.post("/echo-db", json={"name": "a\u0000b", "count": 1})
        assert_problem(resp, 422)

    async def test_ordinary_text_is_stored(self, client: httpx.AsyncClient):
        resp = await client.post("/echo-db", json={"name": "Zoë", "count": 1})
        assert resp.status_code == 201 and resp.json() == {"stored": "Zoë"}


class TestRoutes:
    async def test_unknown_route(self, client: httpx.AsyncClient):
        assert_problem(await client.get("/nope"), 404)

    async def test_wrong_method(self, client: httpx.AsyncClient):
        assert_problem(await client.put("/things"), 405)

    async def test_unexpected_error_hides_internals(self, client: httpx.AsyncClient):
        resp = await client.get("/boom")
        body = assert_problem(resp, 500)
        assert "passwd" not in resp.text and "Traceback" not in resp.text
        assert body["detail"]
