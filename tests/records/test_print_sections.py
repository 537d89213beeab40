"""Print only what is needed (seed 001 §7.3): the print-out holds the chosen sections only."""

from __future__ import annotations

import re
import zlib
from typing import Any

import asyncpg
import httpx
import pytest

from common.devstack import Stack
from tests.helpers import Account
from tests.records.conftest import File, events_since, last_outbox_id, new_file

pytestmark = pytest.mark.asyncio
PROBLEM = "application/problem+json"


def pdf_text(pdf: bytes) -> str:
    """The text drawn in a PDF from fpdf2 (its page streams are deflated)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1"))
    return "".join(chunks)


@pytest.fixture(scope="module")
async def file(stack: Stack, http: httpx.AsyncClient, staff: dict[str, Account]) -> File:
    """A file of this module's own: the shared one gets new exam versions in other modules."""
    return await new_file(http, stack, staff["physician"])


async def _print(
    http: httpx.AsyncClient, stack: Stack, who: Account, file: File, body: Any = None
) -> httpx.Response:
    url = f"{stack.url('records')}/workers/{file.worker_id}/print"
    if body is None:
        return await http.post(url, headers=who.headers)
    return await http.post(url, json=body, headers=who.headers)


class TestPrintChosenSections:
    async def test_only_the_chosen_sections_print_and_the_movement_says_which(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
    ):
        director = staff["medical_director"]
        before = await last_outbox_id(records_db)
        resp = await _print(
            http, stack, director, file, {"sections": ["fitness_decisions", "administrative"]}
        )
        assert resp.status_code == 200, resp.text
        text = pdf_text(resp.content)
        assert "Administrative data" in text and "Fitness decisions" in text
        assert "Exams" not in text and "Mild hearing loss" not in text
        assert "Laboratory results" not in text and "Exposures" not in text
        [event] = await events_since(records_db, before, user_id=director.id)
        assert event["details"]["sections"] == ["administrative", "fitness_decisions"]
        movements = await http.get(
            f"{stack.url('records')}/workers/{file.worker_id}/movements", headers=director.headers
        )
        [movement] = [m for m in movements.json() if m["id"] == event["details"]["movement_id"]]
        assert movement["details"]["sections"] == ["administrative", "fitness_decisions"]

    async def test_without_a_choice_every_section_prints_and_is_recorded(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
    ):
        director = staff["medical_director"]
        before = await last_outbox_id(records_db)
        resp = await _print(http, stack, director, file)
        assert resp.status_code == 200
        assert "Mild hearing loss" in pdf_text(resp.content)
        [event] = await events_since(records_db, before, user_id=director.id)
        assert event["details"]["sections"] == [
            "administrative", "exposures", "exams", "fitness_decisions", "lab_results"
        ]  # fmt: skip

    @pytest.mark.parametrize(
        "body",
        [
            {"sections": []},
            {"sections": ["notes"]},
            {"sections": ["exams", "exams"]},
            {"sections": "exams"},
            {"sections": ["exams"], "copies": 3},
            ["exams"],
        ],
    )
    async def test_bad_choices_are_422_and_print_nothing(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        staff: dict[str, Account],
        file: File,
        records_db: asyncpg.Pool,
        body: Any,
    ):
        director = staff["medical_director"]
        count = "SELECT count(*) FROM movement WHERE worker_id = $1::uuid"
        movements = await records_db.fetchval(count, file.worker_id)
        before = await last_outbox_id(records_db)
        resp = await _print(http, stack, director, file, body)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == PROBLEM
        assert await records_db.fetchval(count, file.worker_id) == movements
        assert [
            e
            for e in await events_since(records_db, before, user_id=director.id)
            if e["outcome"] == "success"
        ] == []
