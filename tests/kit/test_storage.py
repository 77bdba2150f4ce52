"""Both storage adapters pass the same contract; S3 runs against moto's real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from spatialviz.kit.storage import (
    BlobNotFound,
    BlobStorage,
    LocalStorage,
    StorageError,
    create_storage,
)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStorage:
    if request.param == "local":
        return LocalStorage(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"b{tmp_path.name.lower().replace('_', '-')[-40:]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    return create_storage(
        f"s3://{bucket}/prefix",
        endpoint_url=endpoint,
        access_key_id="k",
        secret_access_key="s",
    )


def test_writer_is_invisible_until_commit(storage: BlobStorage) -> None:
    w = storage.writer("a/b.bin")
    w.write(b"hello ")
    assert not storage.exists("a/b.bin")
    w.write(b"world")
    w.commit()
    assert storage.read_bytes("a/b.bin") == b"hello world"
    assert storage.size("a/b.bin") == 11


def test_abort_leaves_nothing(storage: BlobStorage) -> None:
    w = storage.writer("x/y.bin")
    w.write(b"partial")
    w.abort()
    assert not storage.exists("x/y.bin")
    assert list(storage.list_keys("x")) == []


def test_ranges_and_chunks(storage: BlobStorage) -> None:
    storage.put_bytes("r/data", bytes(range(100)))
    assert storage.read_bytes("r/data", 10, 20) == bytes(range(10, 20))
    assert b"".join(storage.iter_chunks("r/data", 5, 50, chunk_size=7)) == bytes(range(5, 50))


def test_files_and_prefix_delete(storage: BlobStorage, tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_bytes(b"content")
    storage.put_file("p/one", src)
    storage.put_bytes("p/sub/two", b"2")
    storage.put_bytes("q/three", b"3")
    assert sorted(storage.list_keys("p")) == ["p/one", "p/sub/two"]
    dest = tmp_path / "dest.txt"
    storage.get_file("p/one", dest)
    assert dest.read_bytes() == b"content"
    assert storage.delete_prefix("p") == 2
    assert list(storage.list_keys("p")) == []
    assert storage.exists("q/three")


def test_missing_blob(storage: BlobStorage) -> None:
    with pytest.raises(BlobNotFound):
        storage.read_bytes("nope/missing")
    assert not storage.exists("nope/missing")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a\0b", ""])
def test_rejects_unsafe_keys(storage: BlobStorage, key: str) -> None:
    with pytest.raises(StorageError):
        storage.put_bytes(key, b"x")


def test_storage_check(storage: BlobStorage) -> None:
    storage.check()


def _abandon(storage: BlobStorage, key: str, size: int) -> None:
    """A write whose process died: data sent, neither committed nor aborted, and (local) its
    lock released as a dead process's locks are."""
    writer = storage.writer(key)
    writer.write(b"x" * size)
    if isinstance(storage, LocalStorage):
        writer._fh.close()  # type: ignore[attr-defined]
    else:
        writer._flush()  # type: ignore[attr-defined]


def test_sweep_removes_abandoned_writes_and_spares_live_ones(storage: BlobStorage) -> None:
    _abandon(storage, "dead/one.bin", 8 << 20)
    live = storage.writer("live/two.bin")
    live.write(b"still coming")
    if not isinstance(storage, LocalStorage):
        live._flush()  # type: ignore[attr-defined]

    assert storage.sweep_temporary(max_age_seconds=3600).items == 0  # too young for either

    swept = storage.sweep_temporary(max_age_seconds=0)
    if isinstance(storage, LocalStorage):
        # The live writer's lock protects it whatever its age.
        assert (swept.items, swept.bytes) == (1, 8 << 20)
        assert [p.name for p in (storage.root / ".tmp").iterdir()] == [live._tmp.name]  # type: ignore[attr-defined]
        live.commit()
        assert storage.read_bytes("live/two.bin") == b"still coming"
    else:
        # S3 cannot tell a live upload from a dead one but by age: both are past 0 s.
        assert (swept.items, swept.bytes) == (2, (8 << 20) + len(b"still coming"))
    assert storage.sweep_temporary(max_age_seconds=0).items == 0
    assert not storage.exists("dead/one.bin")
