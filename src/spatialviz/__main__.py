"""``python -m spatialviz`` is the ``spatialviz`` command."""

from spatialviz.cli import main

main()
