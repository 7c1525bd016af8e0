"""`launchday demo --cluster`: the YU7 rehearsed through HAProxy on the production layout
brought up on this machine (docs/cluster.md), and nothing of the cluster left after.

Needs root and Debian's packages; skips without them, which CI counts as a failure.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from launchday.cli.cluster_demo import DEMO_PREFIX
from launchday.cluster.prerequisites import missing
from tests.test_demo import _demo


def test_the_demo_rehearses_the_yu7_through_the_cluster_and_takes_it_down(
    tmp_path: Path,
) -> None:
    lacking = missing()
    if lacking:
        pytest.skip("the one-machine cluster needs " + "; ".join(lacking))
    demo = _demo(tmp_path, "--cluster", "--scale", "0.002", "--speed", "20", "--until", "3m")
    output, _ = demo.communicate(timeout=400)
    assert demo.returncode == 0, output
    said = " ".join(output.split())  # the terminal's line breaks aside
    assert "through HAProxy at http://10.231.5." in said
    assert "the database cluster after the rehearsal" in said
    for role in ("leader", "sync_standby"):
        assert role in said, output
    assert "400 orders acknowledged, 400 stored" in said
    report = json.loads((tmp_path / "report.json").read_text())
    by_after = {m["after_seconds"]: m["orders"] for m in report["milestones"]}
    assert by_after[180] == pytest.approx(400, abs=20)  # 200,000 in 3 minutes x 0.002
    assert report["orders"]["total"] == sum(report["orders"]["by_sku"].values())
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    assert DEMO_PREFIX not in namespaces.stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True)
    assert DEMO_PREFIX not in links.stdout
