"""The compliance desk in a real browser against the real stack: a live alert, triage with a
comment (by mouse and by keyboard only), the history PDF, a nurse refused, audit restarted."""

from __future__ import annotations

import re
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from common.devstack import Stack
from tests.audit.support import dsn
from tests.helpers import Account, eventually, make_user
from tests.portal.support import Scenario, open_file
from tests.portal.test_browser import log_in, new_context

pytestmark = pytest.mark.asyncio
LIVE_MS = 2_000


@pytest.fixture(scope="module")
async def director(stack: Stack, http: httpx.AsyncClient) -> Account:
    return await make_user(http, stack, "medical_director", display_name="Dr Vermeulen Desk")


async def curious_read(http: httpx.AsyncClient, stack: Stack, nurse: Account, worker_id: str):
    """A nurse outside the care team opens a file (exam part): outside_care_team, high."""
    resp = await http.get(
        f"{stack.url('records')}/workers/{worker_id}/record", headers=nurse.headers
    )
    assert resp.status_code == 200, resp.text


async def alert_stored(
    http: httpx.AsyncClient, stack: Stack, director: Account, nurse: Account
) -> dict:
    """The nurse's open alert once audit has it (the moment the 2 s budget starts)."""

    async def probe() -> dict | None:
        resp = await http.get(
            f"{stack.url('audit')}/alerts",
            params={"actor_user_id": nurse.id, "status": "open"},
            headers=director.headers,
        )
        items = resp.json()["items"]
        return items[0] if items else None

    return await eventually(probe, timeout=30, interval=0.05)


async def open_inbox(browser: Browser, stack: Stack, director: Account) -> Page:
    ctx = await new_context(browser)
    page = await ctx.new_page()
    await log_in(page, stack, director.username)
    await expect(page).to_have_url(re.compile(r"/desk$"))
    await expect(page.get_by_role("heading", name="Compliance desk")).to_be_visible()
    return page


class TestInbox:
    async def test_a_curious_access_appears_live_and_is_resolved_with_a_comment(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, director: Account,
        screenshots: Path,
    ):  # fmt: skip
        scene: Scenario = await open_file(http, stack, last_name="Curious")
        nurse = await make_user(http, stack, "assistant", display_name="Nurse Curious")
        page = await open_inbox(browser, stack, director)
        await page.wait_for_timeout(1500)  # the stream is connected
        await curious_read(http, stack, nurse, scene.worker_id)
        alert = await alert_stored(http, stack, director, nurse)
        stored_at = time.monotonic()
        row = page.locator(f"tr[data-alert='{alert['id']}']")
        await expect(row).to_be_visible(timeout=LIVE_MS)
        assert time.monotonic() - stored_at < LIVE_MS / 1000 + 0.5
        await expect(row).to_contain_text("Nurse Curious")
        await expect(row).to_contain_text("outside_care_team")
        await expect(row.get_by_role("link", name="The worker's access history")).to_be_visible()
        # The new alert as the director sees it arrive (the whole page holds every alert the
        # suite raised: thousands of pixels, unreadable as one image).
        await row.scroll_into_view_if_needed()
        await page.screenshot(path=str(screenshots / "desk-inbox.png"))

        await row.get_by_label("Comment").fill("Asked the nurse: no care reason. Abuse.")
        await row.get_by_label("Abuse", exact=True).check()
        await row.get_by_label("Open an incident (abuse)").check()
        await row.get_by_role("button", name=re.compile("^Resolve")).click()
        await expect(page.get_by_role("status").first).to_contain_text("resolved")
        resp = await http.get(
            f"{stack.url('audit')}/alerts",
            params={"actor_user_id": nurse.id, "status": "resolved"},
            headers=director.headers,
        )
        (resolved,) = resp.json()["items"]
        assert resolved["resolution"] == "abuse"
        assert resolved["resolution_comment"] == "Asked the nurse: no care reason. Abuse."
        assert resolved["resolved_by"] == "Dr Vermeulen Desk"
        assert resolved["incident_id"], "abuse opened an incident in the register"
        await expect(page.locator(f"tr[data-alert='{alert['id']}']")).to_have_count(0)
        await page.context.close()

    async def test_keyboard_only_triage(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        scene = await open_file(http, stack, last_name="Keyboard")
        nurse = await make_user(http, stack, "assistant", display_name="Nurse Keyboard")
        await curious_read(http, stack, nurse, scene.worker_id)
        alert = await alert_stored(http, stack, director, nurse)
        page = await open_inbox(browser, stack, director)
        await page.goto(f"{stack.url('portal')}/desk?actor={nurse.id}")
        target = f"comment-{alert['id']}"
        for _ in range(60):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == target:
                break
        assert await page.evaluate("document.activeElement.id") == target
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        await page.keyboard.type("Covering a colleague's patients this week")
        for _ in range(6):
            await page.keyboard.press("Tab")
            label = await page.evaluate("document.activeElement.textContent.trim()")
            if label.startswith("Resolve"):
                break
        assert label.startswith("Resolve"), label
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"done=resolved"))
        resp = await http.get(
            f"{stack.url('audit')}/alerts",
            params={"actor_user_id": nurse.id, "status": "resolved"},
            headers=director.headers,
        )
        (resolved,) = resp.json()["items"]
        assert resolved["resolution"] == "justified"
        assert resolved["resolution_comment"] == "Covering a colleague's patients this week"
        await page.context.close()

    async def test_the_stream_survives_an_audit_restart(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        """Alerts raised while audit's API is down arrive once it is back, without a reload."""
        page = await open_inbox(browser, stack, director)
        await page.wait_for_timeout(1500)
        scene = await open_file(http, stack, last_name="Restart")
        nurse = await make_user(http, stack, "assistant", display_name="Nurse Restart")
        stack.kill_child("audit")
        try:
            await expect(page.locator("#live-status")).to_contain_text(
                "does not answer", timeout=10_000
            )
            await curious_read(http, stack, nurse, scene.worker_id)
            await page.wait_for_timeout(1500)
        finally:
            stack.start_children(["audit"])
            await stack.wait_ready(60)
        alert = await alert_stored(http, stack, director, nurse)
        await expect(page.locator(f"tr[data-alert='{alert['id']}']")).to_be_visible(timeout=10_000)
        await page.context.close()


class TestPages:
    async def test_the_history_page_prints_a_pdf_and_shows_denials(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, director: Account,
        screenshots: Path,
    ):  # fmt: skip
        scene = await open_file(http, stack, last_name="Printed")
        helpdesk = await make_user(http, stack, "helpdesk")
        denied = await http.get(
            f"{stack.url('records')}/workers/{scene.worker_id}/record", headers=helpdesk.headers
        )
        assert denied.status_code == 403
        page = await open_inbox(browser, stack, director)
        await page.get_by_role("link", name="Access histories").click()
        await page.get_by_label("or the worker's id").fill(scene.worker_id)
        await page.get_by_role("button", name="Show the history").click()
        await expect(page.locator(".marker-denied").first).to_be_visible(timeout=30_000)
        await page.screenshot(path=str(screenshots / "desk-history.png"), full_page=True)
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Print the report (PDF)").click()
        path = await (await info.value).path()
        assert Path(str(path)).read_bytes().startswith(b"%PDF")  # noqa: ASYNC240
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Export (FHIR)").click()
        assert (await info.value).suggested_filename.endswith(".fhir.json")
        await page.context.close()

    async def test_health_and_deadlines(
        self, browser: Browser, stack: Stack, director: Account, screenshots: Path
    ):
        page = await open_inbox(browser, stack, director)
        await page.get_by_role("link", name="Trail health").click()
        await expect(page.locator("svg.chart")).to_be_visible()
        await page.get_by_role("button", name="Verify the whole trail now").click()
        await expect(page.get_by_role("status").first).to_contain_text("events checked")
        await page.get_by_role("link", name="Trail health").click()
        await expect(page.locator("#last-integrity")).to_contain_text("Last verification")
        await page.screenshot(path=str(screenshots / "desk-health.png"), full_page=True)
        await page.get_by_role("link", name="Deadlines").click()
        await expect(page.get_by_role("heading", name="Breach clocks (72 hours)")).to_be_visible()
        await page.screenshot(path=str(screenshots / "desk-deadlines.png"), full_page=True)
        await page.context.close()

    async def test_the_security_officer_has_the_desk_too(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient
    ):
        officer = await make_user(http, stack, "security_officer")
        scene = await open_file(http, stack, last_name="Officer")
        page = await open_inbox(browser, stack, officer)
        for path, heading in (
            (f"/desk/history?worker={scene.worker_id}", f"History of file {scene.worker_id}"),
            ("/desk/actor", "Staff activity"),
            ("/desk/health", "Trail health"),
            ("/desk/deadlines", "Deadlines"),
        ):
            resp = await page.goto(stack.url("portal") + path)
            assert resp is not None and resp.status == 200, path
            await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        async with page.expect_download() as info:
            await page.goto(stack.url("portal") + f"/desk/history?worker={scene.worker_id}")
            await page.get_by_role("link", name="Print the report (PDF)").click()
        path = await (await info.value).path()
        assert Path(str(path)).read_bytes().startswith(b"%PDF")  # noqa: ASYNC240
        await page.context.close()

    async def test_a_nurse_who_opens_the_desk_is_refused_and_traced(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient
    ):
        nurse = await make_user(http, stack, "assistant")
        ctx = await new_context(browser)
        page = await ctx.new_page()
        await log_in(page, stack, nurse.username)
        resp = await page.goto(f"{stack.url('portal')}/desk")
        assert resp is not None and resp.status == 403
        heading = page.get_by_role("heading", name="Not available for your profile")
        await expect(heading).to_be_visible()
        resp = await page.goto(f"{stack.url('portal')}/desk/history?worker=x")
        assert resp is not None and resp.status == 403
        conn = await asyncpg.connect(dsn(stack))
        try:

            async def traced() -> int | None:
                n = await conn.fetchval(
                    "SELECT count(*) FROM event WHERE source = 'audit' "
                    "AND outcome = 'denied' AND actor_user_id = $1",
                    nurse.id,
                )
                return int(n) if n >= 2 else None

            assert await eventually(traced, timeout=30) == 2
        finally:
            await conn.close()
        await ctx.close()


class TestLinks:
    async def test_the_events_behind_an_alert_and_the_actors_activity(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, director: Account
    ):
        scene = await open_file(http, stack, last_name="Linked")
        nurse = await make_user(http, stack, "assistant", display_name="Nurse Linked")
        await curious_read(http, stack, nurse, scene.worker_id)
        await curious_read(http, stack, nurse, scene.worker_id)

        async def twice() -> dict | None:
            alert = await alert_stored(http, stack, director, nurse)
            return alert if alert["count"] == 2 else None

        alert = await eventually(twice, timeout=30)
        page = await open_inbox(browser, stack, director)
        await page.goto(f"{stack.url('portal')}/desk?actor={nurse.id}")
        row = page.locator(f"tr[data-alert='{alert['id']}']")
        await row.get_by_role("link", name="The 2 events behind it").click()
        await expect(page.locator("tr.event")).to_have_count(2)
        await expect(page.locator("tr.event").first).to_contain_text("Nurse Linked")
        await page.go_back()
        await row.get_by_role("link", name="Activity of Nurse Linked").click()
        await expect(page.get_by_role("heading", name="What they opened")).to_be_visible()
        opened = page.locator("table.alerts").first.locator("tbody tr")
        await expect(opened).to_have_count(2)
        await expect(opened.first).to_contain_text("read")
        await page.context.close()
