"""The job state machine the code follows is the one docs/jobs.md shows."""

from __future__ import annotations

from pathlib import Path

from spatialviz.job.states import TRANSITIONS, Event, allowed, sources, target
from spatialviz.models.job import FINAL_STATUSES, JobStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"


def _doc_rows() -> set[tuple[str, frozenset[str], str, str, str]]:
    text = DOC.read_text()
    section = text.split("## States", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `"):
            continue
        event, origins, to, guard, by = cells
        rows.add(
            (event.strip("`"), frozenset(o.strip() for o in origins.split(",")), to, guard, by)
        )
    return rows


def test_the_code_follows_the_documented_table() -> None:
    code = {
        (t.event.value, frozenset(s.value for s in t.sources), t.target.value, t.guard, t.by)
        for t in TRANSITIONS
    }
    assert code == _doc_rows()


def test_every_event_has_exactly_one_row() -> None:
    assert sorted(t.event for t in TRANSITIONS) == sorted(Event)


def test_final_states_are_left_only_by_a_users_retry() -> None:
    for status in FINAL_STATUSES:
        leaving = {t.event for t in TRANSITIONS if status in t.sources}
        assert leaving == (set() if status is JobStatus.succeeded else {Event.retry}), status
    assert target(Event.retry) is JobStatus.queued
    assert not allowed(JobStatus.succeeded, JobStatus.queued)


def test_work_starts_only_from_queued_or_a_lost_holder() -> None:
    into_running = {t.event for t in TRANSITIONS if t.target is JobStatus.running}
    assert into_running == {Event.claim, Event.take_over}
    assert sources(Event.claim) == [JobStatus.queued]
