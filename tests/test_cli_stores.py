"""`launchday stores import` and `launchday stores list` against a real server over
loopback: a CSV store network kept, its bad rows named by line and skipped."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from launchday.cli.store_csv import CsvProblem, parse_demo_cars, parse_hours
from tests.support import Database, loopback_server
from tests.test_cli_supply import launchday

HEADER = (
    "id,name,kinds,city,region,lat,lon,timezone,hours,demo_cars,"
    "test_drive_minutes,handover_bays,logistics_weeks"
)
ROWS = [
    "bj-chaoyang,Xiaomi Auto Chaoyang,sales;delivery,Beijing,CN-BJ,39.92,116.46,Asia/Shanghai,"
    "mon-fri 10:00-21:00; sat-sun 09:30-22:00,YU7-STD:1;YU7-MAX:2,60,4,1",
    "sh-pudong,Xiaomi Auto Pudong,sales,Shanghai,CN-SH,31.22,121.54,Asia/Shanghai,"
    "mon-sun 10:00-22:00,YU7-MAX:3,45,,",
    "bad-hours,Nowhere,sales,Beijing,CN-BJ,39.9,116.4,Asia/Shanghai,every day,YU7-MAX:1,,,",
    "bad-zone,Nowhere,sales,Beijing,CN-BJ,39.9,116.4,Mars/Olympus,mon 10:00-12:00,,,,",
]


def test_the_hours_and_demo_cars_columns_read_as_the_api_takes_them() -> None:
    assert parse_hours("mon-wed 10:00-21:00; sat,sun 09:30-22:00") == [
        {"days": ["mon", "tue", "wed"], "opens": "10:00", "closes": "21:00"},
        {"days": ["sat", "sun"], "opens": "09:30", "closes": "22:00"},
    ]
    assert parse_demo_cars("YU7-STD:1;YU7-MAX:2") == {"YU7-STD": 1, "YU7-MAX": 2}
    for bad in ("fri-mon 10:00-12:00", "someday 10:00-12:00", "mon 10:00"):
        with pytest.raises(CsvProblem):
            parse_hours(bad)
    with pytest.raises(CsvProblem):
        parse_demo_cars("YU7-MAX:two")


def test_a_store_network_is_imported_from_csv_and_listed(
    sqlite_database: Database, tmp_path: Path
) -> None:
    file = tmp_path / "stores.csv"
    file.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    with loopback_server(sqlite_database.settings()) as base:
        imported = launchday("stores", "import", str(file), base=base)
        assert imported.returncode == 2, imported.stdout + imported.stderr
        assert "2 stores kept, 2 rows refused" in imported.stdout
        assert "line 4:" in imported.stdout  # the hours it cannot read
        assert "line 5: store bad-zone refused" in imported.stdout
        assert "timezone" in imported.stdout
        stores = httpx.get(f"{base}/api/v1/stores").json()["stores"]
        assert [s["id"] for s in stores] == ["bj-chaoyang", "sh-pudong"]
        chaoyang = stores[0]["store"]
        assert chaoyang["kinds"] == ["delivery", "sales"]
        assert chaoyang["hours"][1] == {"days": ["sat", "sun"], "opens": "09:30", "closes": "22:00"}
        assert (chaoyang["handover_bays"], chaoyang["logistics_weeks"]) == (4, 1)
        assert stores[1]["store"]["test_drive_minutes"] == 45
        listed = launchday("stores", "list", "--region", "CN-SH", base=base)
        assert listed.returncode == 0, listed.stderr
        assert "1 stores" in listed.stdout
        assert "sh-pudong" in listed.stdout
        assert "bj-chaoyang" not in listed.stdout
