"""What many test files share: figures drawn off screen and closed after each test, and the digits data."""

import matplotlib

matplotlib.use("Agg")  # draw off screen, before anything imports pyplot

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lessons_lib.data import load_digits_classification  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Close every pyplot figure a test leaves open."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def digits():
    """The digits data split with seed 0 (loading it takes a moment: once per test run)."""
    return load_digits_classification(seed=0)
