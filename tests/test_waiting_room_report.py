"""The report's waiting-room figures, against hand-computed waits, on both databases."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from pathlib import Path

from launchday.analytics import build_report
from launchday.store.reads import snapshot_reads
from tests.support import T0, Api, Database, SettableClock


def test_the_report_gives_longest_queue_and_admission_waits(
    api: Api, clock: SettableClock, database: Database
) -> None:
    clock.now = T0 - timedelta(minutes=5)
    api.create_launch(admission={"rate_per_second": 2, "token_ttl_seconds": 60})
    for i in range(5):
        api.post("/api/v1/launches/yu7-2025/queue", headers=api.as_customer(f"pre-{i}"))
    # Two join at 10 s, when the pre-queue (admitted at 0.5, 1, ..., 2.5 s) is long gone:
    # each is admitted half a second after the queue ahead of it.
    clock.now = T0 + timedelta(seconds=10)
    for i in range(2):
        api.post("/api/v1/launches/yu7-2025/queue", headers=api.as_customer(f"late-{i}"))
    clock.now = T0 + timedelta(seconds=20)
    with closing(database.connect()) as conn:
        room = build_report(snapshot_reads(conn), "yu7-2025", now=clock.now).waiting_room
    assert room is not None
    assert (room.joined, room.admitted, room.longest_queue) == (7, 7, 5)
    # Waits: 0.5, 1.0, 1.5, 2.0, 2.5 (pre-queue, from the opening), 0.5 and 1.0 (late).
    assert room.wait_p50_seconds == 1.0
    assert room.wait_p99_seconds == 2.5
    assert room.wait_max_seconds == 2.5

    with closing(database.connect()) as conn:
        early = build_report(
            snapshot_reads(conn), "yu7-2025", at=T0 + timedelta(seconds=1.2), now=clock.now
        ).waiting_room
    assert early is not None
    assert (early.joined, early.admitted) == (5, 2)
    assert early.wait_max_seconds == 1.0


def test_a_launch_without_a_waiting_room_reports_none(
    api: Api, clock: SettableClock, database: Database
) -> None:
    api.create_launch()
    with closing(database.connect()) as conn:
        assert build_report(snapshot_reads(conn), "yu7-2025", now=clock.now).waiting_room is None


def test_the_report_page_and_text_show_the_waiting_room(
    api: Api, clock: SettableClock, database: Database, tmp_path: Path
) -> None:
    from rich.console import Console

    from launchday.analytics.report_files import write_report_files
    from launchday.analytics.report_text import print_report

    clock.now = T0 - timedelta(minutes=5)
    api.create_launch(admission={"rate_per_second": 2, "token_ttl_seconds": 60})
    for i in range(3):
        api.post("/api/v1/launches/yu7-2025/queue", headers=api.as_customer(f"pre-{i}"))
    clock.now = T0 + timedelta(seconds=20)
    with closing(database.connect()) as conn:
        report = build_report(snapshot_reads(conn), "yu7-2025", now=clock.now)
    write_report_files(report, tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Waiting room" in page
    assert "longest queue</td><td>3</td>" in page
    console = Console(record=True, width=200)
    print_report(report, console)
    assert "waiting room: 3 joined, 3 admitted, longest queue 3" in console.export_text()
