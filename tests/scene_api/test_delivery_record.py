"""The cached delivery record (:class:`spatialviz.scene.delivery.Delivery`): one typed
definition, written and read by one pair of functions; a record this code cannot read is a
miss, never an error."""

from __future__ import annotations

import json
import uuid

import pytest

from spatialviz.scene.delivery import Delivery


def _entry(**changes: object) -> Delivery:
    fields: dict[str, object] = {
        "scene_id": uuid.uuid4(),
        "workspace_id": uuid.uuid4(),
        "dataset_id": uuid.uuid4(),
        "prefix": "scenes/abc/v1",
        "version": "v1",
        "generation": 3,
    }
    return Delivery.model_validate({**fields, **changes})


@pytest.mark.parametrize("changes", [{}, {"prefix": None, "version": None, "generation": 0}])
def test_a_record_reads_back_as_the_facts_it_was_written_from(changes: dict[str, object]) -> None:
    entry = _entry(**changes)
    read = Delivery.from_bytes(entry.to_bytes())
    assert read == entry
    assert type(read) is Delivery


def test_a_record_written_before_the_format_field_is_a_miss() -> None:
    entry = _entry()
    # What the hand-written serialiser before this format stored.
    old = json.dumps(
        {
            "scene_id": str(entry.scene_id),
            "workspace_id": str(entry.workspace_id),
            "dataset_id": str(entry.dataset_id),
            "prefix": entry.prefix,
            "version": entry.version,
            "generation": entry.generation,
        }
    ).encode()
    assert Delivery.from_bytes(old) is None


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"format": 3}', b'{"format": 99, "generation": 1}'],
)
def test_a_damaged_or_foreign_record_is_a_miss(raw: bytes) -> None:
    assert Delivery.from_bytes(raw) is None


def test_a_record_of_another_format_is_a_miss() -> None:
    record = json.loads(_entry().to_bytes())
    record["format"] += 1
    assert Delivery.from_bytes(json.dumps(record).encode()) is None


def test_the_record_keeps_the_old_field_names_flat() -> None:
    # Code that predates the format field (a rolling deploy) indexes these by name.
    entry = _entry()
    record = json.loads(entry.to_bytes())
    assert record["scene_id"] == str(entry.scene_id)
    assert record["dataset_id"] == str(entry.dataset_id)
    assert record["generation"] == 3
    assert set(record) == {*Delivery.model_fields, "format"}
