"""Property-based requests from the OpenAPI document: never a 5xx, never outside its schema."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File

pytestmark = pytest.mark.asyncio
EXAMPLES = 25


class TestNoServerErrors:
    async def test_every_operation_positive_and_negative(
        self, stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account], file: File
    ):
        base = stack.url("records")
        document = (await http.get(f"{base}/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        known = {
            "worker_id": file.worker_id,
            "exam_id": file.exam_id,
            "decision_id": file.fitness_id,
        }
        headers = staff["medical_director"].headers
        failures: list[str] = []
        statuses: list[int] = []
        for result in schema.get_all_operations():
            operation = result.ok()
            fixed = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def run(case: schemathesis.Case) -> None:
                    response = case.call(base_url=base, headers=headers, timeout=10)
                    statuses.append(response.status_code)
                    if response.status_code >= 500:
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:200]}"
                        )
                        return
                    try:
                        case.validate_response(response, checks=[response_schema_conformance])
                    except Exception as exc:  # a Failure group: the body breaks its schema
                        failures.append(
                            f"{case.method} {case.formatted_path} -> {response.status_code} "
                            f"outside its schema: {str(exc)[:300]}"
                        )

                try:
                    run()
                except Unsatisfiable:
                    # Nothing to make invalid (no parameters, no body): positive cases suffice.
                    assert mode is GenerationMode.NEGATIVE, operation.label
        assert failures == []
        assert len(statuses) > 300 and any(200 <= s < 300 for s in statuses)
