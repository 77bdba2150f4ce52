"""What `spatialviz tile` may write over, decided before any work.

Publishing a tileset replaces OUTPUT_DIR whole (see :func:`spatialviz.tiling.runner.tile`),
so a mistyped OUTPUT_DIR could remove a user's files, or the input itself
(``spatialviz tile a.las a.las``, or ``spatialviz tile data/a.las data``). The command
therefore refuses, whatever ``--force`` says, an OUTPUT_DIR that is the input, holds the
input or is not a folder; and, unless ``--force``, a non-empty folder it did not write.
Folders it wrote carry :data:`MARKER`, so re-tiling into the same place needs no flag.
"""

from __future__ import annotations

import json
from pathlib import Path

from spatialviz import __version__

#: Written into every tileset the command publishes; its presence means "ours to replace".
MARKER = ".spatialviz-tileset"


class PathRefusedError(Exception):
    """INPUT or OUTPUT_DIR cannot be used; ``code`` is stable, like a FormatError's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_input(input_path: Path) -> None:
    if not input_path.exists():
        raise PathRefusedError("input_not_found", f"INPUT {input_path} does not exist.")
    if not input_path.is_file():
        raise PathRefusedError("input_not_a_file", f"INPUT {input_path} is not a file.")


def check_output(input_path: Path, output_dir: Path, *, force: bool) -> None:
    """Raise :class:`PathRefusedError` unless publishing into ``output_dir`` can only
    replace a tileset this command wrote (or, with ``force``, a folder the user named)."""
    source = input_path.resolve()
    target = output_dir.resolve()
    if target == source:
        raise PathRefusedError(
            "output_is_input", f"OUTPUT_DIR {output_dir} is the input file; name a new folder."
        )
    if target in source.parents:
        raise PathRefusedError(
            "output_holds_input",
            f"OUTPUT_DIR {output_dir} holds the input file, which replacing it would delete; "
            "name a folder outside it.",
        )
    if not target.exists():
        return
    if not target.is_dir():
        raise PathRefusedError(
            "output_not_a_folder", f"OUTPUT_DIR {output_dir} exists and is not a folder."
        )
    if force or (target / MARKER).is_file() or not any(target.iterdir()):
        return
    raise PathRefusedError(
        "output_not_empty",
        f"OUTPUT_DIR {output_dir} is a non-empty folder that does not hold a tileset written "
        "by spatialviz tile; its contents would be replaced. Name an empty or new folder, "
        "or pass --force to replace them.",
    )


def mark_output(output_dir: Path, input_path: Path) -> None:
    """Say that ``output_dir`` holds a tileset this command wrote."""
    record = {"written_by": f"spatialviz {__version__}", "input": str(input_path.resolve())}
    (output_dir / MARKER).write_text(json.dumps(record) + "\n", encoding="utf-8")
