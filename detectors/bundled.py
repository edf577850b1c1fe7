"""Data files shipped inside the `detectors` package (package data, see pyproject.toml).

They are read through importlib.resources, never through paths relative to a source
checkout, so a wheel installed anywhere finds them. Callers that need a real file (a
size for a progress bar, a path to print) wrap them in `importlib.resources.as_file`,
which for an ordinary installed package is the file itself.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

# The 15,000 most downloaded PyPI projects with their rank (a snapshot): the critical
# set's default download source and the typosquat detector's default protected list.
TOP_PROJECTS: Traversable = files("detectors") / "data" / "top-pypi-projects.tsv"
