"""One workspace, several processes: while the service holds it, commands stop cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def _mallseg(service: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mallseg", "--workspace", str(service.folder),
                           *args], capture_output=True, text=True, timeout=120)


def test_the_service_leaves_its_url_and_process_in_the_workspace(service: Any) -> None:
    note = json.loads((service.folder / "service.lock").read_text())
    assert (note["url"], note["pid"]) == (service.url, service.process.pid)


def test_a_cli_write_while_the_service_runs_stops_with_one_line(service: Any) -> None:
    ingest = _mallseg(service, "ingest", "customers", "--sample", "classic")
    assert ingest.returncode == 2
    assert "Traceback" not in ingest.stderr + ingest.stdout
    lines = ingest.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "in use" in lines[0]


def test_key_commands_name_the_service_that_holds_the_workspace(service: Any) -> None:
    answer = _mallseg(service, "keys", "create", "--name", "late", "--scopes", "aggregates")
    assert answer.returncode == 2 and "Traceback" not in answer.stderr
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"the mallseg service at {service.url} (process {service.process.pid})" in lines[0]
    assert "/keys" in lines[0]
