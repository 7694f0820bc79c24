"""The winner of a sweep, flagged when it lies on the edge of the grid.

A sweep tries a hyperparameter on a grid and keeps the value with the lowest score (a final loss,
a number of steps). When that value is the first or the last one tried, the sweep has found a
direction, not an optimum: the best value may lie beyond the grid, and comparing two optimizers
by their edge values compares the grids, not the optimizers. ``best_on_grid`` returns the winner
and prints a line with ``EDGE_FLAG`` in it whenever that happens, so a notebook cannot draw a
conclusion from an edge without saying so (tests/test_sweeps.py reads every notebook's outputs).

    i, = best_on_grid(final_losses, η=lrs)
    i, j = best_on_grid(steps_to_target, η=lrs, β=betas)
"""

from collections.abc import Sequence

import numpy as np

#: The words every flagged sweep prints; tests look for them in the notebooks' outputs.
EDGE_FLAG = "on the edge of the grid"


def best_on_grid(scores: Sequence | np.ndarray, **grids: Sequence[float]) -> tuple[int, ...]:
    """Index of the lowest score; prints a flag when it sits on the edge of a grid.

    ``scores`` has one axis per grid, in the order the grids are named; a score that is
    infinite or NaN (a run that diverged) never wins. A grid of a single value has no edge.
    """
    scores = np.asarray(scores, dtype=float)
    shape = tuple(len(values) for values in grids.values())
    if not grids or scores.shape != shape:
        raise ValueError(f"best_on_grid: scores of shape {scores.shape} do not match the grids "
                         f"{', '.join(grids) or '(none given)'} of lengths {shape}")
    finite = np.where(np.isfinite(scores), scores, np.inf)
    if np.all(np.isinf(finite)):
        raise ValueError("best_on_grid: every run of the sweep diverged (no finite score): "
                         "try smaller values")
    best = tuple(int(i) for i in np.unravel_index(np.argmin(finite), shape))
    for (name, values), i in zip(grids.items(), best):
        if len(values) > 1 and i in (0, len(values) - 1):
            end = "smallest" if i == 0 else "largest"
            print(f"⚠ best {name} = {values[i]:.3g} is {EDGE_FLAG} (the {end} value tried): "
                  f"the best may lie beyond it, so extend the grid before concluding")
    return best
