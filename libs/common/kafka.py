"""The one place Kafka clients get their security settings (aiokafka keyword arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.settings import ServiceSettings


def sasl_password(settings: ServiceSettings) -> str | None:
    """The SASL password: the setting, or the file it names (a Docker secret)."""
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_sasl_password_file:
        return Path(settings.kafka_sasl_password_file).read_text().strip()
    return None


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient.

    Empty for PLAINTEXT (development), so a client there is built exactly as before; with TLS an
    SSL context trusting `kafka_ssl_cafile` (the system store when unset), with SASL the
    service's own principal."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = sasl_password(settings)
    return options
