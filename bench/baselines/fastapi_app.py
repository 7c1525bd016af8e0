"""Baseline (a): the order endpoint most teams would write, FastAPI + pydantic, no storage.

It validates the same body as launchday (`{"sku": str, "profile": optional object}`,
unknown fields refused) and returns a constant 201. Run by bench/run.py as

    uvicorn fastapi_app:app --app-dir bench/baselines --loop uvloop --http httptools
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from order_constant import ORDER
from pydantic import BaseModel, ConfigDict, Field


class Profile(BaseModel):
    """Who a buyer is: each field optional, as launchday's ProfileSpec."""

    model_config = ConfigDict(extra="forbid")

    first_car_with_brand: bool | None = None
    new_to_brand: bool | None = None
    phone: Literal["ios", "android", "other"] | None = None
    region: str | None = Field(default=None, min_length=1, max_length=32)


class OrderRequest(BaseModel):
    """The order body, as launchday's OrderRequest."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    profile: Profile | None = None


app = FastAPI()


@app.post("/api/v1/launches/{slug}/orders", status_code=201)
async def place_order(slug: str, order: OrderRequest) -> dict[str, Any]:
    """Validate and answer a constant: what "no storage at all" costs."""
    return ORDER


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
