"""Register settings (environment prefix REGISTER_)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import DEV_SECRET, ServiceSettings


class Settings(ServiceSettings):
    """Settings of the register service."""

    model_config = SettingsConfigDict(env_prefix="REGISTER_", extra="ignore", frozen=True)

    service_name: str = "register"
    port: int = 8003
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/register"
    # Legal days (receipt, due dates) are counted in the service's own calendar.
    timezone: str = "Europe/Brussels"
    audit_timeout_seconds: float = 10.0
    access_history_max_entries: int = 2000
    controller_name: str = "External service for prevention and protection at work"
    dpo_contact: str = "dpo@ohs.example"
    # Contests filed by audit (POST /contest-intake) are signed with the secret both share.
    contest_secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET), validation_alias="OHS_CONTEST_SECRET"
    )

    def secret_fields(self) -> dict[str, SecretStr | None]:
        """The contest intake secret must be real outside development."""
        return {"OHS_CONTEST_SECRET": self.contest_secret}

    def today(self) -> date:
        """Today in the service's calendar."""
        return datetime.now(ZoneInfo(self.timezone)).date()
