"""Sweeps never pick an edge silently: ``best_on_grid`` flags it, and no notebook prints the flag
unless its lesson is about exactly that (listed below, with the reason)."""

import json
from pathlib import Path

import numpy as np
import pytest

from lessons_lib.sweeps import EDGE_FLAG, best_on_grid

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))

#: Notebook → why a flagged sweep is shown on purpose (the lesson then extends the grid).
EDGE_SHOWN_ON_PURPOSE: dict[str, str] = {}


def test_interior_best_is_returned_without_a_flag(capsys):
    assert best_on_grid([3.0, 1.0, 2.0], η=[0.1, 0.3, 1.0]) == (1,)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("scores, end", [([1.0, 2.0, 3.0], "smallest"), ([3.0, 2.0, 1.0], "largest")])
def test_an_edge_is_flagged_with_its_value(capsys, scores, end):
    best = best_on_grid(scores, η=[0.1, 0.3, 1.0])
    out = capsys.readouterr().out
    assert EDGE_FLAG in out and end in out and "η" in out
    assert best == ((0,) if end == "smallest" else (2,))


def test_two_grids_flag_only_the_edge_axis(capsys):
    scores = np.array([[5.0, 4.0, 5.0], [4.0, 0.5, 4.0], [6.0, 6.0, 0.1]])
    assert best_on_grid(scores, η=[1, 2, 3], β=[0.1, 0.5, 0.9]) == (2, 2)
    out = capsys.readouterr().out
    assert "η = 3" in out and "β = 0.9" in out
    scores[2, 2] = 9.0
    assert best_on_grid(scores, η=[1, 2, 3], β=[0.1, 0.5, 0.9]) == (1, 1)
    assert capsys.readouterr().out == ""


def test_diverged_runs_never_win(capsys):
    assert best_on_grid([np.inf, np.nan, 2.0, 3.0], η=[1, 2, 3, 4]) == (2,)
    with pytest.raises(ValueError, match="every run of the sweep diverged"):
        best_on_grid([np.inf, np.nan], η=[1, 2])


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="do not match the grids"):
        best_on_grid([1.0, 2.0], η=[1, 2, 3])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_concludes_from_an_edge(path):
    texts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", "")))
    flagged = [t for t in texts if EDGE_FLAG in t]
    if path.name in EDGE_SHOWN_ON_PURPOSE:
        assert flagged, f"{path.name} is listed as showing an edge on purpose, but prints no flag"
    else:
        assert not flagged, f"{path.name} prints a sweep whose best value is on the edge of its grid:\n{flagged[0]}"
