"""Repository-wide pytest configuration.

The nbval bridge: nbdev-clean keeps cell outputs but sets every `execution_count` to null,
and nbval refuses such cells ("Unrun reference cell has outputs"). Here, for nbval items, a
cell with stored outputs counts as run (so its outputs are compared), and the cells that nbdev
itself does not run (`#| eval: false`, or a test flag from `tst_flags` such as `#| slow`) are
skipped, so nbval and nbdev-test agree on what runs.
"""
import os, re, tomllib
from pathlib import Path

import pytest

# JAX on a machine with a GPU but CPU-only jaxlib prints a warning that nbval would count as output.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

_ROOT = Path(__file__).parent
_flags = tomllib.loads((_ROOT / "pyproject.toml").read_text())["tool"]["nbdev"].get("tst_flags", "notest").split()
_SKIP = re.compile(r"^#\|\s*(?:eval:\s*false|" + "|".join(map(re.escape, _flags)) + r")\s*$")


def _directives(source):
    "The leading `#|` lines of a cell: nbdev reads directives only there."
    out = []
    for line in source.splitlines():
        if not line.startswith("#|"): break
        out.append(line.strip())
    return out


def pytest_collection_modifyitems(config, items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not hasattr(item, "options"): continue   # not an nbval cell
        if any(_SKIP.match(d) for d in _directives(cell.source)):
            item.add_marker(pytest.mark.skip(reason="cell marked for nbdev not to run"))
        elif cell.get("execution_count") is None and cell.get("outputs"):
            cell["execution_count"] = 1   # nbdev-clean nulls the count; the outputs are real
