"""Keep the course notebooks honest: re-execute them, check them, compare their figures.

For maintainers, not learners. Three jobs:

* ``python -m lessons_lib.tooling.notebooks run notebooks/*.ipynb`` re-executes each
  notebook in place, in a fresh kernel, top to bottom, so that every stored
  output comes from a real run. A notebook whose run fails is left untouched.
  What a cell prints is stored as one output however the kernel flushed it
  (nbconvert's ``CoalesceStreamsPreprocessor``), so the stored file does not depend on timing.
* ``python -m lessons_lib.tooling.notebooks check notebooks/*.ipynb`` lists notebooks
  with code cells that were never executed, executed out of order, or that
  stored an error nobody marked as intended.
* ``figure_mismatches`` compares the figures of two runs of a cell with a
  small tolerance (nbval compares text only; ``nbval_figures`` adds this).

Kernels start quietly (``QUIET_KERNEL``): ipykernel's warning at every start, that it
runs over TCP without encryption, is not printed; its errors are.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
from pathlib import Path

import nbformat

#: Root-mean-square difference (0-255 scale) allowed between a stored figure and a
#: fresh rendering: anti-aliasing may move a few pixels, a changed plot moves many.
FIGURE_TOLERANCE = 2.0

#: A cell whose error output is intended carries nbval's marker on a line of its own.
RAISES_MARKER = "# NBVAL_RAISES_EXCEPTION"

#: The environment of every kernel we start. PYTHONHASHSEED fixes the printing order of sets;
#: OPENBLAS_NUM_THREADS=1: the lessons' matrices are small, one BLAS thread multiplies them faster
#: than two, and it keeps every sum in one order.
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}

#: Extra command-line arguments of every kernel we start. ipykernel logs a warning at every start
#: ("Kernel is running over TCP without encryption": the kernel listens on 127.0.0.1 only, as
#: JupyterLab's do); the kernel's own log keeps its errors, and a cell's errors and warnings
#: still come back in its outputs.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


def execute(path: str | Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` in a fresh kernel, top to bottom, and return it with its new outputs.

    The kernel starts in the notebook's folder. ``timeout`` (seconds) bounds each
    cell, because widget notebooks can stall nbclient (an open upstream issue).
    The file itself is not touched.
    """
    from nbclient import NotebookClient  # imported here: learners never need it
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    os.environ.update(DETERMINISTIC_ENV)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,  # timestamps would change the file on every run
        extra_arguments=list(QUIET_KERNEL),
    )
    client.execute()
    # A kernel sends what a cell prints in as many pieces as it happened to flush; nbval joins consecutive
    # pieces before it compares, and the stored notebook should not depend on the timing either.
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
    return notebook


def execute_in_place(path: str | Path, timeout: int = 120) -> None:
    """Run the notebook at ``path`` (see ``execute``) and save it with the new outputs.

    The file is replaced only after a successful run, and atomically, so a failed
    run never destroys the stored notebook.
    """
    path = Path(path)
    notebook = execute(path, timeout)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".ipynb", delete=False, encoding="utf-8") as tmp:
        nbformat.write(notebook, tmp)
    os.replace(tmp.name, path)


def cell_source(cell: dict) -> str:
    """The source of a cell as one string (nbformat allows a list of lines too)."""
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def error_is_intended(cell: dict) -> bool:
    """True if the cell says that it raises on purpose (nbval's marker on its own line, or the tag)."""
    lines = [line.strip() for line in cell_source(cell).splitlines()]
    tags = cell.get("metadata", {}).get("tags", [])
    return RAISES_MARKER in lines or "raises-exception" in tags


def hygiene_problems(notebook: dict) -> list[str]:
    """What is wrong with a notebook's stored outputs, in words (an empty list if nothing).

    Stored outputs must come from one clean run, top to bottom: every code cell
    executed, execution counts 1, 2, 3, ... in order, and no error output unless
    the cell is marked as raising on purpose.
    """
    problems = []
    code_cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    code_cells = [cell for cell in code_cells if cell_source(cell).strip()]
    counts = [cell.get("execution_count") for cell in code_cells]

    never_run = [number for number, count in enumerate(counts, start=1) if count is None]
    if never_run:
        problems.append(f"code cells never executed: {never_run} (counting code cells from 1)")
    elif counts != list(range(1, len(counts) + 1)):
        problems.append(f"cells not executed top to bottom in one fresh run: execution counts {counts}")

    for number, cell in enumerate(code_cells, start=1):
        errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        if errors and not error_is_intended(cell):
            names = sorted({out.get("ename", "?") for out in errors})
            problems.append(f"code cell {number} stored an error ({', '.join(names)}) without {RAISES_MARKER}")
    return problems


def png_outputs(outputs: list[dict]) -> list[bytes]:
    """The PNG images among a cell's outputs, decoded, in order."""
    images = []
    for output in outputs:
        data = output.get("data", {})
        if "image/png" in data:
            encoded = data["image/png"]
            encoded = encoded if isinstance(encoded, str) else "".join(encoded)
            images.append(base64.b64decode(encoded))
    return images


def figure_mismatches(fresh: list[dict], stored: list[dict], tolerance: float = FIGURE_TOLERANCE) -> list[str]:
    """Compare the PNG figures of a fresh run of a cell with the stored ones.

    Uses ``matplotlib.testing.compare.compare_images`` (root-mean-square
    difference of pixel values, 0-255) rather than byte equality. Returns one
    sentence per mismatch: a different number of figures, a different size,
    or an RMS difference above ``tolerance``.
    """
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    fresh_images, stored_images = png_outputs(fresh), png_outputs(stored)
    if len(fresh_images) != len(stored_images):
        return [f"the cell drew {len(fresh_images)} figure(s), the stored notebook has {len(stored_images)}"]

    problems = []
    with tempfile.TemporaryDirectory() as folder:
        for number, (new, old) in enumerate(zip(fresh_images, stored_images), start=1):
            if new == old:  # the same bytes: RMS 0, nothing to decode
                continue
            new_path, old_path = Path(folder, f"fresh{number}.png"), Path(folder, f"stored{number}.png")
            new_path.write_bytes(new)
            old_path.write_bytes(old)
            try:
                result = compare_images(str(old_path), str(new_path), tol=tolerance, in_decorator=True)
            except ImageComparisonFailure as failure:  # raised for a different image size
                problems.append(f"figure {number} differs from the stored one: {failure}")
                continue
            if result is not None:
                problems.append(
                    f"figure {number} differs from the stored one: RMS {result['rms']:.2f} > tolerance {tolerance}"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command line: ``run`` re-executes notebooks in place, ``check`` reports hygiene problems."""
    parser = argparse.ArgumentParser(prog="python -m lessons_lib.tooling.notebooks", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "check"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell (default 120)")
    args = parser.parse_args(argv)

    failed = 0
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: no such notebook")
            failed += 1
        elif args.command == "run":
            try:
                execute_in_place(path, timeout=args.timeout)
                print(f"{path}: executed, outputs saved")
            except Exception as error:  # report and go on; the file is left as it was
                print(f"{path}: FAILED, notebook left unchanged\n  {type(error).__name__}: {error}")
                failed += 1
        else:
            problems = hygiene_problems(nbformat.read(path, as_version=4))
            for problem in problems:
                print(f"{path}: {problem}")
            failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
