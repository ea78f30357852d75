"""The baseline: a bare FastAPI endpoint doing nothing but parse a small JSON body and answer."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    """The same fields as the CAMARA check."""

    phoneNumber: str | None = None  # noqa: N815
    specifiedDate: str  # noqa: N815


@app.post("/check")
async def check(body: Body) -> dict[str, bool]:
    """Answer a constant."""
    return {"phoneNumberRecycled": False}
