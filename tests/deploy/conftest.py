"""The deploy/ files are checked with the real tools (nginx, promtool, amtool, a Kubernetes
schema validator). CI installs them (.ci/run); elsewhere a missing tool skips its tests with
the command that installs it, unless SPATIALVIZ_REQUIRE_DEPLOY_TOOLS=1 says it must be there."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_TOOLS = os.environ.get("SPATIALVIZ_REQUIRE_DEPLOY_TOOLS") == "1"


def require_tool(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        if REQUIRE_TOOLS:
            pytest.fail(f"{name} is required here: apt-get install {package}")
        pytest.skip(f"{name} not found (apt-get install {package})")
    return path
