"""The portal in a real browser against the real stack."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from common.devstack import Stack
from tests.helpers import PASSWORD, make_user
from tests.portal.support import Scenario, entry_of, open_file, read_notes, read_record

pytestmark = pytest.mark.asyncio
EXPECT_MS = 30_000
ACTIVE = "document.activeElement.id || document.activeElement.textContent"


async def new_context(browser: Browser, locale: str = "en-GB") -> BrowserContext:
    return await browser.new_context(  # type: ignore[attr-defined]
        locale=locale, viewport={"width": 1200, "height": 900}
    )


async def log_in(page: Page, stack: Stack, username: str, password: str = PASSWORD) -> None:
    await page.goto(stack.url("portal") + "/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def logged_in(
    browser: Browser, stack: Stack, username: str, password: str = PASSWORD
) -> tuple[BrowserContext, Page]:
    """A fresh browser context with a page that has logged in (or tried to)."""
    ctx = await new_context(browser)
    page = await ctx.new_page()
    await log_in(page, stack, username, password)
    return ctx, page


@pytest.fixture(scope="module")
async def scene(stack: Stack, http: httpx.AsyncClient) -> Scenario:
    return await open_file(http, stack, last_name="Browser", physician_name="Dr Dubois Browser")


class TestWorker:
    async def test_a_worker_sees_reads_appear_withheld_notes_and_contests_one(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario,
        screenshots: Path,
    ):  # fmt: skip
        ctx, page = await logged_in(browser, stack, scene.worker.username)
        await expect(page).to_have_url(re.compile(r"/history$"))
        await expect(page.get_by_role("heading", name="Who opened my file")).to_be_visible()
        # The session cookie is out of page JavaScript's reach.
        cookies = {c["name"]: c for c in await ctx.cookies()}
        assert cookies["ohs_portal"]["httpOnly"] and cookies["ohs_portal"]["sameSite"] == "Strict"
        assert "ohs_portal" not in await page.evaluate("document.cookie")

        # A physician reads the file while the page is open: the entry appears by itself.
        await read_record(http, stack, scene.physician, scene.worker_id)
        entry = page.locator("li.entry", has_text="Dr Dubois Browser").filter(
            has_text="read your file"
        )
        await expect(entry.first).to_be_visible(timeout=EXPECT_MS)
        await expect(entry.first).to_contain_text("an occupational physician")

        await read_notes(http, stack, scene.physician, scene.worker_id)
        await entry_of(http, stack, scene.worker, "read", "notes")
        await page.reload()
        withheld = page.locator("li.entry.withheld").first
        await expect(withheld).to_contain_text(
            "A personal note of your physician was consulted by Dr Dubois Browser; its content "
            "is not shown to you"
        )
        assert "SECRET-NOTE-CONTENT" not in await page.content()
        await page.screenshot(path=str(screenshots / "history.png"), full_page=True)

        # Contest the read of the file.
        await entry.first.get_by_role("link", name=re.compile("Contest this access")).click()
        await expect(page.get_by_role("heading", name="Contest this access")).to_be_visible()
        await page.get_by_label("Why do you contest this access?").fill(
            "I do not know this physician."
        )
        await page.screenshot(path=str(screenshots / "contest.png"), full_page=True)
        await page.get_by_role("button", name="Send my contest").click()
        await expect(page).to_have_url(re.compile(r"/contests$"))
        await expect(page.get_by_role("status")).to_contain_text("Your contest was received")
        row = page.locator("tr[data-contest]").first
        await expect(row).to_contain_text("I do not know this physician.")
        await expect(row).to_contain_text("received")
        await page.screenshot(path=str(screenshots / "contests.png"), full_page=True)

        # Back on the history, the entry says it is contested.
        await page.get_by_role("link", name="Who opened my file", exact=True).click()
        await expect(page.locator(".badge", has_text="Contested").first).to_be_visible()

        await page.get_by_role("link", name="My file", exact=True).click()
        await expect(page.get_by_role("heading", name="My file")).to_be_visible()
        await page.screenshot(path=str(screenshots / "record.png"), full_page=True)

        async with page.expect_download() as info:
            await page.get_by_role("link", name="Download my file as I may see it").click()
        download = await info.value
        assert download.suggested_filename == "my-health-file.json"

        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("status")).to_contain_text("You are logged out")
        await ctx.close()

    async def test_the_history_pdf_downloads(self, browser: Browser, stack: Stack, scene: Scenario):
        ctx, page = await logged_in(browser, stack, scene.worker.username)
        async with page.expect_download() as info:
            await page.get_by_role("link", name="Download this history (PDF)").click()
        download = await info.value
        path = await download.path()
        assert Path(str(path)).read_bytes().startswith(b"%PDF")  # noqa: ASYNC240
        await ctx.close()


class TestLogin:
    async def test_keyboard_only_login(
        self, browser: Browser, stack: Stack, scene: Scenario, screenshots: Path
    ):
        ctx = await new_context(browser)
        page = await ctx.new_page()
        await page.goto(stack.url("portal") + "/")
        await page.screenshot(path=str(screenshots / "login.png"), full_page=True)
        # Tab from the top of the page: skip link, language switch, then the fields.
        focused: list[str] = []
        for _ in range(6):
            await page.keyboard.press("Tab")
            focused.append(
                await page.evaluate(
                    "document.activeElement.id || document.activeElement.textContent"
                )
            )
            if focused[-1] == "username":
                break
        assert "username" in focused, focused
        await page.keyboard.type(scene.worker.username)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "password"
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent.trim()") == "Log in"
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(r"/history$"))
        await ctx.close()

    async def test_wrong_password_then_lockout_with_time_left(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient
    ):
        victim = await make_user(http, stack, "worker")
        ctx, page = await logged_in(browser, stack, victim.username, "Wrong-Password-1!")
        await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        for _ in range(3):
            await log_in(page, stack, victim.username, "Wrong-Password-1!")
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("Your account is locked")
        await expect(alert).to_contain_text(re.compile(r"Try again in \d+ min \d+ s"))
        assert "Traceback" not in await page.content()
        await ctx.close()

    async def test_the_french_page(
        self, browser: Browser, stack: Stack, scene: Scenario, screenshots: Path
    ):
        ctx = await new_context(browser, locale="fr-BE")
        page = await ctx.new_page()
        await page.goto(stack.url("portal") + "/")
        await expect(page.locator("html")).to_have_attribute("lang", "fr")
        await expect(page.get_by_label("Nom d'utilisateur")).to_be_visible()
        await page.get_by_label("Nom d'utilisateur").fill(scene.worker.username)
        await page.get_by_label("Mot de passe").fill(PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await expect(page.get_by_role("heading", name="Qui a ouvert mon dossier")).to_be_visible()
        await page.screenshot(path=str(screenshots / "history-fr.png"), full_page=True)
        # The switch on every page: back to English, same page.
        await page.get_by_role("link", name="English").click()
        await expect(page.get_by_role("heading", name="Who opened my file")).to_be_visible()
        await ctx.close()

    async def test_other_profiles(self, browser: Browser, stack: Stack, http: httpx.AsyncClient):
        for profile, heading in (
            ("medical_director", "Compliance desk"),
            ("physician", "Not available for your profile"),
        ):
            user = await make_user(http, stack, profile)
            ctx, page = await logged_in(browser, stack, user.username)
            await expect(page.get_by_role("heading", name=heading)).to_be_visible()
            await ctx.close()


class TestAbuse:
    async def test_a_form_without_a_valid_csrf_token_is_refused_and_writes_nothing(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario
    ):
        entry = await entry_of(http, stack, scene.worker, "read", "notes")
        ctx, page = await logged_in(browser, stack, scene.worker.username)
        await page.goto(f"{stack.url('portal')}/history/{entry['event_id']}/contest")
        await page.locator("#main input[name=csrf_token]").evaluate("el => el.value = 'forged'")
        await page.get_by_label("Why do you contest this access?").fill("forged form")
        async with page.expect_response(
            lambda r: "/contest" in r.url and r.request.method == "POST"
        ) as info:
            await page.get_by_role("button", name="Send my contest").click()
        assert (await info.value).status == 403
        await expect(page.get_by_role("alert")).to_contain_text("nothing was done")
        mine = await http.get(f"{stack.url('audit')}/me/contests", headers=scene.worker.headers)
        assert entry["event_id"] not in str(mine.json())
        await ctx.close()

    async def test_a_purpose_with_a_script_shows_as_text(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient
    ):
        s = await open_file(http, stack, last_name="Xss", physician_name="Dr <b>Bold</b>")
        developer = await make_user(http, stack, "developer")
        director = await make_user(http, stack, "medical_director")
        payload = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
        grant = await http.post(
            f"{stack.url('identity')}/access-grants",
            json={"grantee_id": developer.id, "worker_id": s.worker_id, "reason": payload,
                  "minutes": 30},
            headers=director.headers,
        )  # fmt: skip
        assert grant.status_code == 201, grant.text
        login = await http.post(
            f"{stack.url('identity')}/auth/login",
            json={"username": developer.username, "password": PASSWORD},
        )
        token = login.json()["access_token"]
        resp = await http.get(
            f"{stack.url('records')}/workers/{s.worker_id}/record",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 200, resp.text
        await entry_of(http, stack, s.worker, "read", "record")
        ctx, page = await logged_in(browser, stack, s.worker.username)
        purpose = page.locator(".purpose q", has_text="<script>").first
        await expect(purpose).to_be_visible(timeout=EXPECT_MS)
        await expect(purpose).to_have_text(payload)
        assert await page.evaluate("window.__xss") is None
        await expect(page.locator("li.entry", has_text="Dr <b>Bold</b>").first).to_be_visible()
        await ctx.close()

    async def test_another_workers_event_and_history_are_refused(
        self, browser: Browser, stack: Stack, http: httpx.AsyncClient, scene: Scenario,
        screenshots: Path,
    ):  # fmt: skip
        entry = await entry_of(http, stack, scene.worker, "read", "notes")
        other = await open_file(http, stack, last_name="Nosy")
        ctx, page = await logged_in(browser, stack, other.worker.username)
        await expect(page).to_have_url(re.compile(r"/history$"))
        resp = await page.goto(f"{stack.url('portal')}/history/{entry['event_id']}/contest")
        assert resp is not None and resp.status == 404
        await expect(page.get_by_role("heading", name="Not found in your history")).to_be_visible()
        await expect(page.get_by_role("alert")).to_contain_text("This attempt has been recorded")
        resp = await page.goto(f"{stack.url('portal')}/history?worker={scene.worker_id}")
        assert resp is not None and resp.status == 403
        await expect(page.get_by_role("alert")).to_contain_text("only see your own file")
        await page.screenshot(path=str(screenshots / "refused.png"), full_page=True)
        await ctx.close()
