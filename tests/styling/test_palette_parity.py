"""The web client's copy of the categorical palettes (web/src/lib/bakedlegend.ts, used for the
legend of colours the tiler painted) equals the server's, name by name and colour by colour."""

from __future__ import annotations

import re
from pathlib import Path

from spatialviz.styling.colormaps import _PALETTES, OTHER_COLOR

CLIENT = Path(__file__).resolve().parents[2] / "web" / "src" / "lib" / "bakedlegend.ts"


def test_client_palettes_match_the_server() -> None:
    text = CLIENT.read_text()
    block = text[text.index("SERVER_PALETTES") : text.index("};")]
    client = {
        name: tuple(re.findall(r"'(#[0-9a-f]{6})'", colours))
        for name, colours in re.findall(r"(\w+): \[([^\]]*)\]", block)
    }
    assert client == dict(_PALETTES)
    other = re.search(r"OTHER_COLOR = '(#[0-9a-f]{6})'", text)
    assert other is not None
    assert other.group(1) == "#{:02x}{:02x}{:02x}".format(*OTHER_COLOR)
