"""What many test files share: figures drawn off screen and closed after each test, the digits data;
the ``figures`` marker of the drawing tests, and the order in which pytest-xdist hands out the files."""

import types

import matplotlib

matplotlib.use("Agg")  # draw off screen, before anything imports pyplot

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lessons_lib.data import load_digits_classification  # noqa: E402

#: The drawing code. A test file that imports from it is a drawing test: hundreds of figures and
#: widget redraws in all, tens of seconds. Its tests are marked ``figures``; the quick command leaves them out.
DRAWING = "lessons_lib.figures"


def imports_drawing_code(module: types.ModuleType) -> bool:
    """True if a test module holds a module, function or class of ``lessons_lib.figures``."""
    def is_drawing(value: object) -> bool:
        name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        return isinstance(name, str) and (name == DRAWING or name.startswith(DRAWING + "."))

    return any(is_drawing(value) for value in vars(module).values())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of the drawing test files ``figures`` (before ``-m`` selects)."""
    drawing: dict[str, bool] = {}
    for item in items:
        module = getattr(item, "module", None)  # None for nbval's notebook cells
        if module is not None:
            if module.__name__ not in drawing:
                drawing[module.__name__] = imports_drawing_code(module)
            if drawing[module.__name__]:
                item.add_marker(pytest.mark.figures)


class SlowFilesFirst:
    """A plugin: orders the test files longest first, each file's tests kept together and in order.

    First the files that hold a test marked ``slow`` (grading a class, the browser, the notebooks),
    then the drawing tests (``figures``: a few seconds a file), then the rest (a second or less).
    With ``-n 2 --dist loadfile --no-loadscope-reorder`` (see pyproject.toml), xdist hands out
    whole files in this order, so the long ones start at once and the short ones fill the gaps at
    the end: both workers finish together. The order depends on the collected tests only, so
    every worker collects the same list, as xdist requires.
    """

    @pytest.hookimpl(trylast=True)  # after -m has selected, and the markers are set
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        rank: dict = {}
        for item in items:
            weight = 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("figures") else 2
            rank[item.path] = min(rank.get(item.path, 2), weight)
        items.sort(key=lambda item: rank[item.path])  # stable: the order within each group stays


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SlowFilesFirst(), "slow-files-first")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every pyplot figure a test leaves open."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def digits():
    """The digits data split with seed 0 (loading it takes a moment: once per test run)."""
    return load_digits_classification(seed=0)
