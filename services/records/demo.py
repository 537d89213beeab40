"""Demo data: employers, a few hundred workers with exposures, exams, decisions and lab results.

Everything goes through the HTTP API as the demo physicians and assistants, so the demo
files carry real authors and their creation is traced like any other access.
"""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import Any

import httpx

from common.trail import SEEDING_HEADERS

WORKERS = 300
# The worker logins of the demo (tests that seed a shared stack again give their own).
WORKER_LOGIN = "demo.worker{n}"
CONCURRENCY = 12
DEMO_PHYSICIAN_PASSWORD = "Demo-Physician-2024!"  # noqa: S105 - documented demo value
DEMO_WORKER_PASSWORD = "Demo-Worker-2026!"  # noqa: S105 - documented demo value

EMPLOYERS: dict[str, dict[str, Any]] = {
    "Acme Steelworks": {
        "departments": ["Foundry", "Rolling mill", "Maintenance"],
        "jobs": ["Furnace operator", "Crane driver", "Welder"],
        "agents": ["noise", "dust", "heat", "vibrations", "carcinogens"],
    },
    "Brightwave Logistics": {
        "departments": ["Warehouse", "Transport"],
        "jobs": ["Forklift driver", "Order picker", "Truck driver"],
        "agents": ["manual_handling", "vibrations", "night_work"],
    },
    "Carex Hospital": {
        "departments": ["Radiology", "Emergency", "Laboratory"],
        "jobs": ["Radiographer", "Nurse", "Lab technician"],
        "agents": ["ionizing_radiation", "biological", "night_work"],
    },
    "Delta Chemicals": {
        "departments": ["Production", "Quality"],
        "jobs": ["Process operator", "Chemist"],
        "agents": ["solvents", "chemicals", "carcinogens"],
    },
    "Evergreen Renovation": {
        "departments": ["Demolition", "Insulation"],
        "jobs": ["Demolition worker", "Insulation fitter"],
        "agents": ["asbestos", "dust", "noise"],
    },
    "Fjord Software": {
        "departments": ["Engineering", "Support"],
        "jobs": ["Developer", "Support agent"],
        "agents": ["screen_work"],
    },
}
FIRST = [
    "Anna",
    "Bram",
    "Chloé",
    "Dirk",
    "Elif",
    "Femke",
    "Gilles",
    "Hanne",
    "Ilias",
    "Jana",
    "Karim",
    "Lotte",
    "Mehdi",
    "Nina",
    "Olivier",
    "Petra",
    "Quentin",
    "Rania",
    "Sven",
    "Tine",
]
LAST = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Martin",
    "Leroy",
    "Simon",
    "Laurent",
]
DIAGNOSES = [
    "I10",
    "J45.0",
    "M54.5",
    "H83.3",
    "L23.5",
    "Z57.0",
    "Z57.1",
    "Z57.2",
    "Z57.5",
    "J61",
    "F43.2",
    "E66.9",
    "Z56.6",
    "M75.1",
    "G56.0",
    "T70.2",
]
FINDINGS = [
    "Normal examination.",
    "Mild hearing loss at 4 kHz.",
    "Contact dermatitis.",
    "Lower back pain after lifting.",
    "Blood pressure slightly raised.",
]
KINDS = ["preliminary", "periodic", "periodic", "return_to_work", "spontaneous", "maternity"]
DECISIONS = ["fit", "fit", "fit", "fit_with_restrictions", "temporarily_unfit", "unfit"]
LABS = [("Haemoglobin", "g/dL", "12-17"), ("Blood lead", "µg/dL", "<10"),
        ("Creatinine", "mg/dL", "0.7-1.3"), ("Audiogram 4 kHz", "dB HL", "<25")]  # fmt: skip


async def _token(http: httpx.AsyncClient, identity: str, username: str, password: str) -> str:
    resp = await http.post(
        f"{identity}/auth/login", json={"username": username, "password": password}
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


async def _staff(stack: Any, http: httpx.AsyncClient, shared: dict) -> list[dict[str, Any]]:
    """Logged-in physicians and assistants from identity's demo (or one made here)."""
    identity = stack.url("identity")
    users = shared.get("users") or {}
    staff = [*users.get("physician", [])[:3], *users.get("assistant", [])[:2]]
    if not staff:
        admin = await _token(http, identity, "admin", stack.admin_password)
        body = {
            "username": "demo.physician",
            "display_name": "Dr Demo Physician",
            "profile": "physician",
            "password": DEMO_PHYSICIAN_PASSWORD,
            "password_change_required": False,  # documented demo password (development only)
        }
        resp = await http.post(
            f"{identity}/users", json=body, headers={"Authorization": f"Bearer {admin}"}
        )
        if resp.status_code not in (201, 409):
            resp.raise_for_status()
        staff = [{**body, "id": resp.json().get("id", "")}]
    for person in staff:
        person["token"] = await _token(http, identity, person["username"], person["password"])
    return staff


def _worker_body(rng: random.Random, employer: str, care_team: list[str]) -> dict[str, Any]:
    spec = EMPLOYERS[employer]
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(0, 16_000))
    start = max(born + timedelta(days=18 * 365), date(1990, 1, 1)) + timedelta(
        days=rng.randrange(0, 3000)
    )
    end = start + timedelta(days=rng.randrange(400, 9000)) if rng.random() < 0.2 else None
    agents = rng.sample(spec["agents"], k=rng.randint(1, len(spec["agents"])))
    minor = born > date.today() - timedelta(days=18 * 365)
    return {
        "first_name": rng.choice(FIRST),
        "last_name": rng.choice(LAST),
        "birth_date": born.isoformat(),
        "employer": employer,
        "department": rng.choice(spec["departments"]),
        "job_title": rng.choice(spec["jobs"]),
        "employment_start": start.isoformat(),
        "employment_end": end.isoformat() if end and end < date.today() else None,
        "guardian_name": f"{rng.choice(FIRST)} (parent)" if minor else None,
        "surveillance_reasons": [f"exposure: {a}" for a in agents],
        "exposures": [
            {"agent": a, "started_on": start.isoformat(), "description": f"{a} at work"}
            for a in agents
        ],
        "care_team": care_team,
    }


async def _one_worker(
    http: httpx.AsyncClient,
    base: str,
    rng: random.Random,
    staff: list[dict[str, Any]],
    employer: str,
) -> str:
    physician = rng.choice(staff[: max(1, min(3, len(staff)))])
    headers = {"Authorization": f"Bearer {physician['token']}"}
    care = sorted({physician["id"], rng.choice(staff)["id"]} - {""})
    resp = await http.post(
        f"{base}/workers", json=_worker_body(rng, employer, care), headers=headers
    )
    resp.raise_for_status()
    worker_id = resp.json()["id"]
    exam_id = None
    for n in range(rng.randint(1, 3)):
        body = {
            "kind": "preliminary" if n == 0 else rng.choice(KINDS[1:]),
            "performed_on": (date(2019, 1, 1) + timedelta(days=rng.randrange(0, 2000))).isoformat(),
            "findings": rng.choice(FINDINGS),
            "diagnoses": rng.sample(DIAGNOSES, k=rng.randint(0, 2)),
        }
        resp = await http.post(f"{base}/workers/{worker_id}/exams", json=body, headers=headers)
        resp.raise_for_status()
        exam_id = resp.json()["id"]
    decision = rng.choice(DECISIONS)
    await http.post(
        f"{base}/workers/{worker_id}/fitness-decisions",
        json={
            "decision": decision,
            "decided_on": date.today().isoformat(),
            "exam_id": exam_id,
            "restrictions": "No loads over 10 kg" if decision == "fit_with_restrictions" else None,
            "review_on": (date.today() + timedelta(days=365)).isoformat(),
        },
        headers=headers,
    )
    if rng.random() < 0.4:
        test, unit, ref = rng.choice(LABS)
        await http.post(
            f"{base}/workers/{worker_id}/lab-results",
            json={
                "test": test,
                "value": str(round(rng.uniform(1, 30), 1)),
                "unit": unit,
                "reference_range": ref,
                "laboratory": "BioLab Antwerp",
                "sampled_on": (date.today() - timedelta(days=rng.randrange(1, 300))).isoformat(),
            },
            headers=headers,
        )
    return str(worker_id)


async def seed(stack: Any, shared: dict) -> None:
    """Create the demo files through the API; shares worker ids and employers."""
    base = stack.url("records")
    rng = random.Random(4)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(headers=SEEDING_HEADERS, timeout=30, limits=limits) as http:
        staff = await _staff(stack, http, shared)
        gate = asyncio.Semaphore(CONCURRENCY)
        employers = list(EMPLOYERS)

        async def task(n: int) -> str:
            async with gate:
                own = random.Random(rng.random() + n)
                return await _one_worker(http, base, own, staff, employers[n % len(employers)])

        workers = await asyncio.gather(*(task(n) for n in range(WORKERS)))
        accounts = await _worker_accounts(stack, http, workers[:3])
    shared["workers"] = workers
    shared["employers"] = employers
    shared.setdefault("users", {})["worker"] = accounts
    stack.say(
        f"  records: {len(workers)} workers of {len(employers)} employers; worker logins "
        f"{', '.join(a['username'] for a in accounts)} (password {DEMO_WORKER_PASSWORD})"
    )


async def _worker_accounts(
    stack: Any, http: httpx.AsyncClient, worker_ids: list[str]
) -> list[dict[str, Any]]:
    """Worker accounts for the first files, so the worker portal can be tried at once."""
    identity = stack.url("identity")
    admin = await _token(http, identity, "admin", stack.admin_password)
    accounts = []
    for n, worker_id in enumerate(worker_ids, start=1):
        body = {
            "username": WORKER_LOGIN.format(n=n),
            "display_name": f"Demo Worker {n}",
            "profile": "worker",
            "password": DEMO_WORKER_PASSWORD,
            "worker_id": worker_id,
            "password_change_required": False,  # documented demo password (development only)
        }
        resp = await http.post(
            f"{identity}/users", json=body, headers={"Authorization": f"Bearer {admin}"}
        )
        if resp.status_code == 201:
            accounts.append({**body, "id": resp.json()["id"]})
    return accounts
