"""RFC 9457 problem+json for every error, including validation errors and unknown routes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("ohs.errors")


class Problem(Exception):
    """An error answered as problem+json; raise it from anywhere in a request."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_ or f"https://ohs.example/problems/{self.title.lower().replace(' ', '-')}"
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The problem document."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def unauthorized(detail: str = "Missing or invalid bearer token") -> Problem:
    """401 with the bearer challenge."""
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "Your profile does not allow this") -> Problem:
    """403: authenticated but not allowed."""
    return Problem(403, detail)


def not_found(what: str) -> Problem:
    """404 for an unknown id."""
    return Problem(404, f"{what} not found")


def conflict(detail: str, **extra: Any) -> Problem:
    """409 conflict."""
    return Problem(409, detail, **extra)


def invalid(detail: str, errors: list[dict[str, Any]] | None = None) -> Problem:
    """422 with the offending fields."""
    return Problem(422, detail, errors=errors or [])


def unavailable(detail: str) -> Problem:
    """503 when a dependency is down."""
    return Problem(503, detail, headers={"Retry-After": "5"})


def problem_response(problem: Problem) -> JSONResponse:
    """Render a Problem."""
    return JSONResponse(
        problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        # Echoing input could leak health data into logs and proxies; the location is enough.
        out.append(
            {
                "field": ".".join(str(p) for p in err.get("loc", ())),
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of the app a problem+json document."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(Problem(400, "Malformed JSON body", errors=errors))
        return problem_response(invalid("Request validation failed", errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such resource"
        return problem_response(Problem(exc.status_code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error: %s", exc.orig)
        return problem_response(conflict("The change conflicts with existing data"))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        if sqlstate.startswith("22"):
            # Class 22 is a data exception: the input, not the database, is at fault.
            return problem_response(
                invalid("A value cannot be stored (bad characters or out of range)")
            )
        # Also covers a refused outbox insert: no trace stored means no data served.
        log.error("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(unavailable("The database could not store or serve this request"))

    @app.exception_handler(PoolTimeout)
    async def _pool(_: Request, exc: PoolTimeout) -> JSONResponse:
        return problem_response(unavailable("The database is busy; try again"))

    @app.exception_handler(OSError)
    async def _os(request: Request, exc: OSError) -> JSONResponse:
        log.error("I/O error on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(unavailable("A dependency is unreachable"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "Internal error; it has been logged"))
