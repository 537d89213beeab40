"""Identity verifies its own tokens from its key table and session table (no HTTP to itself)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from common.tokens import Principal, TokenVerifier
from identity.auth.service import session_alive
from identity.keys import service as keys
from identity.settings import Settings


class LocalVerifier(TokenVerifier):
    """A TokenVerifier whose keys come from the signing_key table."""

    def __init__(self, app: FastAPI) -> None:
        settings: Settings = app.state.settings
        super().__init__(
            jwks_url="local:signing_key",
            audience=settings.token_audience,
            issuer=settings.token_issuer,
            http=app.state.http,
            session_checker=self._check_session,
        )
        self.app = app
        self.settings = settings

    async def key_for(self, kid: str) -> dict[str, Any] | None:
        """The published public key with this kid (retired keys drop out after their window)."""
        if kid in self._keys:
            return self._keys[kid]
        async with self.app.state.sessionmaker() as session:
            published = await keys.published(session, self.settings)
        self._keys = {k.kid: keys.public_jwk(k.public_pem, k.kid) for k in published}
        return self._keys.get(kid)

    async def _check_session(self, principal: Principal, _token: str) -> bool:
        async with self.app.state.sessionmaker() as session:
            return await session_alive(session, self.settings, principal)


def local_verifier(app: FastAPI) -> TokenVerifier:
    """verifier_factory for create_app."""
    return LocalVerifier(app)
