"""Identity settings (environment prefix IDENTITY_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the identity service."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    port: int = 8001
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/identity"

    bootstrap_admin_password: SecretStr | None = Field(
        default=None, validation_alias="BOOTSTRAP_ADMIN_PASSWORD"
    )

    # Tokens and sessions. Access tokens are short so that a revoked session, a deactivated
    # account or a withdrawn grant cannot outlive five minutes even without a session check.
    access_token_seconds: int = Field(default=300, ge=10, le=300)
    password_change_token_seconds: int = Field(default=300, ge=30, le=900)
    session_idle_seconds: int = Field(default=900, ge=10)
    session_max_seconds: int = Field(default=12 * 3600, ge=60)
    key_bits: int = Field(default=2048, ge=2048)
    key_max_age_days: int = Field(default=90, ge=1)

    # Password policy (DOMAIN.md defaults).
    password_min_length: int = Field(default=10, ge=8)
    password_max_length: int = Field(default=256, ge=16, le=1024)
    password_require_letters: bool = True
    password_require_digits: bool = True
    password_require_special: bool = True
    password_max_age_days: int = Field(default=90, ge=1)
    password_history: int = Field(default=15, ge=0)
    # OWASP's argon2id baseline: 19 MiB, two passes, one lane.
    argon2_memory_kib: int = Field(default=19456, ge=8192)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Lockout: three consecutive failures lock for 15 minutes, doubling per lock, capped.
    lockout_threshold: int = Field(default=3, ge=1)
    lockout_base_seconds: int = Field(default=900, ge=1)
    lockout_max_seconds: int = Field(default=24 * 3600, ge=1)

    # Throttling of /auth/login and /auth/refresh (fixed windows; 429 with Retry-After).
    # Per client address: failed credential checks (wrong password, unknown user, bad refresh).
    throttle_ip_failures: int = Field(default=60, ge=1)
    throttle_ip_window_seconds: int = Field(default=60, ge=1)
    # Per username, existing or not: failed logins, including those refused while locked.
    throttle_account_failures: int = Field(default=120, ge=1)
    throttle_account_window_seconds: int = Field(default=600, ge=1)
    # Per account: refreshes (a client refreshes about once per access-token lifetime).
    throttle_refresh_per_account: int = Field(default=60, ge=1)
    throttle_refresh_window_seconds: int = Field(default=60, ge=1)
    # How long the failure counter of a username without an account is kept after its last
    # failure (a lock is always kept until it ends).
    unknown_name_retention_seconds: int = Field(default=24 * 3600, ge=60)

    # Access grants.
    grant_max_minutes: int = Field(default=7 * 24 * 60, ge=1)
    grant_sweep_seconds: float = Field(default=5.0, gt=0)

    def secret_fields(self) -> dict[str, SecretStr | None]:
        """The bootstrap password must be given explicitly outside development."""
        return {"BOOTSTRAP_ADMIN_PASSWORD": self.bootstrap_admin_password}
