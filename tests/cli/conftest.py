from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run the real ``mallseg`` command in a subprocess against a workspace in tmp_path."""

    def run(*args: str, workspace: Path | None = None, timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
        ws = workspace or tmp_path / "ws"
        return subprocess.run(
            [sys.executable, "-m", "mallseg", "--workspace", str(ws), *args],
            capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
        )

    return run
