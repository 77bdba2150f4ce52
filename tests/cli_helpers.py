"""Running the `spatialviz` command as a user does, and what a refusal must look like."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping


def run_spatialviz(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spatialviz", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], mentions: str) -> None:
    """Exit status 2 and one line on stderr that names what is wrong (no traceback)."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert mentions in result.stderr
