"""End to end, in a real JupyterLab in headless Chromium: the playground as a learner uses it, and the
lessons and their live widgets on a projector.

One JupyterLab server on 127.0.0.1, with a token, over a temporary folder (the repository's files are never
touched): a copy of every lesson, and a notebook written for this test with one cell per widget. It runs with
the course's settings (``jupyter-settings/overrides.json``, as the README's first command uses them: no
"official Jupyter news" question over the lesson, long code lines wrapped). One Chromium, Debian's
(``apt-get install chromium``), driven by Playwright's Python package with ``executable_path``
(Playwright's own browser download is not used), shows two pages, each in its own browser context:

* the learner's, 1400 × 1000 CSS pixels, on a copy of ``notebooks/10_playground.ipynb``;
* the projector's, 1280 × 720 at 150 % (853 × 480 CSS pixels), file browser closed, every cell drawn at
  once (JupyterLab's ``windowingMode`` "none": a user setting, saved after the learner's page has read the
  course's settings, so only the projector's page has it).

Both notebooks' kernels run all their cells while the projector's page measures the lessons.

The playground: after every cell has run, the test changes the surface dropdown and a learning-rate
slider, and asserts that the live figure changed each time, and that JupyterLab asked no question about
Jupyter news and wraps long code lines. It saves screenshots to ``tests/artifacts/browser-*.png`` and prints
the latency it saw, from the change in the page to a new image decoded in it.

The projector: every lesson, as stored (its outputs, no kernel: nbval checks that they are what a run gives),
opened in JupyterLab at that size, fails when

* a code cell is cut at the right edge (long lines must wrap: the course's settings);
* a display equation or a table of its prose is wider than the notebook's column;
* its figures' 12-pt text (the course's style) is shown smaller than 18 device pixels.

The widgets' notebook has one cell per widget that needs no lesson data (the playground, the races, the
explorers, the labs, the schedule shapers): it runs in seconds, where the lessons would take minutes.
For each widget the test fails when

* it is wider than the notebook's column;
* a slider's value (its readout), a dropdown or a label is cut or outside the column;
* its picture's 12-pt text is shown smaller than 16 device pixels;
* less than all of its picture is on screen while its first slider has focus
  (the browser scrolls the slider into view, as when an instructor clicks it);
* its picture and its last slider (for the playground: on its open tab's page) do not fit on
  screen together;
* a tab's label is cut.

Screenshots: ``tests/artifacts/projector-<n>-<widget>.png``, with the widget's last slider focused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lessons_lib.surfaces import get_surface

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
SETTINGS = REPO / "jupyter-settings"  # the course's JupyterLab settings, as the README's first command uses them
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - requirements.txt installs it
    sync_playwright = None

missing = []
if sync_playwright is None:
    missing.append("Playwright's Python package (pip install -r requirements.txt)")
if not Path(CHROMIUM).exists():
    missing.append("Chromium (apt-get install chromium)")
if missing and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test, but this machine lacks " + " and ".join(missing))
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bool(missing), reason="browser test needs " + " and ".join(missing))]

LIVE_IMAGE = "img.widget-image"
#: Milliseconds between two checks of a long wait's condition (a lesson drawn, the cells run). Playwright's default
#: checks at every animation frame, which keeps both pages drawing frames and running the check 60 times a second:
#: this file took about 10 % more CPU (95 against 85 CPU-seconds in three pairs of runs). The latency is still
#: measured at every frame (``wait_for_new_image``).
POLL_MS = 100
KERNEL_QUESTION = ".jp-Dialog .jp-mod-accept"
#: JavaScript: the notebook panel open on a path. (A page's notebooks are found by path, not as JupyterLab's
#: current widget: that follows the focus, which a page of a second browser context may not have.)
PANEL = "n => Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === n)"
#: JavaScript, given a notebook's path: true once its kernel is chosen and starting (JupyterLab holds cells sent
#: to it until it has started).
KERNEL_CHOSEN = f"n => ({PANEL})(n).sessionContext.isReady"
#: JavaScript, given a notebook's path: true once every non-empty code cell has an execution count again and
#: the kernel is idle.
ALL_CELLS_RUN = (f"n => {{ const panel = ({PANEL})(n);"
                 " const code = panel.content.widgets.filter(c => c.model.type === 'code'"
                 " && c.model.sharedModel.getSource().trim() !== '');"
                 " return code.length > 0 && code.every(c => c.model.executionCount !== null)"
                 " && panel.sessionContext.session?.kernel?.status === 'idle'; }")
#: JavaScript, given a notebook's path: true once none of its cells is running or waiting to run.
QUIET = f"n => ({PANEL})(n).content.widgets.every(c => c.model.executionState !== 'running')"
NEWS_QUESTION = "official Jupyter news"
STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"  # a traceback

LEARNER_VIEWPORT = {"width": 1400, "height": 1000}
VIEWPORT, SCALE = {"width": 853, "height": 480}, 1.5  # the projector's

LESSONS = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))

#: The smallest the figures' 12-pt text may be shown, in device pixels (at 150 %: 12 CSS pixels).
SMALLEST_TEXT = 18
#: The same for a widget's live picture, which shares the window's 480 CSS pixels of height with its
#: controls and so may be scaled down a little more (drawn at 200 pixels per inch, shown at 100).
SMALLEST_LIVE_TEXT = 16

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Server:
    """A JupyterLab server process, its address and token."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def wait_until_answering(self, timeout: float = 60) -> None:
        """Return once the server answers; raise with its log if it does not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("JupyterLab did not start:\n" + self.log.read_text()[-3000:])
                time.sleep(0.1)

    def save_user_setting(self, plugin: str, values: dict) -> None:
        """Save ``values`` as the user's settings of a JupyterLab plugin (pages loaded afterwards read them)."""
        request = urllib.request.Request(
            f"{self.url}/lab/api/settings/{plugin}?token={self.token}", method="PUT",
            data=json.dumps({"raw": json.dumps(values)}).encode(), headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10)


@contextlib.contextmanager
def serve_jupyterlab(root: Path, logs: Path, name: str):
    """JupyterLab on 127.0.0.1 over ``root``, with the course's settings and a token;
    yields its ``Server`` at once, while it starts (``Server.wait_until_answering``), and stops it afterwards.

    Its configuration, runtime files and user settings are in ``logs``, so nothing of the user's is read or
    written.
    """
    port, token = free_port(), f"{name}-" + os.urandom(8).hex()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.app_settings_dir={SETTINGS}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabServerApp.extension_manager=readonly", "--ServerApp.allow_root=True",
    ]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(logs / "config"), "JUPYTER_RUNTIME_DIR": str(logs / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(logs / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(logs / "workspaces")}
    with open(logs / "server.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        try:
            yield Server(f"http://127.0.0.1:{port}", token, process, logs / "server.log")
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def screenshot_on_failure(page, name: str):
    """Save a screenshot of ``page`` to ``tests/artifacts/<name>`` if the block raises."""
    try:
        yield
    except Exception:
        page.screenshot(path=str(ARTIFACTS / name))
        raise


def write_notebook(path: Path) -> None:
    """The widgets' notebook: one cell per widget of ``WIDGETS``."""
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": code}
             for _, code in WIDGETS]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook, indent=1))


def run_all_cells(page, path: str) -> None:
    """Start running every cell of the notebook open on ``path`` (not awaited), once its kernel is chosen.

    JupyterLab may first ask which kernel to start (a fresh profile has no preference): take the default.
    Waits for whichever comes first, that question or the kernel chosen, rather than for the question.
    """
    if page.wait_for_function(f"n => document.querySelector('{KERNEL_QUESTION}') ? 'asked' : ({KERNEL_CHOSEN})(n)",
                              arg=path, timeout=60000, polling=POLL_MS).json_value() == "asked":
        page.locator(KERNEL_QUESTION).click()
        page.wait_for_function(KERNEL_CHOSEN, arg=path, timeout=60000, polling=POLL_MS)
    page.evaluate(f"n => {{ window.jupyterapp.commands.execute('notebook:run-all-cells',"
                  f" {{widgetId: ({PANEL})(n).id}}); }}", path)


def load_the_playground(page, server: Server) -> None:
    """Start loading JupyterLab on the playground in the learner's page; return once the page has every plugin's
    settings (JupyterLab reads them all in one request as it starts)."""
    every_setting = f"{server.url}/lab/api/settings?"  # not "?ids_only=true", which has no values
    with page.expect_response(lambda answer: answer.url.startswith(every_setting) and "ids_only" not in answer.url,
                              timeout=60000) as settings:
        page.goto(f"{server.url}/lab/tree/playground.ipynb?token={server.token}")
    assert settings.value.ok, settings.value.status


def start_the_playground(page) -> None:
    """In the learner's page: once the playground is open (its kernel starting), clear what its file stores and
    start running every cell."""
    page.wait_for_selector(".jp-Notebook", timeout=60000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands", timeout=60000, polling=POLL_MS)
    page.wait_for_function(f"n => !!({PANEL})(n)", arg="playground.ipynb", timeout=60000, polling=POLL_MS)
    windowing = page.evaluate(f"n => ({PANEL})(n).content.notebookConfig.windowingMode", "playground.ipynb")
    assert windowing != "none", "the learner's page has the projector's setting"
    # Fresh outputs only: clear what the file stores (awaited), then run every cell (not awaited).
    page.evaluate(f"async n => {{ await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs',"
                  f" {{widgetId: ({PANEL})(n).id}}); }}", "playground.ipynb")
    run_all_cells(page, "playground.ipynb")


def start_the_widgets(page, server: Server) -> None:
    """Open the widgets' notebook in the projector's page (its own workspace, not the learner's), close the
    file browser, and start running every cell."""
    page.goto(f"{server.url}/lab/workspaces/projector?token={server.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('docmanager:open')",
                           timeout=60000, polling=POLL_MS)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:open', "
                  "{path: 'widgets.ipynb', activate: true}).then(() => true)")
    windowing = page.evaluate(f"n => ({PANEL})(n).content.notebookConfig.windowingMode", "widgets.ipynb")
    assert windowing == "none", f"the projector's page draws only some cells at once ({windowing})"
    if not page.evaluate("() => window.jupyterapp.shell.leftCollapsed"):  # Ctrl+B: the file browser closed
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    run_all_cells(page, "widgets.ipynb")


def measure_lessons(page) -> dict:
    """Open each lesson (no kernel), wait until every cell, figure and equation is drawn, measure it, close it."""
    measured = {}
    for name in LESSONS:
        page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', "
                      "{path: p, kernelPreference: {shouldStart: false}}).then(() => true)", name)
        page.wait_for_function(f"n => !!({PANEL})(n)", arg=name, timeout=60000, polling=POLL_MS)
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
            arg=name, timeout=60000, polling=POLL_MS)
        measured[name] = page.evaluate(f"n => ({MEASURE_LESSON})(({PANEL})(n))", name)
        assert measured[name]["column"] > 600, f"{name}: the file browser is still open: {measured[name]}"
        page.evaluate(f"n => ({PANEL})(n).dispose()", name)  # unchanged: closed without a question
    return measured


def measure_widgets(page) -> dict:
    """Show the widgets' notebook, wait until every cell has run and every widget is drawn, and measure each."""
    page.evaluate(f"n => window.jupyterapp.shell.activateById(({PANEL})(n).id)", "widgets.ipynb")
    # Every cell run, or stopped by an error:
    page.wait_for_function(QUIET, arg="widgets.ipynb", timeout=120000, polling=POLL_MS)
    errors = page.locator(f"{STDERR_OUTPUT}, {ERROR_OUTPUT}")
    assert errors.count() == 0, errors.first.inner_text()
    page.wait_for_function(ALL_CELLS_RUN, arg="widgets.ipynb", timeout=120000, polling=POLL_MS)
    page.wait_for_function(  # every widget drawn, with its picture decoded
        "n => { const outputs = Array.from(document.querySelectorAll('.jp-OutputArea-output img.widget-image'));"
        " return outputs.length === n && outputs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=len(WIDGETS), timeout=60000, polling=POLL_MS)
    found = {}
    for index, (name, _) in enumerate(WIDGETS):
        found[name] = page.evaluate(MEASURE, [index])
        page.screenshot(path=str(ARTIFACTS / f"projector-{index:02d}-{name}.png"))
    return found


@dataclasses.dataclass
class Lab:
    """The module's JupyterLab server and Chromium: the learner's page (the playground, its cells running or
    run) and the projector's page (the widgets' notebook)."""

    server: Server
    learner: object  # playwright's Page
    projector: object


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab server and one Chromium for every test of this module: the playground started in the
    learner's page, then the widgets' notebook in the projector's page (both kernels start running at once)."""
    root, logs = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("lab-logs")
    shutil.copy(REPO / "notebooks" / "10_playground.ipynb", root / "playground.ipynb")
    write_notebook(root / "widgets.ipynb")
    for name in LESSONS:
        shutil.copy(REPO / "notebooks" / name, root / name)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_jupyterlab(root, logs, "browser-test") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            server.wait_until_answering()  # it started while Chromium did
            learner = browser.new_context(viewport=LEARNER_VIEWPORT).new_page()
            with screenshot_on_failure(learner, "browser-failure.png"):
                load_the_playground(learner, server)
            # Every cell drawn at once, for the projector's page only: it reads the setting as it loads.
            server.save_user_setting("@jupyterlab/notebook-extension:tracker", {"windowingMode": "none"})
            projector = browser.new_context(viewport=VIEWPORT, device_scale_factor=SCALE).new_page()
            with screenshot_on_failure(projector, "projector-failure.png"):
                start_the_widgets(projector, server)
            with screenshot_on_failure(learner, "browser-failure.png"):
                start_the_playground(learner)
            yield Lab(server, learner, projector)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def measurements(lab):
    """Each lesson's and each widget's measurements at 853 × 480: the lessons as stored (while the kernels
    run the widgets and the playground), then the widgets' notebook run."""
    with screenshot_on_failure(lab.projector, "projector-failure.png"):
        lessons = measure_lessons(lab.projector)
        found = measure_widgets(lab.projector)
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


def image_source(page) -> str:
    return page.eval_on_selector(LIVE_IMAGE, "img => img.src")


def wait_for_new_image(page, old_source: str, timeout_ms: int = 15000) -> float:
    """Seconds until the live image shows a new, decoded picture."""
    started = time.perf_counter()
    page.wait_for_function(
        "([selector, old]) => { const img = document.querySelector(selector);"
        " return img && img.src !== old && img.complete && img.naturalWidth > 0; }",
        arg=[LIVE_IMAGE, old_source], timeout=timeout_ms, polling="raf",
    )
    return time.perf_counter() - started


def test_playground_answers_its_controls_in_jupyterlab(lab):
    """The playground's every cell runs without an error output, and its dropdown and its SGD learning-rate slider
    each give a new picture; JupyterLab shows no news question and wraps long code lines. Last in this module,
    so the latency it prints is measured with no other kernel busy."""
    page = lab.learner
    # The widgets' kernel done (it is, after the projector's tests): the latency is the playground's alone.
    lab.projector.wait_for_function(QUIET, arg="widgets.ipynb", timeout=120000, polling=POLL_MS)
    with screenshot_on_failure(page, "browser-failure.png"):
        # Read from the notebook's model:
        page.wait_for_function(ALL_CELLS_RUN, arg="playground.ipynb", timeout=120000, polling=POLL_MS)
        # JupyterLab renders only the cells near the view, so the page itself does not show them all.
        page.wait_for_function(
            "s => { const img = document.querySelector(s); return img && img.complete && img.naturalWidth > 0; }",
            arg=LIVE_IMAGE, timeout=60000, polling=POLL_MS,
        )
        page.locator(LIVE_IMAGE).first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-1-start.png"))
        errors = page.locator(STDERR_OUTPUT)
        assert errors.count() == 0, errors.first.inner_text()

        # The surface dropdown: a new contour map and new paths.
        before = image_source(page)
        page.locator(".widget-dropdown select").first.select_option("rosenbrock")
        dropdown_latency = wait_for_new_image(page, before)
        page.screenshot(path=str(ARTIFACTS / "browser-2-rosenbrock.png"))
        # The start sliders moved to Rosenbrock's start (readouts: steps, start x, start y; "−" is U+2212).
        x, y = get_surface("rosenbrock").start
        page.wait_for_function(
            "want => { const r = Array.from(document.querySelectorAll('.widget-hslider .widget-readout'))"
            ".slice(1, 3).map(e => e.innerText.replace('\u2212', '-')); return r.join() === want; }",
            arg=f"{x:.2f},{y:.2f}", timeout=10000,
        )

        # The SGD learning-rate slider, moved with the keyboard like a learner would.
        handle = page.locator(".widget-tab-contents .noUi-handle:visible").first  # SGD's tab: learning rate
        handle.focus()
        latencies = []
        for _ in range(10):
            before = image_source(page)
            page.keyboard.press("ArrowLeft")
            latencies.append(wait_for_new_image(page, before))
        page.screenshot(path=str(ARTIFACTS / "browser-3-slider.png"))
        # The course's settings (fetchNews "false") keep JupyterLab's news question off the lesson.
        assert page.get_by_text(NEWS_QUESTION).count() == 0, "JupyterLab asked about Jupyter news"
        # ... and wrap long code lines (codeCellConfig.lineWrap), so no code is cut at a projector's edge.
        assert page.locator(".jp-CodeCell .cm-content.cm-lineWrapping").count() > 0, "code cells do not wrap"

    median = statistics.median(latencies)
    print(f"\nbrowser: dropdown change -> new image {1000 * dropdown_latency:.0f} ms; "
          f"slider step -> new image median {1000 * median:.0f} ms, max {1000 * max(latencies):.0f} ms "
          f"(10 steps); screenshots in {ARTIFACTS}")
    assert len(latencies) == 10
