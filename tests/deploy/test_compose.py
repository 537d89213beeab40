"""docker-compose.yml is validated (no Docker engine runs here) and matches the code."""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from croniter import croniter
from pydantic_settings import BaseSettings

from common.backup import BackupSettings
from common.devstack import ALL_SERVICES, REPO, SERVICES, Ports, Stack

COMPOSE = REPO / "docker-compose.yml"
# Read by something other than a Settings class: the image's health check.
NON_SETTINGS = {"PORT"}
# The broker's security: compose sets it, development keeps PLAINTEXT (the defaults).
BROKER_SECURITY = {
    "OHS_KAFKA_SECURITY_PROTOCOL",
    "OHS_KAFKA_SASL_MECHANISM",
    "OHS_KAFKA_SASL_USERNAME",
    "OHS_KAFKA_SASL_PASSWORD_FILE",
    "OHS_KAFKA_SSL_CAFILE",
}
# The compose services that talk to the broker, with the principal each must use.
KAFKA_CLIENTS = {
    "identity": "identity",
    "identity-relay": "identity",
    "records": "records",
    "records-relay": "records",
    "register": "register",
    "register-relay": "register",
    "audit": "audit",
    "audit-consumer": "audit",
}
INIT_SCRIPT = REPO / "deploy" / "kafka" / "init.sh"


def load() -> dict[str, Any]:
    """The compose file with YAML anchors and merge keys resolved, extensions dropped."""
    raw = yaml.safe_load(COMPOSE.read_text())
    return {k: v for k, v in raw.items() if not k.startswith("x-")}


def validate(doc: dict[str, Any]) -> None:
    """Parse with a Compose Specification implementation; ValueError when invalid."""
    PyCompose.from_json(json.dumps(doc))


def settings_env_names() -> set[str]:
    """Every environment variable some service's Settings class reads."""
    names: set[str] = set()
    for service in ALL_SERVICES:
        cls: type[BaseSettings] = importlib.import_module(f"{service}.settings").Settings
        names |= fields_of(cls)
    return names | fields_of(BackupSettings)


def fields_of(cls: type[BaseSettings]) -> set[str]:
    """The environment variables one Settings class reads."""
    names: set[str] = set()
    prefix = cls.model_config.get("env_prefix", "")
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


class TestComposeSpecification:
    def test_file_is_valid(self):
        validate(load())

    def test_validator_refuses_a_broken_file(self):
        doc = copy.deepcopy(load())
        doc["services"]["records"]["restrat"] = "always"
        with pytest.raises(ValueError):
            validate(doc)

    def test_dependencies_name_existing_services(self):
        services = load()["services"]
        for name, spec in services.items():
            for dep in spec.get("depends_on", {}):
                assert dep in services, f"{name} depends on unknown {dep}"

    def test_production_shape(self):
        services = load()["services"]
        assert {"postgres", "kafka", "otel-collector", "migrate", *SERVICES} <= services.keys()
        assert "KRaft" in COMPOSE.read_text() or "controller" in str(services["kafka"])
        for name in SERVICES:
            deps = services[name]["depends_on"]
            assert deps["migrate"]["condition"] == "service_completed_successfully"


class TestCommandsExist:
    @pytest.mark.parametrize("name", sorted(load()["services"]))
    def test_command_points_at_real_code(self, name: str):
        spec = load()["services"][name]
        if "build" not in spec:
            return
        argv = spec["command"]
        assert argv[:2] == ["python", "-m"], argv
        if argv[2] == "uvicorn":
            module, _, attr = argv[3].partition(":")
            assert hasattr(importlib.import_module(module), attr), argv[3]
            # Longer than httpx's 5 s keep-alive, or a client reuses a connection being closed.
            assert int(argv[argv.index("--timeout-keep-alive") + 1]) > 5, argv
        else:
            found = importlib.util.find_spec(argv[2])
            assert found is not None and found.origin, f"no module {argv[2]}"
            origin = Path(found.origin)
            if found.submodule_search_locations:  # a package runs its __main__.py
                origin = origin.with_name("__main__.py")
            assert '__name__ == "__main__"' in origin.read_text(), argv[2]


class TestSameSettings:
    def test_compose_sets_only_settings_the_code_reads(self):
        known = settings_env_names() | NON_SETTINGS
        for name, spec in load()["services"].items():
            if "build" not in spec:
                continue
            unknown = set(spec.get("environment", {})) - known
            assert not unknown, f"{name}: {sorted(unknown)} read by no Settings class"

    def test_dev_stack_sets_the_same_names_as_compose(self, tmp_path: Path):
        stack = Stack(tmp_path, Ports(), demo=False, admin_password="x", say=lambda _: None)
        base = set(__import__("os").environ)
        dev = {k for k in stack.env() if k not in base or k.startswith(("OHS_", "BOOTSTRAP_"))}
        dev -= {"PYTHONUNBUFFERED"}
        compose = set(load()["services"]["identity"]["environment"]) - NON_SETTINGS
        missing = {
            n for n in compose - dev if n not in ("OTEL_EXPORTER_OTLP_ENDPOINT", *BROKER_SECURITY)
        }
        assert not missing, f"compose sets {sorted(missing)} that make run does not"
        assert not (dev - compose - settings_env_names()), "dev stack sets unknown names"


class TestBrokerSecurity:
    def test_every_kafka_client_gets_sasl_over_tls(self, monkeypatch: pytest.MonkeyPatch):
        services = load()["services"]
        secrets = load()["secrets"]
        for name, principal in KAFKA_CLIENTS.items():
            env = services[name]["environment"]
            assert env["OHS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
            assert env["OHS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", name
            assert env["OHS_KAFKA_SASL_USERNAME"] == principal, name
            assert "OHS_KAFKA_SASL_PASSWORD" not in env, f"{name}: a password in the environment"
            mounted = {
                (s if isinstance(s, str) else s["source"]): (
                    s if isinstance(s, str) else s.get("target", s["source"])
                )
                for s in services[name]["secrets"]
            }
            assert mounted[f"kafka_{principal}_password"] == "kafka_password", name
            assert env["OHS_KAFKA_SASL_PASSWORD_FILE"] == "/run/secrets/kafka_password"
            assert env["OHS_KAFKA_SSL_CAFILE"] == "/run/secrets/kafka_ca.pem"
            assert "kafka_ca.pem" in mounted, name
        for secret in secrets.values():
            assert "file" in secret and secret["file"].startswith("./deploy/secrets/")
        # and the code turns those settings into aiokafka's arguments
        from common.kafka import client_options
        from records.settings import Settings

        monkeypatch.setenv("OHS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        monkeypatch.setenv("OHS_KAFKA_SASL_USERNAME", "records")
        monkeypatch.setenv("OHS_KAFKA_SASL_PASSWORD", "s3cret")
        options = client_options(Settings())
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
            "records",
            "s3cret",
        )
        assert options["ssl_context"] is not None
        monkeypatch.delenv("OHS_KAFKA_SASL_PASSWORD")
        with pytest.raises(ValueError, match="OHS_KAFKA_SASL_PASSWORD"):
            Settings()

    def test_development_stays_plaintext(self):
        from common.kafka import client_options
        from records.settings import Settings

        assert client_options(Settings()) == {}

    def test_no_plaintext_listener_outside_the_compose_network(self):
        kafka = load()["services"]["kafka"]
        env = kafka["environment"]
        assert "ports" not in kafka, "the broker must not be published on the host"
        protocols = dict(
            p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
        )
        for listener in env["KAFKA_LISTENERS"].split(","):
            name, _, address = listener.partition("://")
            if protocols[name] != "SASL_SSL":
                assert address.split(":")[0] in ("localhost", "127.0.0.1"), listener
        for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
            name, _, address = listener.partition("://")
            if protocols[name] != "SASL_SSL":
                assert address.split(":")[0] in ("localhost", "127.0.0.1"), listener
        assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == (
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        )
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert env["KAFKA_SUPER_USERS"] == "User:ANONYMOUS"  # loopback listeners only
        assert "localhost:9094" in str(kafka["healthcheck"]["test"])

    def test_acl_init_present(self):
        services = load()["services"]
        init = services["kafka-init"]
        assert init["network_mode"] == "service:kafka"
        assert "./deploy/kafka/init.sh:/opt/ohs/kafka-init.sh:ro" in init["volumes"]
        for name in KAFKA_CLIENTS:
            assert services[name]["depends_on"]["kafka-init"]["condition"] == (
                "service_completed_successfully"
            )
        script = INIT_SCRIPT.read_text()
        assert "kafka-configs.sh" in script and "SCRAM-SHA-512=" in script
        assert "kafka-acls.sh" in script and "kafka-topics.sh" in script
        lines = [line.strip() for line in script.splitlines()]
        for principal, topic in (
            ("identity", "auth-events"),
            ("records", "access-events"),
            ("register", "register-events"),
        ):
            assert f"relay {principal} {topic}" in lines
        for topic in ("access-events", "auth-events", "register-events", "outbox-heartbeat"):
            assert topic in script
        assert "allow audit Write --topic outbox-resend" in lines
        assert "allow audit Read --group audit" in lines
        writes = [line for line in lines if line.startswith("allow audit Write")]
        assert writes == ["allow audit Write --topic outbox-resend"], "audit only reads"


class TestRetentionSchedule:
    def test_the_daily_review_runs_on_a_schedule_and_only_proposes(self):
        spec = load()["services"]["records-retention"]
        argv = spec["command"]
        assert argv[:3] == ["python", "-m", "records.retention"]
        assert "--daily-at" in argv and "--list-only" not in argv
        assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"

    def test_the_command_documents_itself(self):
        out = subprocess.run(
            [sys.executable, "-m", "records.retention", "--help"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "never erases" in out.lower().replace("\n", " ")
        assert "--daily-at" in out and "--as-of" in out


def default_of(value: str) -> str:
    """The default of a `${NAME:-default}` interpolation (the value itself otherwise)."""
    found = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    return found.group(1) if found else value


def interpolated(value: str) -> str:
    """A compose value with `${NAME:-default}` as its default and any other `${...}` as "x"."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[^}]*\}", "x", value)


class TestServiceSettings:
    @pytest.mark.parametrize(
        "name",
        sorted(
            n
            for n, spec in load()["services"].items()
            if "build" in spec and spec["command"][2].split(".")[0] in (*ALL_SERVICES, "uvicorn")
        ),
    )
    def test_each_process_accepts_its_compose_environment(
        self, name: str, monkeypatch: pytest.MonkeyPatch
    ):
        """Production settings refuse what is missing: every process of the compose file gets
        what its Settings class demands (a projector without the sources' keys would not run)."""
        spec = load()["services"][name]
        argv = spec["command"]
        package = (argv[3] if argv[2] == "uvicorn" else argv[2]).split(".")[0]
        if package not in ALL_SERVICES:
            return
        for key in list(__import__("os").environ):
            if key.startswith(("OHS_", f"{package.upper()}_")):
                monkeypatch.delenv(key)
        for key, value in spec.get("environment", {}).items():
            monkeypatch.setenv(key, interpolated(str(value)))
        settings = importlib.import_module(f"{package}.settings").Settings()
        assert settings.environment == "production"


class TestBackupSchedule:
    def test_backup_service_runs_the_schedule_daily_by_default(self):
        spec = load()["services"]["backup"]
        assert spec["command"] == ["python", "-m", "common.backup", "schedule"]
        line = spec["environment"]["OHS_BACKUP_SCHEDULE"]
        assert line.startswith("${OHS_BACKUP_SCHEDULE:-"), "configurable from .env"
        cron = default_of(line)
        assert croniter.is_valid(cron)
        it = croniter(cron, datetime(2026, 12, 1, tzinfo=UTC))
        first, second = it.get_next(datetime), it.get_next(datetime)
        assert second - first == timedelta(days=1), "daily"
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"

    def test_settings_accept_the_compose_environment(self):
        env = {
            k: default_of(str(v)) for k, v in load()["services"]["backup"]["environment"].items()
        }
        env["OHS_BACKUP_PG_PASSWORD"] = "x"
        settings = BackupSettings(**{k.removeprefix("OHS_BACKUP_").lower(): v
                                     for k, v in env.items() if k.startswith("OHS_BACKUP_")},
                                  environment=env["OHS_ENVIRONMENT"])  # fmt: skip
        assert settings.environment == "production"
        assert str(settings.key_file) == "/run/secrets/backup-recipients"
        assert (settings.keep_daily, settings.keep_weekly, settings.keep_monthly) == (7, 4, 12)

    def test_only_the_projector_holds_the_checkpoint_key(self):
        """The consumer parses what the broker delivers: it stores, and signs nothing."""
        services = load()["services"]
        holders = {
            name
            for name, spec in services.items()
            if any(
                (s if isinstance(s, str) else s["source"]) == "audit-checkpoint-key"
                for s in spec.get("secrets", [])
            )
        }
        assert holders == {"audit-projector"}
        assert services["audit-consumer"]["environment"]["AUDIT_PROJECTOR_PROCESS"] == "true"
        assert "AUDIT_CHECKPOINT_KEY_FILE" not in services["audit-consumer"]["environment"]

    def test_only_the_public_key_reaches_the_backup_host(self):
        doc = load()
        spec = doc["services"]["backup"]
        mounted = [s if isinstance(s, str) else s["source"] for s in spec["secrets"]]
        assert mounted == ["backup-recipients"]
        assert doc["secrets"]["backup-recipients"]["file"].startswith("./deploy/secrets/")
        env = spec["environment"]
        assert "OHS_BACKUP_IDENTITY_FILE" not in env
        assert env["OHS_ENVIRONMENT"] == "production", "refuses to run without the key"

    def test_second_location_is_another_mount(self):
        spec = load()["services"]["backup"]
        env = spec["environment"]
        mounts = {v.rsplit(":", 1)[1]: v.rsplit(":", 1)[0] for v in spec["volumes"]}
        assert env["OHS_BACKUP_DIR"] in mounts and env["OHS_BACKUP_COPY_DIR"] in mounts
        assert mounts[env["OHS_BACKUP_DIR"]] != mounts[env["OHS_BACKUP_COPY_DIR"]]
        assert mounts[env["OHS_BACKUP_DIR"]] in load()["volumes"], "a named volume"
        assert mounts[env["OHS_BACKUP_COPY_DIR"]].startswith("/"), "a host path (another disk)"


class TestBrokerCredentials:
    def test_a_service_that_uses_the_broker_refuses_sasl_without_them(
        self, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("OHS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        monkeypatch.delenv("OHS_KAFKA_SASL_USERNAME", raising=False)
        records = importlib.import_module("records.settings").Settings
        with pytest.raises(ValueError, match="OHS_KAFKA_SASL_USERNAME"):
            records()

    def test_the_portal_opens_no_broker_connection_and_needs_none(
        self, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("OHS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        monkeypatch.delenv("OHS_KAFKA_SASL_USERNAME", raising=False)
        portal = importlib.import_module("portal.settings").Settings
        assert portal().kafka_security_protocol == "SASL_SSL"
        # What makes that safe: nothing of the portal imports a broker client.
        for path in (REPO / "services" / "portal").rglob("*.py"):
            text = path.read_text()
            assert "aiokafka" not in text and "common.kafka" not in text, path
