"""The session check against identity: retried once, a recent answer bridges a short outage."""

from __future__ import annotations

import httpx
import pytest

from common.errors import Problem
from common.rights import Profile
from common.tokens import STALE_FACTOR, HttpSessionChecker, Principal

pytestmark = pytest.mark.asyncio
PRINCIPAL = Principal(
    user_id="u1", username="u", display_name="U", profile=Profile.PHYSICIAN,
    session_id="s1", token_id="t1", expires_at=0,
)  # fmt: skip


def checker(answers: list[int | Exception], ttl: float = 5.0) -> HttpSessionChecker:
    """A checker whose identity answers with the given statuses (or raises), in order."""

    def reply(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    return HttpSessionChecker(http, "http://identity", ttl)


def age(check: HttpSessionChecker, seconds: float) -> None:
    """Make every cached answer `seconds` older."""
    check._cache = {k: (t - seconds, v) for k, (t, v) in check._cache.items()}


class TestRetry:
    async def test_one_transient_failure_is_retried(self):
        check = checker([httpx.ConnectError("reset"), 200])
        assert await check(PRINCIPAL, "tok") is True

    async def test_a_closed_session_is_refused(self):
        assert await checker([401])(PRINCIPAL, "tok") is False


class TestIdentityDown:
    async def test_without_a_recent_answer_it_is_a_clear_503(self):
        check = checker([503, 503])
        with pytest.raises(Problem) as raised:
            await check(PRINCIPAL, "tok")
        assert raised.value.status == 503

    async def test_a_recent_answer_bridges_the_outage(self):
        check = checker([200, 503, httpx.ConnectError("down")])
        assert await check(PRINCIPAL, "tok") is True
        age(check, 6)
        assert await check(PRINCIPAL, "tok") is True

    async def test_a_recent_closed_answer_stays_closed(self):
        check = checker([401, 503, 503])
        assert await check(PRINCIPAL, "tok") is False
        age(check, 6)
        assert await check(PRINCIPAL, "tok") is False

    async def test_past_the_grace_it_is_a_503_again(self):
        check = checker([200, 503, 503])
        assert await check(PRINCIPAL, "tok") is True
        age(check, 5 * STALE_FACTOR + 1)
        with pytest.raises(Problem):
            await check(PRINCIPAL, "tok")
