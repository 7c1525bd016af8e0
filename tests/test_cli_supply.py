"""`launchday production` and `launchday supply` against a real server over loopback,
on both databases: the tables say what the API says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support import ADMIN_KEY, Database, customer_token, launch_body, loopback_server

SLUG = "yu7-2025"


def launchday(*args: str, base: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAUNCHDAY_URL": base, "LAUNCHDAY_ADMIN_KEY": ADMIN_KEY, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "launchday", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def the_plan() -> dict[str, Any]:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return {
        "weeks_start": monday.isoformat(),
        "timezone": "UTC",
        "delivery_lag_weeks": 2,
        "window_weeks": 3,
        "lines": [
            {"id": "yz", "skus": ["YU7-MAX"], "capacity": [{"from_week": 0, "cars_per_week": 10}]}
        ],
        "components": [
            {
                "id": "pack-ncm",
                "per_car": {"YU7-MAX": 1},
                "suppliers": [{"id": "catl", "supply": [{"from_week": 0, "units_per_week": 10}]}],
            }
        ],
    }


def test_set_the_plan_rank_suppliers_and_ask_what_if(database: Database, tmp_path: Path) -> None:
    opened = datetime.now(UTC) - timedelta(hours=1)
    body = launch_body(
        opens_at=opened,
        variants=[{"sku": "YU7-MAX", "name": "YU7 Max", "price": 329900,
                   "deposit": {"amount": 5000, "refundable_hours": 0}}],
    )  # fmt: skip
    with loopback_server(database.settings()) as base, httpx.Client(base_url=base) as http:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert http.post("/api/v1/launches", json=body, headers=admin).status_code == 201
        plan_file = tmp_path / "plan.json"
        plan_file.write_text(json.dumps(the_plan()))

        shown = launchday(
            "production", "set", "--launch", SLUG, "--file", str(plan_file), base=base
        )
        assert shown.returncode == 0, shown.stdout + shown.stderr
        quote = http.get(f"/api/v1/launches/{SLUG}/delivery").json()["variants"][0]["estimate"]
        weeks = f"{quote['weeks'][0]}-{quote['weeks'][1]}"
        assert "YU7-MAX" in shown.stdout
        assert weeks in shown.stdout

        for i in range(25):
            headers = {
                "Authorization": f"Bearer {customer_token(f'c-{i}')}",
                "Idempotency-Key": f"k-{i}",
            }
            placed = http.post(
                f"/api/v1/launches/{SLUG}/orders", json={"sku": "YU7-MAX"}, headers=headers
            )
            assert placed.status_code == 201, placed.text

        risk = launchday("supply", "risk", "--launch", SLUG, "--outage-weeks", "2", base=base)
        assert risk.returncode == 0, risk.stdout + risk.stderr
        api_risk = http.get(
            f"/api/v1/launches/{SLUG}/supply/risk?outage_weeks=2", headers=admin
        ).json()
        catl = api_risk["suppliers"][0]
        assert catl["supplier"] == "catl"
        assert catl["buyer_weeks"] > 0
        assert f"{catl['buyer_weeks']:,}" in risk.stdout
        assert "single-sourced: pack-ncm" in risk.stdout

        asked = launchday("supply", "what-if", "--launch", SLUG, "--outage", "catl:0:2", base=base)
        assert asked.returncode == 0, asked.stdout + asked.stderr
        # 25 cars, 10 a week: without packs for two weeks every car waits two weeks.
        row = next(line for line in asked.stdout.splitlines() if "YU7-MAX" in line)
        assert [cell.strip() for cell in row.split("│")[2:6]] == ["25", "25", "2.0", "2"], row
        assert "pack-ncm" in asked.stdout

        unknown = launchday(
            "supply", "what-if", "--launch", SLUG, "--outage", "acme:0:2", base=base
        )
        assert unknown.returncode == 2
        assert "no component comes from 'acme'" in unknown.stdout
        malformed = launchday("supply", "what-if", "--launch", SLUG, "--outage", "catl", base=base)
        assert malformed.returncode == 2
        assert "SUPPLIER:FROM_WEEK:WEEKS" in malformed.stdout
        refused = launchday("production", "show", "--launch", "nope", base=base)
        assert refused.returncode == 2
        assert "404" in refused.stdout
