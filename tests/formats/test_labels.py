from __future__ import annotations

import pytest

from spatialviz.formats import safe_label


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("scan.las", "scan.las"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\cloud.laz", "cloud.laz"),
        ("evil\x00name.csv", "evilname.csv"),
        ("tab\tand\nnewline.ply", "tabandnewline.ply"),
        ("..", "dataset"),
        ("", "dataset"),
        ("/", "dataset"),
        ("   .hidden.csv  ", "hidden.csv"),
        ("bidi\u202egnp.exe", "bidignp.exe"),
    ],
)
def test_safe_label(raw: str, expected: str) -> None:
    assert safe_label(raw) == expected


def test_safe_label_bounds_length_and_keeps_extension() -> None:
    label = safe_label("a" * 5000 + ".laz")
    assert len(label) <= 120
    assert label.endswith(".laz")
