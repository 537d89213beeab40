"""Audit settings (environment prefix AUDIT_)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from audit.core.models import RuleSettings
from common.settings import DEV_SECRET, ServiceSettings


class Settings(ServiceSettings):
    """Settings of the audit service."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", frozen=True)

    service_name: str = "audit"
    port: int = 8004
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/audit"

    own_employer: str = "Occupational Health Service"
    mass_access_workers: int = 20
    mass_access_care_team_workers: int = 200
    mass_access_minutes: int = 10
    denial_count: int = 3
    denial_minutes: int = 10

    # E-mail of every new high alert to the medical director (off unless both are set).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "audit@occupational-health.invalid"
    alert_mail_to: str | None = None
    alert_mail_poll_seconds: float = 1.0
    desk_url: str = "http://127.0.0.1:8005/desk"

    consumer_group: str = "audit"
    # Measured (bench drain, 200,000 events): 500/2000 drained 2,205 events/s, 2000/5000
    # 2,586/s, 4000/8000 2,379/s; a trickle still lingers only consumer_linger_seconds.
    consumer_batch_size: int = 2000
    # A batch under a quarter of consumer_batch_size waits this long for more. At 200 reads/s,
    # 25 ms instead of 100 ms (with the fetch wait below) took the read-to-history lag from
    # 315 to 195 ms at the median and 468 to 341 ms at p99 (one probe run each).
    consumer_linger_seconds: float = 0.025
    # How long the broker may hold a fetch that finds nothing new. Kafka answers as soon as a
    # record arrives; Tansu holds the fetch to the end of the wait, so with the client's 500 ms
    # default an event waited about 140 ms there (median, measured) before the consumer saw it,
    # and 19 ms at 50 ms. Idle, it costs Kafka 20 empty fetches a second.
    consumer_fetch_max_wait_ms: int = Field(default=50, ge=1, le=500)
    # The audit service's own drafts are chained when pending_event's trigger notifies; this
    # is the slowest a lost notice can delay them (the listener reconnects every 2 s).
    consumer_pending_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Stored events the projector folds per transaction.
    projector_batch_size: int = 5000
    # True where `python -m audit.projector` runs beside the consumers (a process, so a core, of
    # its own): it folds the projections, hashes the tree and signs the checkpoints, and the
    # consumers only store, without the checkpoint key. False: each consumer does it all.
    projector_process: bool = False
    # A projector process is woken by every append (LISTEN); it also looks this often.
    projector_poll_seconds: float = 1.0
    # Kafka refuses less than 6 s (group.min.session.timeout.ms); the development stack's
    # Tansu holds a join up to half of it, so there it is 2 s (common.devstack).
    consumer_session_timeout_ms: int = 10_000
    consumer_heartbeat_interval_ms: int = 3_000
    checkpoint_seconds: float = 10.0
    # The Merkle log: its origin line (also the name of its signing key) and how often the
    # sequencer adds stored events to the tree and signs it (the receipts' "pending" window).
    log_origin: str = Field(default="ohs.local/audit", pattern=r"^[^\s+]+$", max_length=200)
    log_checkpoint_seconds: float = Field(default=1.0, gt=0, le=1.0)
    gap_grace_seconds: float = 5.0
    # A topic's backlog postpones gap alerts and resends at most this long.
    gap_max_wait_seconds: float = 15.0
    # An event numbered this far past its source's last heartbeat is quarantined.
    implausible_seq_margin: int = 100_000
    resend_interval_seconds: float = 30.0
    resend_topic: str = "outbox-resend"
    history_page_max: int = 200
    # Contests: audit files them in the register, signed with the secret both share.
    contest_secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET), validation_alias="OHS_CONTEST_SECRET"
    )
    register_timeout_seconds: float = 10.0
    contest_assessment_hours: int = 72

    def secret_fields(self) -> dict[str, SecretStr | None]:
        """The contest intake secret must be real outside development."""
        return {"OHS_CONTEST_SECRET": self.contest_secret}

    # The public keys of each publishing source (rotation: several per source, old ones stay
    # valid for old events): "identity:kid=base64,records:kid=base64,..." or a JSON file
    # {"identity": {"<kid>": "<base64>"}, ...}. Envelopes not signed by one are quarantined.
    source_keys: str | None = None
    source_keys_file: str | None = None
    # The checkpoint signing key (PEM or base64 seed), as a file (Docker secret) or a value;
    # read by the process that signs (the projector, or a consumer without one), never stored
    # in the database.
    checkpoint_key_file: str | None = None
    checkpoint_key: SecretStr | None = None
    # Public keys of retired checkpoint keys, base64 or PEM, comma-separated (besides the
    # public keys kept in the database), so old checkpoints still verify.
    checkpoint_public_keys: str | None = None

    @model_validator(mode="after")
    def _refuse_unsigned_sources(self) -> Settings:
        if self.environment == "production" and not (self.source_keys or self.source_keys_file):
            raise ValueError(
                "AUDIT_SOURCE_KEYS or AUDIT_SOURCE_KEYS_FILE must give the public keys of the "
                "publishing sources in production"
            )
        return self

    def rules(self) -> RuleSettings:
        """The alert thresholds as the pure core takes them."""
        return RuleSettings(
            own_employer=self.own_employer,
            mass_access_workers=self.mass_access_workers,
            mass_access_care_team_workers=self.mass_access_care_team_workers,
            mass_access_minutes=self.mass_access_minutes,
            denial_count=self.denial_count,
            denial_minutes=self.denial_minutes,
        )
