"""Portal settings (environment prefix PORTAL_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings
from portal.logkey import valid_key


class Settings(ServiceSettings):
    """Settings of the portal (no database: it calls identity, records, audit and register)."""

    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", frozen=True)
    # A backend-for-frontend over the services' APIs: it never opens a broker connection.
    uses_broker: ClassVar[bool] = False

    service_name: str = "portal"
    port: int = 8005
    # The portal ends a session after this long without a user action; identity's own idle
    # timeout (IDENTITY_SESSION_IDLE_SECONDS) has the same default, 15 minutes.
    idle_seconds: int = 900
    # Sessions kept in memory (one portal process); anonymous ones (login form) expire sooner.
    max_sessions: int = 20_000
    anonymous_seconds: int = 3600
    backend_timeout_seconds: float = 10.0
    history_page_size: int = 25
    # How often the history page asks for new entries (JavaScript; 0 turns it off).
    live_seconds: int = 5
    timezone: str = "Europe/Brussels"
    # The audit log's signed-note verifier key that browsers pin and check receipts with; when
    # empty the portal reads it from audit's GET /log/key at start-up.
    log_key: str = ""

    @model_validator(mode="after")
    def _check_log_key(self) -> Settings:
        if self.log_key and not valid_key(self.log_key):
            raise ValueError("PORTAL_LOG_KEY is not an Ed25519 verifier key <name>+<hash>+<key>")
        return self

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry Secure everywhere but development (plain HTTP on the loopback)."""
        return self.environment != "development"
