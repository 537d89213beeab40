"""docker-compose.yml is validated (no Docker engine runs here) and matches the code."""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from pydantic_settings import BaseSettings

from common.devstack import ALL_SERVICES, REPO, SERVICES, Ports, Stack

COMPOSE = REPO / "docker-compose.yml"
# Read by something other than a Settings class: the image's health check.
NON_SETTINGS = {"PORT"}


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
        else:
            found = importlib.util.find_spec(argv[2])
            assert found is not None and found.origin, f"no module {argv[2]}"
            assert '__name__ == "__main__"' in Path(found.origin).read_text(), argv[2]


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
        missing = {n for n in compose - dev if n not in ("OTEL_EXPORTER_OTLP_ENDPOINT",)}
        assert not missing, f"compose sets {sorted(missing)} that make run does not"
        assert not (dev - compose - settings_env_names()), "dev stack sets unknown names"
