"""`spatialviz tile INPUT OUTPUT_DIR`: tile a file locally, no server or database.

A refused input answers as the server does: one line, ``error: <code>: <message>``, on
stderr and exit status 2 (the codes are the formats' refusal codes, ``tiling_failed``, and
the path codes of :mod:`spatialviz.tiling.output_guard`); a traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from spatialviz.formats.base import FormatError, PointReader, ReaderLimits
from spatialviz.tiling.merge import TilesetSummary
from spatialviz.tiling.options import COMPRESSIONS, TilingOptions, parse_size
from spatialviz.tiling.output_guard import PathRefusedError, check_input, check_output, mark_output
from spatialviz.tiling.plan import TilingError
from spatialviz.tiling.runner import tile

STAGES = ("scan", "distribute", "index", "merge")

TILING_BATCH_ROWS = 250_000
"""Rows per batch read from the input. Readers default to 1M rows; tiling touches each
batch several times (bounds, cells, bucket sort), and a quarter of that stays in cache:
30M LAS points took 10.4-11.0 s with 611-620 MB peak (all processes) against 12.5-12.9 s
and 733-759 MB at 1M rows (and 500k: ~11.8 s, 620 MB; 125k: ~11.0 s, 625 MB)."""


def open_source(path: Path, wanted: frozenset[str] | None = None) -> PointReader:
    """Open any supported file through the formats registry (module-level: picklable).
    ``wanted``: the attribute columns the tiles will carry (None: all)."""
    formats = importlib.import_module("spatialviz.formats")
    limits = ReaderLimits(batch_rows=TILING_BATCH_ROWS, wanted_columns=wanted)
    reader: PointReader = formats.open_reader(path, limits)
    return reader


def wanted_columns(attributes: str | tuple[str, ...]) -> frozenset[str] | None:
    """What the reader must decode for ``--attributes``: colour always, the rest as asked."""
    if attributes == "all":
        return None
    colour = frozenset(("red", "green", "blue"))
    return colour if attributes == "rgb" else colour | frozenset(attributes)


@contextmanager
def one_line_errors(debug: bool) -> Iterator[None]:
    """Turn a refusal into ``error: <code>: <message>`` and exit 2 (1 for a fault that is
    not the input's: disk, permissions, a bug); ``debug`` lets the traceback through."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if debug:
            raise
        code, status = _code_of(exc)
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {code}: {message}", file=sys.stderr)
        if status == 1:
            print("(run again with --debug for the traceback)", file=sys.stderr)
        raise typer.Exit(status) from None


def _code_of(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, FormatError | PathRefusedError):
        return exc.code, 2
    if isinstance(exc, TilingError):
        return "tiling_failed", 2
    if isinstance(exc, OSError):
        return "io_error", 1
    return "internal_error", 1


def tile_command(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT")],
    output_dir: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT_DIR",
            help="A new or empty folder, or one this command wrote (replaced). Never the "
            "input or a folder holding it; another non-empty folder only with --force.",
        ),
    ],
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 2,
    memory_budget: Annotated[
        str, typer.Option("--memory-budget", help="Memory for all processes, e.g. 700M, 2G.")
    ] = "700M",
    attributes: Annotated[
        str, typer.Option(help="'all', 'rgb' (position + colour only) or a comma list.")
    ] = "all",
    compression: Annotated[
        str,
        typer.Option(
            help="'meshopt' (EXT_meshopt_compression: lossless, read by CesiumJS, three.js, "
            "Babylon.js), 'none' (any glTF viewer) or 'draco' (KHR_draco_mesh_compression on "
            "points: three.js and 3DTilesRendererJS only, not CesiumJS). See docs/scenes.md "
            "'Tile content'."
        ),
    ] = "meshopt",
    tile_properties: Annotated[
        str,
        typer.Option(
            "--tile-properties",
            help="Columns each tile carries besides row_id: a comma list, '' (default: none, "
            "the rest go to per-node sidecars, tiles/<node>.attrs.glb) or 'all' (no "
            "sidecars). See docs/scenes.md 'Tile content'.",
        ),
    ] = "",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the contents of a non-empty OUTPUT_DIR that is not a tileset this "
            "command wrote (its files are deleted).",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="On error, show the traceback, not one line.")
    ] = False,
) -> None:
    """Tile a point file into OGC 3D Tiles 1.1 (tileset.json + GLB tiles) in OUTPUT_DIR.

    OUTPUT_DIR is replaced as a whole when the tileset is complete. A refused input prints
    one line, error: CODE: MESSAGE, and exits with status 2.
    """
    try:
        budget = parse_size(memory_budget)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--memory-budget") from exc
    attrs: str | tuple[str, ...] = attributes
    if attributes not in ("all", "rgb"):
        attrs = tuple(a.strip() for a in attributes.split(",") if a.strip())
    if compression not in COMPRESSIONS:
        raise typer.BadParameter(
            f"expected one of {', '.join(COMPRESSIONS)}", param_hint="--compression"
        )
    inline: str | tuple[str, ...] = tile_properties.strip()
    if inline != "all":
        inline = tuple(a.strip() for a in tile_properties.split(",") if a.strip())
    options = TilingOptions(
        memory_budget=budget,
        jobs=jobs,
        attributes=attrs,  # type: ignore[arg-type]
        compression=compression,
        tile_properties=inline,  # type: ignore[arg-type]
    )
    with one_line_errors(debug):
        check_input(input_path)
        check_output(input_path, output_dir, force=force)  # before any work
        started = time.perf_counter()
        summary = _run(input_path, output_dir, options, attrs)
        mark_output(output_dir, input_path)
    seconds = time.perf_counter() - started
    typer.echo(
        json.dumps(
            {
                "points": summary.points,
                "tiles": summary.tiles,
                "bytes": summary.bytes,
                "seconds": round(seconds, 2),
                "tileset": str(output_dir / "tileset.json"),
            }
        )
    )


def _run(
    input_path: Path, output_dir: Path, options: TilingOptions, attrs: str | tuple[str, ...]
) -> TilesetSummary:
    with Progress(TextColumn("{task.description:>10}"), BarColumn(), TimeElapsedColumn()) as bar:
        tasks = {stage: bar.add_task(stage, total=1.0) for stage in STAGES}

        def progress(stage: str, fraction: float) -> None:
            bar.update(tasks[stage], completed=fraction)

        source = partial(open_source, input_path, wanted_columns(attrs))
        return tile(source, output_dir, options, progress=progress)
