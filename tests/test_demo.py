"""`launchday demo`, the README's first command, as a new user meets it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from launchday.cli import free_port


@pytest.mark.skipif(shutil.which("curl") is None, reason="the demo prints curl commands")
def test_the_demo_serves_the_yu7_and_its_printed_curl_commands_work(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDAY_")}
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "launchday", "demo", "--port", str(port), "--out", str(tmp_path)],
        env={**env, "COLUMNS": "60"},  # a narrow terminal must not break the commands
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line.rstrip("\n"))
            if "Ctrl-C stops the server" in line:
                break
        printed = "\n".join(lines)
        assert "Xiaomi YU7 is open for orders" in printed, printed
        token_line = next(line for line in lines if line.startswith("TOKEN="))
        start = lines.index(next(line for line in lines if line.startswith("curl -s -X POST")))
        order_command = "\n".join([token_line, *lines[start : start + 3]])
        placed = json.loads(_bash(order_command))
        assert placed["launch"] == "yu7-2025"
        assert placed["status"] == "reserved"
        assert placed["deposit"] == {"amount": 5000, "currency": "CNY"}

        cancel = next(line for line in lines if "/cancel" in line).replace("ID", placed["id"])
        cancelled = json.loads(_bash(f"{token_line}\n{cancel}"))
        assert cancelled["status"] == "cancelled"
        assert cancelled["refund"] == {"amount": 5000, "currency": "CNY"}

        launch_command = next(line for line in lines if line.endswith("/launches/yu7-2025"))
        launch = json.loads(_bash(launch_command))
        assert [v["sku"] for v in launch["variants"]] == ["YU7-STD", "YU7-PRO", "YU7-MAX"]
        assert launch["counts"]["cancelled"] == 1
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
        if demo.stdout:
            demo.stdout.close()


def _bash(script: str) -> str:
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout
