"""A guardian link holds only while the ward is a minor: it ends at the eighteenth birthday."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from common.devstack import Stack
from identity.users.wards import link_ends_on, live_wards, local_today, of_age_on
from tests.helpers import INITIAL_PASSWORD, Account, admin, first_login, make_user
from tests.records.conftest import new_file

pytestmark = pytest.mark.asyncio


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February falls back to 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class TestMajorityRule:
    async def test_a_leap_day_birth_comes_of_age_on_the_first_of_march(self):
        assert of_age_on(date(2008, 2, 29)) == date(2026, 3, 1)
        dates = {"w": "2008-02-29"}
        assert live_wards(["w"], dates, date(2026, 2, 28)) == ["w"]
        assert live_wards(["w"], dates, date(2026, 3, 1)) == []

    async def test_a_leap_day_birth_is_never_eighteen_on_a_leap_day(self):
        # 18 is no multiple of 4: the eighteenth birthday of 29 February is always 1 March.
        assert of_age_on(date(2012, 2, 29)) == date(2030, 3, 1)

    async def test_an_ordinary_birthday_and_an_unknown_one(self):
        assert link_ends_on({"w": "2009-12-01"}, "w") == date(2027, 12, 1)
        assert live_wards(["w", "x"], {"w": "2009-12-01"}, date(2027, 11, 30)) == ["w"]


async def _guardian(
    http: httpx.AsyncClient, stack: Stack, officer: Account, births: dict[str, date]
) -> tuple[dict[str, Any], dict[str, str]]:
    username = f"guardian-{uuid.uuid4().hex[:8]}"
    resp = await http.post(
        f"{stack.url('identity')}/users",
        json={
            "username": username,
            "display_name": "A Parent",
            "profile": "worker",
            "password": INITIAL_PASSWORD,
            "guardian_of": list(births),
            "ward_birth_dates": {w: d.isoformat() for w, d in births.items()},
        },
        headers=officer.headers,
    )
    assert resp.status_code == 201, resp.text
    token = (await first_login(http, stack, username))["access_token"]
    return resp.json(), {"Authorization": f"Bearer {token}"}


class TestGuardianLinks:
    async def test_only_minors_files_open_and_the_leap_day_ward_is_adult(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        officer = await admin(http, stack)
        doctor = await make_user(http, stack, "physician")
        today = local_today()
        births = {
            "minor": years_before(today, 18) + timedelta(days=1),
            "leap": date(2008, 2, 29),
            "today18": years_before(today, 18),
        }
        files = {
            key: await new_file(http, stack, doctor, birth_date=born.isoformat())
            for key, born in births.items()
        }
        account, headers = await _guardian(
            http, stack, officer, {files[k].worker_id: born for k, born in births.items()}
        )
        assert account["guardian_links_end_on"][files["leap"].worker_id] == "2026-03-01"
        assert (
            account["guardian_links_end_on"][files["minor"].worker_id]
            == (today + timedelta(days=1)).isoformat()
        )
        me = await http.get(f"{stack.url('identity')}/users/me", headers=headers)
        assert me.status_code == 200
        url = f"{stack.url('records')}/me/record"
        minor = await http.get(url, params={"worker_id": files["minor"].worker_id}, headers=headers)
        assert minor.status_code == 200, minor.text
        assert minor.json()["worker"]["id"] == files["minor"].worker_id
        for adult in ("leap", "today18"):
            resp = await http.get(
                url, params={"worker_id": files[adult].worker_id}, headers=headers
            )
            assert resp.status_code == 403, (adult, resp.text)
            assert resp.headers["content-type"] == "application/problem+json"

    async def test_a_guardian_of_adults_only_has_no_file(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        officer = await admin(http, stack)
        _, headers = await _guardian(http, stack, officer, {"w-grown": date(2008, 2, 29)})
        resp = await http.get(f"{stack.url('records')}/me/record", headers=headers)
        assert resp.status_code == 403

    @pytest.mark.parametrize(
        "change",
        [
            {"guardian_of": ["w-1"]},
            {"guardian_of": ["w-1"], "ward_birth_dates": {"w-2": "2015-01-01"}},
            {"guardian_of": ["w-1"], "ward_birth_dates": {"w-1": "2999-01-01"}},
            {"guardian_of": ["w-1"], "ward_birth_dates": {"w-1": "2015-02-30"}},
            {"guardian_of": ["w-1"], "ward_birth_dates": {"w-1": "soon"}},
        ],
    )
    async def test_a_link_needs_the_wards_birth_date(
        self, stack: Stack, http: httpx.AsyncClient, change: dict[str, Any]
    ):
        officer = await admin(http, stack)
        body = {
            "username": f"guardian-{uuid.uuid4().hex[:8]}",
            "display_name": "A Parent",
            "profile": "worker",
            "password": INITIAL_PASSWORD,
            **change,
        }
        resp = await http.post(f"{stack.url('identity')}/users", json=body, headers=officer.headers)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        users = await http.get(f"{stack.url('identity')}/users", headers=officer.headers)
        assert body["username"] not in users.text

    async def test_a_change_of_links_needs_the_dates_too(
        self, stack: Stack, http: httpx.AsyncClient
    ):
        officer = await admin(http, stack)
        account, _ = await _guardian(http, stack, officer, {"w-kid": date(2015, 6, 1)})
        url = f"{stack.url('identity')}/users/{account['id']}"
        for change in (
            {"guardian_of": ["w-kid", "w-new"], "ward_birth_dates": {"w-kid": "2015-06-01"}},
            {"ward_birth_dates": {"w-kid": "2015-06-02"}},
        ):
            resp = await http.patch(url, json=change, headers=officer.headers)
            assert resp.status_code == 422, resp.text
        resp = await http.get(url, headers=officer.headers)
        assert resp.json()["guardian_of"] == ["w-kid"]
        assert resp.json()["guardian_links_end_on"] == {"w-kid": "2033-06-01"}
