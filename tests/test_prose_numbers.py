"""Numbers in the prose come from the outputs (lessons_lib/tooling/prose_numbers.py).

Every number a lesson's markdown states must be printed by a cell near its sentence (a recap, such
as the summary, may recall any output above it) or, for settings such as η = 0.1, be written in its
code. Re-executing a notebook whose numbers moved fails here until the
prose says the new numbers. What is neither printed nor computed is listed below, once per
notebook, with the reason it needs no output.
"""

import json
from pathlib import Path

import pytest

from lessons_lib.tooling.prose_numbers import notebook_sources, prose_numbers

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))

#: notebook → {number as the prose writes it: why it needs no output}
NOT_MEASURED: dict[str, dict[str, str]] = {
    "02_stochastic_gradients.ipynb": {
        "45": "the steps of an epoch (B = 8 on the training set), a setting printed in section 3",
    },
    "06_bias_correction.ipynb": {
        "359": "the size of the test set, printed in section 4",
    },
    "07_adamw.ipynb": {
        "ten": "1/(1 − β) for β = 0.9, the arithmetic in the sentence",
        "1078": "the size of the training set (lesson 08's digits), a fact of the data",
    },
    "08_training.ipynb": {
        "2410": "the network's number of parameters, printed in section 1",
        "170": "5 epochs × 34 minibatches: the number of updates, a setting printed in section 2",
        "360": "the size of the validation set, printed in section 1",
        "102": "3 epochs × 34 minibatches: the lab's number of updates (a setting)",
    },
    "09_beyond_adam.ipynb": {
        "170": "lesson 08's number of updates, printed there",
    },
    "01_gradient_descent.ipynb": {
        "0.99": "a setting: the cell runs η at 0.99 and 1.01 times the limit 2/λ_max",
    },
    "05_adam.ipynb": {
        "1.11": "β₂/β₁ = 0.999/0.9, the arithmetic of the defaults in the sentence",
        "a hundred": "by construction: without noise a's gradient is 1 and b's 0.01 (the lab's settings)",
        "32": "1/√(1 − β) for β = 0.999, the formula in the sentence (31.6)",
    },
    "10_playground.ipynb": {
        "1000": "the horizon (steps) at which tests/test_claims_lesson10.py re-checks the race",
    },
    "11_modern_optimizers.ipynb": {
        "510": "2 × 255: values below half a level of the 8-bit code round to 0 (arithmetic)",
        "68": "4 epochs × 17 minibatches of 64: the race's number of updates (a setting)",
        "359": "the size of the test set (lesson 08's digits), a fact of the data",
        "30 000": "the horizon at which tests/test_claims_lesson11.py re-checks the sentence",
    },
    "12_tuning_in_practice.ipynb": {
        "7500": "the horizon (steps) at which tests/test_claims_lesson12.py re-checks the edge of stability",
        "2410": "the network's number of parameters (lesson 08's network), a fact of the model",
        "50": "1/(1 − β) for β = 0.98, the arithmetic in the sentence",
    },
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_number_in_the_prose_has_a_source(path):
    sources = notebook_sources(json.loads(path.read_text(encoding="utf-8")))
    allowed = NOT_MEASURED.get(path.name, {})
    missing = [n for n in sources.unmatched() if n.text not in allowed]
    assert not missing, f"{path.name}: numbers in the prose that no output prints:\n" + "\n".join(
        f"  cell {n.cell}: {n.text!r}" + (" (measured: must be printed by a nearby cell)" if n.measured else "")
        for n in missing)
    stale = set(allowed) - {n.text for n in sources.unmatched()}
    assert not stale, f"{path.name}: NOT_MEASURED lists numbers that now have a source or are gone: {stale}"


@pytest.mark.parametrize("markdown, expected", [
    ("the gap is 0.039 at step 26", [0.039, 26.0]),
    ("from 7,080 points and 17 512 steps", [7080.0, 17512.0]),
    ("9.6e-7, 1.2 × 10⁻³ and 10⁻⁸", [9.6e-7, 1.2e-3, 1e-8]),
    ("80 % of the images", [80.0]),
    ("about thirty, tenfold, two hundred times", [30.0, 10.0, 200.0]),
    ("lesson 08, section 6.4, in 2014, the 2025–26 optimizers, 3 seeds", []),
    ("$\\eta = 0.37$ and `lr=0.37`", []),
])
def test_what_counts_as_a_number(markdown, expected):
    assert [n.value for n in prose_numbers(markdown)] == pytest.approx(expected)


def _notebook(prose: str, printed: str, between: int = 0) -> dict:
    cells = [{"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": printed}]}]
    cells += [{"cell_type": "code", "source": "", "outputs": []}] * between
    return {"cells": cells + [{"cell_type": "markdown", "source": prose}]}


@pytest.mark.parametrize("prose, printed, ok", [
    ("the largest gap is 0.039", "largest gap 0.0391", True),
    ("the largest gap is 0.039", "largest gap 0.0386", True),
    ("the largest gap is 0.039", "largest gap 0.0371", False),
    ("it stays below from step 49", "step 52", False),
    ("a factor of about thirty", "factor 10.0", False),
    ("a factor of about thirty", "factor 31.6", True),
    ("tenfold per step", "9.4x", False),
    ("80 % of the images", "accuracy 0.80", True),
    ("a loss of 9.6e-7", "9.63e-07", True),
    ("by a factor of 1.5 or more", "at least 1.55", True),
    ("by a factor of 1.5 or more", "at least 1.45", False),
    ("within 0.005 of it", "largest gap 0.004", True),
    ("within 0.005 of it", "largest gap 0.006", False),
    ("three hundred times shorter", "<Figure size 800x300 with 1 Axes>", False),  # a size states no result
])
def test_a_number_is_matched_at_the_precision_it_is_written(prose, printed, ok):
    assert (notebook_sources(_notebook(prose, printed)).unmatched() == []) is ok


def test_a_recap_may_recall_any_output_above_it():
    far = _notebook("the gap was 0.039", "gap 0.0391", between=9)
    assert notebook_sources(far).unmatched() != []
    far["cells"][-1]["source"] = "<!-- recap -->\nthe gap was 0.039"
    assert notebook_sources(far).unmatched() == []
    far["cells"][-1]["source"] = "## Summary\n\n- the gap was 0.039"
    assert notebook_sources(far).unmatched() == []


def test_a_measured_number_must_be_printed_near_its_sentence():
    assert notebook_sources(_notebook("about 31.6 times", "31.6", between=3)).unmatched() == []
    assert notebook_sources(_notebook("about 31.6 times", "31.6", between=9)).unmatched() != []
    # a setting stated without a qualifier may come from anywhere, code included
    assert notebook_sources(_notebook("with η = 0.37", "31.6", between=9)).unmatched() != []
