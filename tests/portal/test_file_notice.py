"""The notice that the file is computerised, in a real browser: shown once, then never again."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from common.devstack import Stack
from tests.portal.support import Scenario, open_file
from tests.portal.test_browser import logged_in

pytestmark = pytest.mark.asyncio
TITLE = "Your health file is kept on computer"


@pytest.fixture(scope="module")
async def scene(stack: Stack, http: httpx.AsyncClient) -> Scenario:
    return await open_file(http, stack, last_name="Notice", physician_name="Dr Notice")


class TestFileNotice:
    async def test_seen_once_dismissed_recorded_and_not_shown_again(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario,
        screenshots: Path,
    ):  # fmt: skip
        ctx, page = await logged_in(browser, stack, scene.worker.username)
        await expect(page).to_have_url(re.compile(r"/history$"))
        notice = page.get_by_role("region", name=TITLE)
        await expect(notice).to_be_visible()
        await expect(notice).to_contain_text("Who opened my file")
        await page.screenshot(path=str(screenshots / "file-notice.png"), full_page=True)
        await notice.get_by_role("button", name="I have read this").click()
        await expect(page).to_have_url(re.compile(r"/history$"))
        await expect(page.get_by_role("heading", name="Who opened my file")).to_be_visible()
        await expect(page.get_by_role("region", name=TITLE)).to_have_count(0)
        await page.screenshot(path=str(screenshots / "file-notice-dismissed.png"), full_page=True)
        me = await http.get(f"{stack.url('identity')}/users/me", headers=scene.worker.headers)
        assert me.json()["file_notice_seen_at"] is not None
        await page.reload()
        await expect(page.get_by_role("region", name=TITLE)).to_have_count(0)
        await page.get_by_role("button", name="Log out").click()
        await ctx.close()

        # A new browser and a new session: identity remembers, the notice stays away.
        ctx, page = await logged_in(browser, stack, scene.worker.username)
        await expect(page).to_have_url(re.compile(r"/history$"))
        await expect(page.get_by_role("heading", name="Who opened my file")).to_be_visible()
        await expect(page.locator("#file-notice")).to_have_count(0)
        await ctx.close()

    async def test_a_forged_dismissal_is_refused_and_records_nothing(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient
    ):
        other = await open_file(http, stack, last_name="Forged", physician_name="Dr Forged")
        ctx, page = await logged_in(browser, stack, other.worker.username)
        await expect(page.get_by_role("region", name=TITLE)).to_be_visible()
        resp = await page.request.post(
            stack.url("portal") + "/notice", form={"csrf_token": "not-the-token"}
        )
        assert resp.status == 403
        me = await http.get(f"{stack.url('identity')}/users/me", headers=other.worker.headers)
        assert me.json()["file_notice_seen_at"] is None
        await page.reload()
        await expect(page.get_by_role("region", name=TITLE)).to_be_visible()
        await ctx.close()
