"""The denominator: a FastAPI endpoint that does nothing, served the same way as the services."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/noop")
async def noop() -> dict[str, bool]:
    """Return at once."""
    return {"ok": True}
