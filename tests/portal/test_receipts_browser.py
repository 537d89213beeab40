"""The history page checks each entry's receipt in the browser: verified, not verified, pending."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from common.devstack import Stack
from tests.audit.tlog import MemoryLog
from tests.helpers import eventually
from tests.portal.support import Scenario, history, open_file, read_record
from tests.portal.test_browser import EXPECT_MS, log_in, new_context

pytestmark = pytest.mark.asyncio
RECEIPT = re.compile(r'data-receipt="([^"]*)"')


@pytest.fixture(scope="module")
async def scene(stack: Stack, http: httpx.AsyncClient) -> Scenario:
    """A file read three times, every read already in a signed tree."""
    scene = await open_file(http, stack, last_name="Receipts", physician_name="Dr Merkle")
    for _ in range(3):
        await read_record(http, stack, scene.physician, scene.worker_id)

    async def proved() -> list[dict[str, Any]] | None:
        items = [e for e in await history(http, stack, scene.worker) if e["action"] == "read"]
        return items if len(items) >= 3 and all(e["receipt"] for e in items) else None

    await eventually(proved, timeout=30)
    return scene


async def log_key(stack: Stack, http: httpx.AsyncClient) -> str:
    resp = await http.get(f"{stack.url('audit')}/log/key")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["verifier_key"])


async def history_page(browser: Browser, stack: Stack, scene: Scenario):
    ctx: BrowserContext = await new_context(browser)
    page = await ctx.new_page()
    await log_in(page, stack, scene.worker.username)
    await expect(page).to_have_url(re.compile(r"/history$"))
    return ctx, page


async def rewrite_history(page: Page, change: Callable[[str], str]) -> None:
    """The next /history page reaches the browser changed (as a hostile server could send it)."""

    async def handle(route: Route) -> None:
        resp = await route.fetch()
        await route.fulfill(response=resp, body=change(await resp.text()))

    await page.route(re.compile(r"/history(\?.*)?$"), handle)


def edit_receipts(body: str, edit: Callable[[dict[str, Any], int], dict[str, Any]]) -> str:
    """Apply `edit` to each entry's receipt JSON (numbered from the top) in the page."""
    count = iter(range(10_000))

    def one(m: re.Match[str]) -> str:
        receipt = edit(json.loads(html.unescape(m.group(1))), next(count))
        return f'data-receipt="{html.escape(json.dumps(receipt), quote=True)}"'

    return RECEIPT.sub(one, body)


class TestVerifiedInTheBrowser:
    async def test_every_entry_is_verified_against_the_pinned_key(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario,
        screenshots: Path,
    ):  # fmt: skip
        ctx, page = await history_page(browser, stack, scene)
        entries = page.locator("li.entry[data-receipt]")
        await expect(entries.first).to_be_visible()
        await expect(page.locator("#entries")).to_have_attribute(
            "data-receipts-checked", "1", timeout=EXPECT_MS
        )
        count = await entries.count()
        assert count >= 3
        marks = page.locator("li.entry[data-receipt] .receipt")
        await expect(marks).to_have_text(["verified"] * count)
        title = await marks.first.get_attribute("title")
        assert re.fullmatch(r"leaf \d+ · tree size \d+", title or "")
        pinned = await page.evaluate("localStorage.getItem('ohs.audit.log-key')")
        assert pinned == await log_key(stack, http)
        await expect(page.locator("#log-key-warning")).to_be_hidden()
        await page.screenshot(path=str(screenshots / "history-verified.png"), full_page=True)
        await ctx.close()

    async def test_in_french(self, browser: Browser, stack: Stack, scene: Scenario):
        ctx, page = await history_page(browser, stack, scene)
        await ctx.add_cookies([{"name": "ohs_lang", "value": "fr", "url": stack.url("portal")}])
        await page.reload()
        await expect(page.locator("li.entry[data-receipt] .receipt").first).to_have_text(
            "vérifié", timeout=EXPECT_MS
        )
        await ctx.close()

    async def test_a_new_access_arriving_live_is_checked_too(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        ctx, page = await history_page(browser, stack, scene)
        await expect(page.locator("#entries")).to_have_attribute("data-receipts-checked", "1")
        before = await page.locator("li.entry").count()
        await read_record(http, stack, scene.physician, scene.worker_id)
        await expect(page.locator("li.entry")).to_have_count(before + 1, timeout=EXPECT_MS)
        # The live row is pending or verified, never left unchecked.
        await expect(page.locator("li.entry").first.locator(".receipt")).to_have_text(
            re.compile(r"^(verified|pending)$"), timeout=EXPECT_MS
        )
        await ctx.close()


class TestNotVerified:
    async def test_a_tampered_receipt_is_not_verified_and_the_others_are(
        self, browser: Browser, stack: Stack, scene: Scenario, screenshots: Path
    ):
        def tamper(receipt: dict[str, Any], n: int) -> dict[str, Any]:
            if n == 1:
                # The stored event rewritten: same event id, another action.
                leaf = base64.b64decode(receipt["leaf"]).replace(b'"read"', b'"search"', 1)
                receipt["leaf"] = base64.b64encode(leaf).decode()
            return receipt

        ctx, page = await history_page(browser, stack, scene)
        await rewrite_history(page, lambda body: edit_receipts(body, tamper))
        await page.reload()
        marks = page.locator("li.entry[data-receipt] .receipt")
        await expect(marks.nth(1)).to_have_text("not verified", timeout=EXPECT_MS)
        await expect(marks.nth(0)).to_have_text("verified")
        await expect(marks.nth(2)).to_have_text("verified")
        assert "inclusion proof" in (await marks.nth(1).get_attribute("title") or "")
        await page.screenshot(path=str(screenshots / "history-not-verified.png"), full_page=True)
        await ctx.close()

    async def test_a_receipt_of_another_entry_is_not_verified(
        self, browser: Browser, stack: Stack, scene: Scenario
    ):
        first: dict[str, Any] = {}

        def swap(receipt: dict[str, Any], n: int) -> dict[str, Any]:
            if n == 0:
                first.update(receipt)
            return dict(first) if n == 1 else receipt

        ctx, page = await history_page(browser, stack, scene)
        await rewrite_history(page, lambda body: edit_receipts(body, swap))
        await page.reload()
        mark = page.locator("li.entry[data-receipt] .receipt").nth(1)
        await expect(mark).to_have_text("not verified", timeout=EXPECT_MS)
        assert "another event" in (await mark.get_attribute("title") or "")
        await ctx.close()

    async def test_another_key_than_the_pinned_one_warns_and_verifies_nothing(
        self, browser: Browser, stack: Stack, scene: Scenario, screenshots: Path
    ):
        ctx, page = await history_page(browser, stack, scene)
        await expect(page.locator(".receipt").first).to_have_text("verified", timeout=EXPECT_MS)
        # A server that swaps the log (its key) for the page: the browser kept the first key.
        other = MemoryLog().key
        await rewrite_history(
            page, lambda body: re.sub(r'data-log-key="[^"]*"', f'data-log-key="{other}"', body)
        )
        await page.reload()
        warning = page.locator("#log-key-warning")
        await expect(warning).to_be_visible(timeout=EXPECT_MS)
        await expect(warning).to_contain_text("another key for the audit log")
        await expect(page.locator("#entries")).to_have_attribute("data-receipts-checked", "1")
        await expect(page.locator(".receipt", has_text=re.compile("^verified$"))).to_have_count(0)
        await expect(page.locator(".receipt").first).to_have_text("not checked")
        await page.screenshot(path=str(screenshots / "history-other-key.png"), full_page=True)
        await ctx.close()


class TestPending:
    async def test_entries_without_a_receipt_say_pending_and_the_page_works(
        self, browser: Browser, stack: Stack, scene: Scenario
    ):
        def pending(body: str) -> str:
            body = RECEIPT.sub('data-pending="1"', body)
            return re.sub(r'data-state="checking">[^<]*<', 'data-state="checking"><', body)

        ctx, page = await history_page(browser, stack, scene)
        await rewrite_history(page, pending)
        await page.reload()
        await expect(page.locator("#entries")).to_have_attribute(
            "data-receipts-checked", "1", timeout=EXPECT_MS
        )
        await expect(page.locator("li.entry").first).to_contain_text("Dr Merkle")
        assert await page.locator("li.entry[data-receipt]").count() == 0
        await expect(page.locator("li.entry[data-pending] .receipt").first).to_have_text("pending")
        await expect(page.locator(".receipt", has_text=re.compile("^verified$"))).to_have_count(0)
        await ctx.close()
