"""The lessons and their live widgets on a projector: 1280 × 720 at 150 % (853 × 480 CSS pixels),
file browser closed.

Every lesson, as stored (its outputs, no kernel: nbval checks that they are what a run gives), opened
in JupyterLab at that size, fails when

* a code cell is cut at the right edge (long lines must wrap: the course's settings);
* a display equation or a table of its prose is wider than the notebook's column;
* its figures' 12-pt text (the course's style) is shown smaller than 18 device pixels.

One JupyterLab server (as in ``test_browser.py``: 127.0.0.1, a token, the course's settings)
serves a notebook written for this test, one cell per widget that needs no lesson data
(the playground, the races, the explorers, the labs, the schedule shapers): it runs in seconds,
where the lessons would take minutes. Headless Chromium shows it at 853 × 480 CSS pixels,
device scale 1.5, the left sidebar closed. For each widget the test fails when

* it is wider than the notebook's column;
* a slider's value (its readout), a dropdown or a label is cut or outside the column;
* its picture's 12-pt text is shown smaller than 16 device pixels;
* less than all of its picture is on screen while its first slider has focus
  (the browser scrolls the slider into view, as when an instructor clicks it);
* its picture and its last slider (for the playground: on its open tab's page) do not fit on
  screen together;
* a tab's label is cut.

Screenshots: ``tests/artifacts/projector-<n>.png``, with the first slider focused.
"""

from __future__ import annotations

import json
import shutil

import pytest
from test_browser import (ALL_CELLS_RUN, ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, KERNEL_QUESTION, KERNEL_READY, REPO,
                          SETTINGS, pytestmark, serve_jupyterlab)  # noqa: F401 (pytestmark: browser, slow, skip)

LESSONS = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))

#: The smallest the figures' 12-pt text may be shown, in device pixels (at 150 %: 12 CSS pixels).
SMALLEST_TEXT = 18
#: The same for a widget's live picture, which shares the window's 480 CSS pixels of height with its
#: controls and so may be scaled down a little more (drawn at 200 pixels per inch, shown at 100).
SMALLEST_LIVE_TEXT = 16

#: JavaScript: the notebook panel open on a path.
PANEL = "n => Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === n)"

#: JavaScript, given a lesson's panel (every cell rendered): what does not fit the column. A figure's
#: 12-pt text is 12/72 inch, 16.7 CSS pixels at the 100 pixels per inch a figure is drawn for (its
#: ``width``, or its natural width), so 25 device pixels at 150 %, times the scale it is shown at.
MEASURE_LESSON = r"""
panel => {
  const node = panel.content.node, cells = Array.from(node.querySelectorAll('.jp-Cell'));
  const column = node.querySelector('.jp-MarkdownCell .jp-RenderedMarkdown').getBoundingClientRect();
  const cellOf = e => cells.indexOf(e.closest('.jp-Cell'));
  const wide = e => e.getBoundingClientRect().right > column.right + 1 || e.scrollWidth > e.clientWidth + 1;
  const text = Array.from(node.querySelectorAll('.jp-OutputArea-output img')).map(i =>
    25 * i.getBoundingClientRect().width / (Number(i.getAttribute('width')) || i.naturalWidth));
  return {column: Math.round(column.width), code: node.querySelectorAll('.jp-CodeCell').length,
          code_cut: Array.from(node.querySelectorAll('.jp-CodeCell .cm-scroller')).filter(wide).map(cellOf),
          math_wide: Array.from(node.querySelectorAll('mjx-container[display="true"]')).filter(wide).map(cellOf),
          tables_wide: Array.from(node.querySelectorAll('.jp-RenderedMarkdown table')).filter(wide).map(cellOf),
          figures: text.length, smallest_text: text.length ? Math.min(...text) : null};
}"""

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
    # The widgets that take a lesson's data, given small stand-ins (or the real digits, which load at once).
    ("AveragingLab", "import numpy as np\nfrom lessons_lib.figures.lesson02_stochastic_gradients import AveragingLab\n"
                     "noise = np.random.default_rng(0).normal(size=800)\n"
                     "AveragingLab(noise + np.repeat([1.0, 0.0], 400), np.repeat([1.0, 0.0], 400), beta=0.9,\n"
                     "             title='one coordinate of minibatch gradients:\\nθ = 0, then θ = θ*').panel"),
    ("EarlyLossLab", "from lessons_lib.data import load_digits_classification\nfrom lessons_lib.mlp import MLP\n"
                     "from lessons_lib.figures.lesson06_bias_correction import EarlyLossLab\n"
                     "EarlyLossLab(MLP((64, 32, 10)), load_digits_classification(0), lr=0.03, epochs=2).panel"),
    ("LearningRateLab", "from lessons_lib.data import load_digits_classification\nfrom lessons_lib.mlp import MLP\n"
                        "from lessons_lib.optim import SGD, Adam\n"
                        "from lessons_lib.figures.lesson08_training import LearningRateLab\n"
                        "LearningRateLab(MLP((64, 32, 10)), load_digits_classification(0),\n"
                        "                {'SGD': lambda lr: SGD(lr=lr), 'Adam': lambda lr: Adam(lr=lr)},\n"
                        "                {'SGD': 0.3, 'Adam': 0.01}, rule='Adam', lr=0.3).panel"),
    ("RangeTestLab", "import numpy as np\nfrom lessons_lib.figures.lesson12_tuning import RangeTestLab\n"
                     "lrs = np.geomspace(1e-5, 10, 300)\n"
                     "losses = 2.3 - np.log1p(lrs / 1e-3) / 4 + (lrs / 0.3) ** 2\n"
                     "RangeTestLab(lrs, losses, lambda lrs, smooth, rule: float(lrs[np.argmin(smooth)]),\n"
                     "             ('minimum',), beta=0.98, tuned_lr=0.03).panel"),
    ("ClippingLab", "import numpy as np\nfrom lessons_lib.figures.lesson12_tuning import ClippingLab\n"
                    "ClippingLab(np.random.default_rng(0).lognormal(size=170), threshold=3.0).panel"),
    ("WSDShaper", "from lessons_lib.figures.lesson12_tuning import WSDShaper\n"
                  "def wsd(lr, total_steps, warmup_steps=0, decay_fraction=0.2, shape='linear'):\n"
                  "    start = round(total_steps * (1 - decay_fraction))\n"
                  "    return lambda t: lr * min((t + 1) / (warmup_steps + 1), 1,\n"
                  "                              max(0.0, (total_steps - t) / (total_steps - start)))\n"
                  "WSDShaper(wsd, ('linear', 'cosine'), lr=0.03, total_steps=170).panel"),
]

#: JavaScript, given the widget's index: scroll it to the top, measure it, focus its first slider, and say how
#: much of its picture is then on screen (within the notebook's scrolling area and the window).
MEASURE = r"""
async ([index]) => {
  // two animation frames: the scroll or focus is laid out and painted
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .filter(o => o.querySelector('img.widget-image'));
  const output = outputs[index], root = output.querySelector('.jupyter-widgets');
  root.scrollIntoView({block: 'start'});
  await frames();
  const column = output.getBoundingClientRect(), box = root.getBoundingClientRect();
  const shown = e => e.offsetParent !== null;
  const cut = Array.from(root.querySelectorAll('.widget-readout, select, .widget-label, .lm-TabBar-tabLabel'))
    .filter(shown)
    .filter(e => { const b = e.getBoundingClientRect();
      return e.scrollWidth > e.clientWidth + 1 || b.right > column.right + 1 || b.right > window.innerWidth; })
    .map(e => (e.innerText || e.value || '').slice(0, 30));
  const handles = Array.from(root.querySelectorAll('.noUi-handle')).filter(shown);
  const scroller = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const shownWith = async handle => {  // the share of the picture on screen while this slider has focus
    root.scrollIntoView({block: 'start'});
    handle.focus();
    await frames();
    const area = scroller.getBoundingClientRect();
    const picture = output.querySelector('img.widget-image').getBoundingClientRect();
    const top = Math.max(picture.top, area.top, 0);
    const bottom = Math.min(picture.bottom, area.bottom, window.innerHeight);
    return Math.max(0, bottom - top) / picture.height;
  };
  const first = await shownWith(handles[0]);
  // The last slider: focus it (a tab's page scrolls it into its own view), then ask whether it and the
  // picture fit on screen together, as when an instructor scrolls to it (focus would also centre it).
  const lastHandle = handles[handles.length - 1];
  lastHandle.focus();
  await frames();
  const h = lastHandle.getBoundingClientRect(), p = output.querySelector('img.widget-image').getBoundingClientRect();
  const span = Math.max(p.bottom, h.bottom) - Math.min(p.top, h.top);
  const last = scroller.getBoundingClientRect().height / span;
  const picture = output.querySelector('img.widget-image').getBoundingClientRect();
  return {width: Math.round(box.width), height: Math.round(box.height), column: Math.round(column.width),
          cut: cut, picture_shown: first, picture_shown_last: last,
          picture: [Math.round(picture.width), Math.round(picture.height)],
          text: 25 * picture.width / (output.querySelector('img.widget-image').naturalWidth / 2)};
}"""


def write_notebook(path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": code}
             for _, code in WIDGETS]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1))


def measure_lessons(page) -> dict:
    """Open each lesson (no kernel), wait until every cell, figure and equation is drawn, and measure it."""
    measured = {}
    for name in LESSONS:
        page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: p, kernelPreference: {shouldStart: false}}).then(() => true)", name)
        page.wait_for_function(f"n => !!({PANEL})(n)", arg=name, timeout=60000)
        page.evaluate(f"n => ({PANEL})(n).context.ready.then(() => true)", name)
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # Ctrl+B: the file browser closed
        page.wait_for_function(
            f"n => {{ const w = ({PANEL})(n), node = w.content.node;"
            " return w.content.widgets.length === w.context.model.cells.length"
            " && node.querySelectorAll('.jp-Cell').length === w.content.widgets.length"
            " && node.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown').length"
            "    === w.content.widgets.filter(c => c.model.type === 'markdown').length"
            " && !node.querySelector('mjx-container:empty')"
            " && Array.from(node.querySelectorAll('img')).every(i => i.complete && i.naturalWidth > 0); }",
            arg=name, timeout=60000)
        measured[name] = page.evaluate(f"n => ({MEASURE_LESSON})(({PANEL})(n))", name)
        assert measured[name]["column"] > 600, f"{name}: the file browser is still open: {measured[name]}"
        page.evaluate(f"n => ({PANEL})(n).content.node.querySelector('.jp-OutputArea-output img')"
                      "?.scrollIntoView({block: 'start'})", name)
        page.screenshot(path=str(ARTIFACTS / f"projector-lesson-{name[:2]}.png"))
        page.evaluate("() => window.jupyterapp.commands.execute('application:close-all').then(() => true)")
    return measured


@pytest.fixture(scope="module")
def measurements(tmp_path_factory):
    """Each lesson's and each widget's measurements at 853 × 480, from one JupyterLab server: the lessons
    as stored, then one run of a notebook of the widgets."""
    root, logs = tmp_path_factory.mktemp("projector"), tmp_path_factory.mktemp("projector-logs")
    write_notebook(root / "widgets.ipynb")
    for name in LESSONS:
        shutil.copy(REPO / "notebooks" / name, root / name)
    settings = tmp_path_factory.mktemp("projector-settings")  # the course's, with every cell drawn at once
    overrides = json.loads((SETTINGS / "overrides.json").read_text())
    overrides.setdefault("@jupyterlab/notebook-extension:tracker", {})["windowingMode"] = "none"
    (settings / "overrides.json").write_text(json.dumps(overrides))
    ARTIFACTS.mkdir(exist_ok=True)
    from playwright.sync_api import sync_playwright

    with serve_jupyterlab(root, logs, "projector-test", settings) as (url, token):
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                user_data_dir=str(logs / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport=VIEWPORT, device_scale_factor=SCALE,
            )
            page = context.new_page()
            try:
                page.goto(f"{url}/lab?token={token}")
                page.wait_for_function("() => window.jupyterapp && ['docmanager:open', 'application:close-all']"
                                       ".every(c => window.jupyterapp.commands.hasCommand(c))", timeout=60000)
                lessons = measure_lessons(page)
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:open', "
                              "{path: 'widgets.ipynb', activate: true}).then(() => true)")
                page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                                       " return !!w && !!w.context && w.context.path === 'widgets.ipynb'; }",
                                       timeout=60000)
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
    print("\nprojector (853 x 480 CSS px, scale 1.5), lessons as stored:")
    for name, seen in lessons.items():
        text = "-" if seen["smallest_text"] is None else f"{seen['smallest_text']:.1f}"
        print(f"  {name:<30} {seen['column']} px column; code cells cut {len(seen['code_cut'])} of {seen['code']};"
              f" equations too wide {len(seen['math_wide'])}, tables {len(seen['tables_wide'])};"
              f" {seen['figures']} figures, 12-pt text at {text} device px or more")
    print("widgets, run:")
    for name, seen in found.items():
        print(f"  {name:<22} {seen['width']} x {seen['height']} px in a {seen['column']} px column, "
              f"picture {seen['picture'][0]} x {seen['picture'][1]} (12-pt text at {seen['text']:.1f} device px), "
              f"{100 * seen['picture_shown']:.0f} % shown "
              f"with the first slider focused; it and the last fit together: {seen['picture_shown_last'] >= 1}")
    return {**found, **lessons}


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widget_fits_the_column_with_every_value_readable(measurements, name):
    seen = measurements[name]
    assert seen["width"] <= seen["column"], seen
    assert seen["cut"] == [], f"{name}: cut or outside the column: {seen['cut']}"


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widgets_picture_is_on_screen_while_its_first_slider_has_focus(measurements, name):
    assert measurements[name]["picture_shown"] > 0.99, measurements[name]


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widgets_picture_and_its_last_slider_fit_on_screen_together(measurements, name):
    # The last slider shown: for the playground, one on its open tab's page, below the picture.
    assert measurements[name]["picture_shown_last"] >= 1, measurements[name]


@pytest.mark.parametrize("name", LESSONS)
def test_a_lessons_code_equations_and_tables_fit_the_column(measurements, name):
    seen = measurements[name]
    assert (seen["code_cut"], seen["math_wide"], seen["tables_wide"]) == ([], [], []), seen


@pytest.mark.parametrize("name", LESSONS)
def test_a_lessons_figure_text_is_legible(measurements, name):
    seen = measurements[name]
    assert seen["smallest_text"] is None or seen["smallest_text"] >= SMALLEST_TEXT, seen


@pytest.mark.parametrize("name", [name for name, _ in WIDGETS])
def test_a_widgets_picture_text_is_legible(measurements, name):
    assert measurements[name]["text"] >= SMALLEST_LIVE_TEXT, measurements[name]
