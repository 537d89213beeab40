"""Records settings (environment prefix RECORDS_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import DEV_SECRET, ServiceSettings


class Settings(ServiceSettings):
    """Settings of the records service."""

    model_config = SettingsConfigDict(env_prefix="RECORDS_", extra="ignore", frozen=True)

    service_name: str = "records"
    port: int = 8002
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/records"
    # Other services' bundle keys accepted by POST /imports: "kid=base64key,kid2=key2".
    trusted_bundle_keys: str = ""
    # The register's data-subject requests reach records signed with the secret both share.
    intake_secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET), validation_alias="OHS_CONTEST_SECRET"
    )
    register_timeout_seconds: float = 10.0

    def secret_fields(self) -> dict[str, SecretStr | None]:
        """The intake secret must be real outside development."""
        return {"OHS_CONTEST_SECRET": self.intake_secret}

    def trusted_keys(self) -> dict[str, str]:
        """kid → base64 Ed25519 public key of the other services trusted for imports."""
        pairs = (item.partition("=") for item in self.trusted_bundle_keys.split(",") if item)
        return {kid.strip(): key.strip() for kid, _, key in pairs if kid.strip() and key.strip()}
