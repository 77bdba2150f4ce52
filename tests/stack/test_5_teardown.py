"""`make stack-down` leaves nothing: no process, listener, namespace, veth or route; a
second one is fine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spatialviz.stack import netns
from tests.stack.client import Stack
from tests.stack.conftest import stack_command

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]


def _processes_of(state: Path) -> list[int]:
    """Processes whose command line or environment names the stack's state folder."""
    found = []
    marker = str(state).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in text:
            found.append(int(entry.name))
    return found


def test_stack_up_twice_says_already_up_and_down_leaves_nothing(stack: Stack) -> None:
    again = stack_command(stack.state, "up", "--demo-points", "0")
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stdout

    down = stack_command(stack.state, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert netns.existing() == []
    assert netns.leftovers() == []
    assert _processes_of(stack.state) == []
    # (No connection attempt to the stack's addresses now: with its route gone, one would
    # leave the machine through the default gateway.)

    twice = stack_command(stack.state, "down")
    assert twice.returncode == 0, twice.stderr
    assert "not up" in twice.stdout
