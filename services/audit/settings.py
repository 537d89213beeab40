"""Audit settings (environment prefix AUDIT_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from audit.core.models import RuleSettings
from common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of the audit service."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", frozen=True)

    service_name: str = "audit"
    port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/audit"

    own_employer: str = "Occupational Health Service"
    mass_access_workers: int = 20
    mass_access_minutes: int = 10
    denial_count: int = 3
    denial_minutes: int = 10

    consumer_group: str = "audit"
    consumer_batch_size: int = 500
    consumer_linger_seconds: float = 0.1
    # Kafka refuses less than 6 s (group.min.session.timeout.ms); the development stack's
    # Tansu holds a join up to half of it, so there it is 2 s (common.devstack).
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 3_000
    checkpoint_seconds: float = 10.0
    gap_grace_seconds: float = 5.0
    # A topic's backlog postpones gap alerts and resends at most this long.
    gap_max_wait_seconds: float = 15.0
    # An event numbered this far past its source's last heartbeat is quarantined.
    implausible_seq_margin: int = 100_000
    resend_interval_seconds: float = 30.0
    resend_topic: str = "outbox-resend"
    history_page_max: int = 200

    def rules(self) -> RuleSettings:
        """The alert thresholds as the pure core takes them."""
        return RuleSettings(
            own_employer=self.own_employer,
            mass_access_workers=self.mass_access_workers,
            mass_access_minutes=self.mass_access_minutes,
            denial_count=self.denial_count,
            denial_minutes=self.denial_minutes,
        )
