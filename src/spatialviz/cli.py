"""The `spatialviz` command line: serve, worker, migrate, demo, upload, tile, version."""

from __future__ import annotations

import typer

from spatialviz import __version__
from spatialviz.tiling.cli import tile_command

app = typer.Typer(
    help="Spatialviz: spatial datasets in, level-of-detail 3D Tiles out.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Spatialviz command line."""


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


app.command("tile")(tile_command)


def main() -> None:
    app()
