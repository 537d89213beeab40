"""Settings shared by every service, read from the environment (pydantic-settings)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-change-me"  # noqa: S105 - the value refused outside development


class ServiceSettings(BaseSettings):
    """Base settings: one subclass per service, each with its own env prefix."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, populate_by_name=True
    )

    # Whether the service's processes talk to the broker: only then are its credentials due.
    uses_broker: ClassVar[bool] = True
    service_name: str = "service"
    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="OHS_ENVIRONMENT"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    migration_database_url: str | None = None
    # Connections kept open (as many again may be opened, and closed when returned to a full
    # pool). At 10, 32 clients reading records made the service open about 10 connections a
    # second, each a PostgreSQL backend started and authenticated: 20 took audited reads from
    # 165 to 184/s and PostgreSQL's CPU per read from 2.36 to 1.67 ms (one paired run).
    db_pool_size: int = Field(default=20, ge=1, le=100)
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", validation_alias="OHS_KAFKA_BOOTSTRAP")
    kafka_send_timeout_seconds: float = 5.0
    # The broker's security (common.kafka.client_options): PLAINTEXT in development, SASL/SCRAM
    # over TLS in the compose deployment, one principal per service.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias="OHS_KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", validation_alias="OHS_KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias="OHS_KAFKA_SASL_USERNAME"
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, validation_alias="OHS_KAFKA_SASL_PASSWORD"
    )
    # A file holding the password (a Docker secret, /run/secrets/...), read when the one above
    # is unset.
    kafka_sasl_password_file: str | None = Field(
        default=None, validation_alias="OHS_KAFKA_SASL_PASSWORD_FILE"
    )
    kafka_ssl_cafile: str | None = Field(default=None, validation_alias="OHS_KAFKA_SSL_CAFILE")
    identity_url: str = Field(default="http://127.0.0.1:8001", validation_alias="OHS_IDENTITY_URL")
    records_url: str = Field(default="http://127.0.0.1:8002", validation_alias="OHS_RECORDS_URL")
    register_url: str = Field(default="http://127.0.0.1:8003", validation_alias="OHS_REGISTER_URL")
    audit_url: str = Field(default="http://127.0.0.1:8004", validation_alias="OHS_AUDIT_URL")
    token_audience: str = Field(default="ohs", validation_alias="OHS_TOKEN_AUDIENCE")
    token_issuer: str = Field(default="ohs-identity", validation_alias="OHS_TOKEN_ISSUER")
    jwks_cache_seconds: int = 300
    session_check_seconds: float = Field(default=5.0, validation_alias="OHS_SESSION_CHECK_SECONDS")
    max_body_bytes: int = 1_000_000
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # Off only for a benchmark's unaudited baseline: refused in production, loud elsewhere.
    audit_access: bool = Field(default=True, validation_alias="OHS_AUDIT_ACCESS")
    # The private key an outbox relay signs its envelopes with (PEM or base64 of the raw seed),
    # as a file (a Docker secret) or a value; read by the relay only, which refuses to start
    # without one. The development stack generates one per source in its data directory.
    event_signing_key_file: str | None = Field(
        default=None, validation_alias="OHS_EVENT_SIGNING_KEY_FILE"
    )
    event_signing_key: SecretStr | None = Field(
        default=None, validation_alias="OHS_EVENT_SIGNING_KEY"
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> ServiceSettings:
        if not self.audit_access and self.environment == "production":
            raise ValueError(
                "OHS_AUDIT_ACCESS=false is refused in production: every read must be traced"
            )
        if (
            self.uses_broker
            and self.kafka_security_protocol.startswith("SASL")
            and not (
                self.kafka_sasl_username
                and (self.kafka_sasl_password or self.kafka_sasl_password_file)
            )
        ):
            raise ValueError(
                f"OHS_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "OHS_KAFKA_SASL_USERNAME and OHS_KAFKA_SASL_PASSWORD (or _PASSWORD_FILE)"
            )
        if self.environment != "development":
            for name, value in self.secret_fields().items():
                if value is None or value.get_secret_value() in ("", DEV_SECRET):
                    raise ValueError(
                        f"{name} must be set to a real secret when environment is "
                        f"{self.environment!r}"
                    )
        return self

    @property
    def migration_url(self) -> str:
        """The URL migrations run with (an owner role may differ from the app's role)."""
        return self.migration_database_url or self.database_url

    def secret_fields(self) -> dict[str, SecretStr | None]:
        """Secrets that must not keep their development default outside development."""
        return {}
