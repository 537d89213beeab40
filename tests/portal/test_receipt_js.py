"""static/receipt.js in Chromium against receipts made by the Python core (no stack needed)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.async_api import Browser, Page, Route

from common.devstack import REPO
from tests.audit.tlog import MemoryLog

pytestmark = pytest.mark.asyncio
MODULE = REPO / "services" / "portal" / "static" / "receipt.js"
# The loopback is a secure context, so WebCrypto is there; the route answers, not a server.
ORIGIN = "http://localhost:59999"

CHECK = """async ([receipt, key, expected]) => {
  const m = await import('/static/receipt.js');
  let verifier;
  try { verifier = await m.parseVerifierKey(key); }
  catch (err) { return {ok: false, problem: 'key: ' + err.message}; }
  return await m.verifyReceipt(receipt, verifier, expected);
}"""


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    ctx = await browser.new_context()
    page = await ctx.new_page()

    async def serve(route: Route) -> None:
        if route.request.url.endswith("/static/receipt.js"):
            await route.fulfill(body=MODULE.read_text(), content_type="text/javascript")
        else:
            await route.fulfill(body="<!doctype html><title>t</title>", content_type="text/html")

    await page.route(f"{ORIGIN}/**", serve)
    await page.goto(ORIGIN + "/")
    try:
        yield page
    finally:
        await ctx.close()


def key_with_plus() -> Ed25519PrivateKey:
    """A key whose verifier string has a '+' in its base64 (the parser must not split there)."""
    while True:
        private = Ed25519PrivateKey.generate()
        if "+" in MemoryLog(private=private).key.split("+", 2)[2]:
            return private


async def check(page: Page, receipt: dict[str, Any], key: str, expected: Any = None) -> Any:
    return await page.evaluate(CHECK, [receipt, key, expected])


@pytest.fixture(scope="module")
def log() -> MemoryLog:
    log = MemoryLog(private=key_with_plus())
    log.grow(100)
    return log


class TestGoodReceipts:
    @pytest.mark.parametrize(
        ("index", "size"),
        [(0, 1), (0, 2), (1, 2), (2, 3), (6, 7), (0, 16), (15, 16), (20, 21), (5, 21), (63, 100),
         (99, 100)],
    )  # fmt: skip
    async def test_the_browser_verifies_what_the_core_proves(
        self, page: Page, log: MemoryLog, index: int, size: int
    ) -> None:
        receipt = log.receipt(index, size).as_json()
        event_id = json.loads(base64.b64decode(receipt["leaf"]))["event_id"]
        result = await check(page, receipt, log.key, event_id)
        assert result == {
            "ok": True, "problem": None, "eventId": event_id, "leafIndex": index,
            "treeSize": size,
        }  # fmt: skip


class TestBadReceipts:
    def tamper(self, log: MemoryLog, field: str) -> dict[str, Any]:
        data = log.receipt(20, 21).as_json()
        if field == "leaf":
            leaf = base64.b64decode(data["leaf"]).replace(b'"read"', b'"none"')
            data["leaf"] = base64.b64encode(leaf).decode()
        elif field == "proof":
            data["inclusion_proof"][1] = base64.b64encode(bytes(32)).decode()
        elif field == "index":
            data["leaf_index"] = 19
        elif field == "size":
            data["tree_size"] = 22
        elif field == "checkpoint":
            data["checkpoint"] = data["checkpoint"].replace("\n21\n", "\n22\n", 1)
            data["tree_size"] = 22
        elif field == "log":
            data["log"] = "another.log"
        return data

    @pytest.mark.parametrize(
        ("field", "problem"),
        [
            ("leaf", "inclusion proof"),
            ("proof", "inclusion proof"),
            ("index", "inclusion proof"),
            ("size", "size differs"),
            ("checkpoint", "signature does not verify"),
            ("log", "another log"),
        ],
    )
    async def test_a_tampered_receipt_is_not_verified(
        self, page: Page, log: MemoryLog, field: str, problem: str
    ) -> None:
        result = await check(page, self.tamper(log, field), log.key)
        assert result["ok"] is False and problem in result["problem"]

    async def test_another_key_or_another_event_is_not_verified(
        self, page: Page, log: MemoryLog
    ) -> None:
        receipt = log.receipt(3).as_json()
        other = await check(page, receipt, MemoryLog().key)
        assert not other["ok"] and "not signed by the pinned key" in other["problem"]
        wrong = await check(page, receipt, log.key, "another-event")
        assert not wrong["ok"] and "another event" in wrong["problem"]

    @pytest.mark.parametrize(
        "key", ["", "nokey", "ohs.test/audit+00000000+AAAA", "x+zz+" + "A" * 44]
    )
    async def test_a_malformed_key_is_refused(self, page: Page, log: MemoryLog, key: str) -> None:
        result = await check(page, log.receipt(0).as_json(), key)
        assert not result["ok"] and result["problem"].startswith("key: ")

    async def test_garbage_is_a_problem_not_an_exception(self, page: Page, log: MemoryLog) -> None:
        for receipt in (None, {}, {"leaf": "!!"}, {**log.receipt(0).as_json(), "checkpoint": "x"}):
            result = await check(page, receipt, log.key)  # type: ignore[arg-type]
            assert result["ok"] is False and result["problem"]
