"""The live widgets on a projector: 1280 × 720 at 150 % (853 × 480 CSS pixels), file browser closed.

One JupyterLab server (as in ``test_browser.py``: 127.0.0.1, a token, the course's settings)
serves a notebook written for this test, one cell per widget that needs no lesson data
(the playground, the races, the explorers, the schedule shaper): it runs in seconds,
where the lessons would take minutes. Headless Chromium shows it at 853 × 480 CSS pixels,
device scale 1.5, the left sidebar closed. For each widget the test fails when

* it is wider than the notebook's column;
* a slider's value (its readout), a dropdown or a label is cut or outside the column;
* less than all of its picture is on screen while its first slider has focus
  (the browser scrolls the slider into view, as when an instructor clicks it).

Screenshots: ``tests/artifacts/projector-<n>.png``, with the first slider focused.
"""

from __future__ import annotations

import json

import pytest
from test_browser import (ALL_CELLS_RUN, ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, KERNEL_QUESTION, KERNEL_READY,
                          pytestmark, serve_jupyterlab)  # noqa: F401 (pytestmark: browser, slow, skip without one)

VIEWPORT, SCALE = {"width": 853, "height": 480}, 1.5

#: One cell per widget: (name, code). Defaults everywhere: what matters here is the layout.
WIDGETS = [
    ("playground", "from lessons_lib.figures.playground import Playground\nPlayground(surface='valley').panel"),
    ("LearningRateExplorer", "from lessons_lib.figures.lesson01_gradient_descent import LearningRateExplorer\n"
                             "from lessons_lib.surfaces import get_surface\n"
                             "LearningRateExplorer(get_surface('valley')).panel"),
    ("MomentumRace", "from lessons_lib.figures.lesson03_momentum import MomentumRace\nMomentumRace().panel"),
    ("AdaptiveRace", "from lessons_lib.figures.lesson04_adagrad_rmsprop import AdaptiveRace\nAdaptiveRace().panel"),
    ("SignalToNoise", "from lessons_lib.figures.lesson05_adam import SignalToNoise\nSignalToNoise().panel"),
    ("AdamRace", "from lessons_lib.figures.lesson05_adam import AdamRace\nAdamRace().panel"),
    ("EWMAExplorer", "from lessons_lib.figures.lesson06_bias_correction import EWMAExplorer\nEWMAExplorer().panel"),
    ("DecayRace", "from lessons_lib.figures.lesson07_adamw import DecayRace\nDecayRace().panel"),
    ("ScheduleShaper", "from lessons_lib.figures.lesson08_training import ScheduleShaper\nScheduleShaper().panel"),
    ("VariantRace", "from lessons_lib.figures.lesson09_beyond_adam import VariantRace\nVariantRace().panel"),
]

#: JavaScript, given the widget's index: scroll it to the top, measure it, focus its first slider, and say how
#: much of its picture is then on screen (within the notebook's scrolling area and the window).
MEASURE = r"""
async ([index]) => {
  const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .filter(o => o.querySelector('img.widget-image'));
  const output = outputs[index], root = output.querySelector('.jupyter-widgets');
  root.scrollIntoView({block: 'start'});
  await new Promise(r => setTimeout(r, 200));
  const column = output.getBoundingClientRect(), box = root.getBoundingClientRect();
  const shown = e => e.offsetParent !== null;
  const cut = Array.from(root.querySelectorAll('.widget-readout, select, .widget-label')).filter(shown)
    .filter(e => { const b = e.getBoundingClientRect();
      return e.scrollWidth > e.clientWidth + 1 || b.right > column.right + 1 || b.right > window.innerWidth; })
    .map(e => (e.innerText || e.value || '').slice(0, 30));
  const handle = Array.from(root.querySelectorAll('.noUi-handle')).filter(shown)[0];
  handle.focus();
  await new Promise(r => setTimeout(r, 300));
  const scroller = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const area = scroller.getBoundingClientRect();
  const picture = output.querySelector('img.widget-image').getBoundingClientRect();
  const top = Math.max(picture.top, area.top, 0), bottom = Math.min(picture.bottom, area.bottom, window.innerHeight);
  return {width: Math.round(box.width), height: Math.round(box.height), column: Math.round(column.width),
          cut: cut, picture_shown: Math.max(0, bottom - top) / picture.height,
          picture: [Math.round(picture.width), Math.round(picture.height)]};
}"""


def write_notebook(path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": code}
             for _, code in WIDGETS]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1))


@pytest.fixture(scope="module")
def measurements(tmp_path_factory):
    """Each widget's measurements at 853 × 480, from one JupyterLab server and one run of the notebook."""
    root, logs = tmp_path_factory.mktemp("projector"), tmp_path_factory.mktemp("projector-logs")
    write_notebook(root / "widgets.ipynb")
    ARTIFACTS.mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    with serve_jupyterlab(root, logs, "projector-test") as (url, token):
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                user_data_dir=str(logs / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport=VIEWPORT, device_scale_factor=SCALE,
            )
            page = context.new_page()
            try:
                page.goto(f"{url}/lab/tree/widgets.ipynb?token={token}")
                page.wait_for_selector(".jp-Notebook", timeout=60000)
                page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands", timeout=60000)
                if page.wait_for_function(f"() => document.querySelector('{KERNEL_QUESTION}') ? 'asked' : "
                                          f"{KERNEL_READY}", timeout=60000).json_value() == "asked":
                    page.locator(KERNEL_QUESTION).click()
                    page.wait_for_function(f"() => {KERNEL_READY}", timeout=60000)
                if not page.evaluate("() => window.jupyterapp.shell.leftCollapsed"):  # Ctrl+B: file browser closed
                    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
                page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
                page.wait_for_function(f"() => {{ try {{ return {ALL_CELLS_RUN}; }} catch (e) {{ return false; }} }}",
                                       timeout=120000)
                page.wait_for_function(  # every widget drawn, with its picture decoded
                    "n => { const outputs = Array.from("
                    "document.querySelectorAll('.jp-OutputArea-output img.widget-image'));"
                    " return outputs.length === n && outputs.every(i => i.complete && i.naturalWidth > 0); }",
                    arg=len(WIDGETS), timeout=60000)
                errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                assert errors.count() == 0, errors.first.inner_text()
                found = {}
                for index, (name, _) in enumerate(WIDGETS):
                    found[name] = page.evaluate(MEASURE, [index])
                    page.screenshot(path=str(ARTIFACTS / f"projector-{index:02d}-{name}.png"))
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "projector-failure.png"))
                raise
            finally:
                context.close()
    print("\nprojector (853 x 480 CSS px, scale 1.5):")
    for name, seen in found.items():
        print(f"  {name:<22} {seen['width']} x {seen['height']} px in a {seen['column']} px column, "
              f"picture {seen['picture'][0]} x {seen['picture'][1]}, {100 * seen['picture_shown']:.0f} % shown "
              f"with the first slider focused")
    return found


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widget_fits_the_column_with_every_value_readable(measurements, name):
    seen = measurements[name]
    assert seen["width"] <= seen["column"], seen
    assert seen["cut"] == [], f"{name}: cut or outside the column: {seen['cut']}"


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widgets_picture_is_on_screen_while_its_first_slider_has_focus(measurements, name):
    assert measurements[name]["picture_shown"] > 0.99, measurements[name]
