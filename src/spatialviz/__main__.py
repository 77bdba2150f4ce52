"""``python -m spatialviz`` is the ``spatialviz`` command."""

from spatialviz.cli import main

if __name__ == "__main__":
    main()
