"""The course-wide figure style (lessons_lib/figures/style.py) is the only place sizes are set.

Figure code types no font size and no resolution, and no figure is wider than ``style.WIDTH``;
the stored figures of every notebook fit the column they are shown in.
"""

from __future__ import annotations

import ast
import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from lessons_lib.figures import style

FIGURES = Path(style.__file__).parent
MODULES = sorted(p for p in FIGURES.glob("*.py") if p.name != "style.py")
NOTEBOOKS = sorted(Path(__file__).parents[1].glob("notebooks/*.ipynb"))


def keyword_problems(path: Path) -> list[str]:
    """Calls in ``path`` that set a font size or a resolution, or a figure size wider than WIDTH."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            where = f"{path.name}:{node.lineno}"
            if keyword.arg in ("fontsize", "size", "dpi") and isinstance(keyword.value, ast.Constant):
                problems.append(f"{where}: {keyword.arg}={keyword.value.value!r} (the style sets it)")
            if keyword.arg == "figsize" and isinstance(keyword.value, ast.Tuple):
                width = keyword.value.elts[0]
                if isinstance(width, ast.Constant) and width.value > style.WIDTH:
                    problems.append(f"{where}: figsize width {width.value} > style.WIDTH = {style.WIDTH}")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_figure_code_leaves_sizes_to_the_style(path: Path) -> None:
    assert keyword_problems(path) == []


def stored_png_widths(notebook: Path) -> list[tuple[int, int]]:
    """(cell index, width in CSS pixels) of every stored PNG: its ``width`` metadata, else its pixels."""
    widths = []
    for index, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get("image/png")
            if data is None:
                continue
            shown = output.get("metadata", {}).get("image/png", {}).get("width")
            if shown is None:
                shown = Image.open(io.BytesIO(base64.b64decode(data))).width
            widths.append((index, int(shown)))
    return widths


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_figures_fit_the_column(notebook: Path) -> None:
    widest = style.WIDTH * style.DPI + 40  # "tight" saving may add a legend beside the axes
    assert [(cell, width) for cell, width in stored_png_widths(notebook) if width > widest] == []
