"""End to end, as a learner sees it: the playground in a real JupyterLab, in headless Chromium.

JupyterLab is served on 127.0.0.1 with a token, from a temporary copy of the
notebook (the repository's files are never touched), with the course's settings
(``jupyter-settings/overrides.json``, as the README's first command uses them: no
"official Jupyter news" question over the lesson, long code lines wrapped). Chromium is Debian's
(``apt-get install chromium``), driven by Playwright's Python package with
``executable_path``; Playwright's own browser download is not used.

The test runs every cell, changes the surface dropdown and a learning-rate
slider, and asserts that the live figure changed each time, and that JupyterLab
asked no question about Jupyter news. It saves
screenshots to ``tests/artifacts/`` and prints the latency it saw, from the
change in the page to a new image decoded in it.
"""

from __future__ import annotations

import contextlib
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
KERNEL_QUESTION = ".jp-Dialog .jp-mod-accept"
#: JavaScript: true once the notebook's kernel is connected and idle (safe to run all cells).
KERNEL_READY = ("(() => { const panel = window.jupyterapp.shell.currentWidget;"
                " const kernel = panel && panel.sessionContext && panel.sessionContext.session"
                " && panel.sessionContext.session.kernel;"
                " return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'; })()")
#: JavaScript: true once every non-empty code cell has an execution count again and the kernel is idle.
ALL_CELLS_RUN = ("(() => { const panel = window.jupyterapp.shell.currentWidget;"
                 " const code = panel.content.widgets.filter(c => c.model.type === 'code'"
                 " && c.model.sharedModel.getSource().trim() !== '');"
                 " return code.length > 0 && code.every(c => c.model.executionCount !== null)"
                 " && panel.sessionContext.session.kernel.status === 'idle'; })()")
NEWS_QUESTION = "official Jupyter news"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_jupyterlab(root: Path, logs: Path, name: str, settings: Path = SETTINGS):
    """JupyterLab on 127.0.0.1 over ``root``, with the course's settings (or ``settings``) and a token;
    yields (url, token).

    Waits until the server answers (60 s at most; its log is in the error if it does not), and stops it
    afterwards. Shared by this test and tests/test_projector.py.
    """
    port, token = free_port(), f"{name}-" + os.urandom(8).hex()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.app_settings_dir={settings}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabServerApp.extension_manager=readonly", "--ServerApp.allow_root=True",
    ]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(logs / "config"), "JUPYTER_RUNTIME_DIR": str(logs / "runtime")}
    log = open(logs / "server.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start:\n" + (logs / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a temporary copy of the playground notebook."""
    root, logs = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("lab-logs")
    shutil.copy(REPO / "notebooks" / "10_playground.ipynb", root / "playground.ipynb")
    with serve_jupyterlab(root, logs, "browser-test") as (url, token):
        yield {"url": url, "token": token, "root": root}


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


def test_playground_answers_its_controls_in_jupyterlab(jupyterlab, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.new_page()
            page.goto(f"{jupyterlab['url']}/lab/tree/playground.ipynb?token={jupyterlab['token']}")
            page.wait_for_selector(".jp-Notebook", timeout=60000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands", timeout=60000)
            # JupyterLab may ask which kernel to start (a fresh profile has no preference): take the default.
            # Wait for whichever comes first, that question or the kernel ready, rather than for the question.
            if page.wait_for_function(f"() => document.querySelector('{KERNEL_QUESTION}') ? 'asked' : {KERNEL_READY}",
                                      timeout=60000).json_value() == "asked":
                page.locator(KERNEL_QUESTION).click()
                page.wait_for_function(f"() => {KERNEL_READY}", timeout=60000)
            # Fresh outputs only: clear what the file stores (awaited), then run every cell (not awaited).
            page.evaluate("async () => {"
                          " await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); }")
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            page.wait_for_function(f"() => {ALL_CELLS_RUN}", timeout=120000)  # read from the notebook's model:
            # JupyterLab renders only the cells near the view, so the page itself does not show them all.
            page.wait_for_function(
                "s => { const img = document.querySelector(s); return img && img.complete && img.naturalWidth > 0; }",
                arg=LIVE_IMAGE, timeout=60000,
            )
            page.locator(LIVE_IMAGE).first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-1-start.png"))
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
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
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-failure.png"))
            raise
        finally:
            context.close()

    median = statistics.median(latencies)
    print(f"\nbrowser: dropdown change -> new image {1000 * dropdown_latency:.0f} ms; "
          f"slider step -> new image median {1000 * median:.0f} ms, max {1000 * max(latencies):.0f} ms "
          f"(10 steps); screenshots in {ARTIFACTS}")
    assert len(latencies) == 10
