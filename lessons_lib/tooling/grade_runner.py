"""The one process where a student's code runs when a notebook is graded (inside the sandbox).

Started by ``lessons_lib.tooling.sandbox`` as ``python -P grade_runner.py`` (under bubblewrap when it
is there), it reads one JSON line from stdin::

    {"cells": ["import numpy as np", ...], "timeout": 30,
     "requests": [{"kind": "function", "name": "gd_step", "outputs": ["theta"], "cases": [...]},
                  {"kind": "answer", "name": "lr_max"}, ...]}

runs the cells in order in one namespace (in IPython's shell when a cell uses magics, shell
escapes or ``get_ipython``, else as plain Python, quicker to start; output goes to /dev/null),
each stopped after ``timeout`` seconds, then calls the student's functions on the hidden inputs of
``requests`` and writes, one JSON line each, on its own copy of the original stdout::

    {"event": "start", "cell": 3}                  before a cell (the grader's watchdog)
    {"event": "cell", "cell": 3, "status": "error", "ename": "NameError", "evalue": "..."}
    {"event": "values", "request": 0, "result": {...}}   what a function returned, as data
    {"event": "done"}

Nothing here judges anything: the student's code shares this process and could change any of
it, so all that leaves it is data (arrays as lists with their dtype, numbers, strings), and the
grader compares that, in its own process, with the reference it computed itself. This file
imports nothing from the course (numpy and IPython only), and never unpickles.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import signal
import sys
import traceback

#: Longest text kept from a student's error message.
TEXT_CHARS = 300


class CellTimeout(BaseException):
    """Raised by the alarm in a cell or a call that runs longer than the timeout."""


def _alarm(signum, frame):
    raise CellTimeout()


def _short(text: str, limit: int = TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- data in and out -------------------------------------------------------------------------


def decode(value):
    """A JSON value from the grader as Python: {"__array__": [...], "dtype": ..., "shape": ...} is an array,
    {"__tuple__": [...]} a tuple, any other dict a dict of decoded values."""
    import numpy as np

    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(decode(item) for item in value["__tuple__"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def encode(value):
    """A returned value as JSON data: arrays with their dtype and shape, numbers, strings, else a description."""
    import numpy as np

    if value is None or isinstance(value, (bool, str)):
        return {"value": value if not isinstance(value, str) else _short(value)}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"number": float(value) if isinstance(value, float) else int(value),
                "type": type(value).__name__}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"array": value.item(), "dtype": str(value.dtype), "shape": [], "scalar": True}
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is not None and array.dtype.kind in "biuf" and array.size <= 100_000:
            return {"array": array.ravel().tolist(), "dtype": str(array.dtype), "shape": list(array.shape),
                    "container": type(value).__name__}
        if isinstance(value, (list, tuple)) and len(value) <= 20:
            return {"sequence": [encode(item) for item in value], "container": type(value).__name__}
    return {"other": _short(f"{type(value).__name__} ({value!r:.60})")}


# --- calling the student's functions ---------------------------------------------------------


def _where_in_your_code(error: BaseException) -> str:
    """' (in gd_step, line 3: return theta - lr * grd)' for the last frame of the student's code."""
    import numpy as np

    numpy_dir = os.path.dirname(os.path.abspath(np.__file__))
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if os.path.abspath(frame.filename) == os.path.abspath(__file__) or frame.filename.startswith(numpy_dir):
            continue
        line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
        return f" (in {frame.name}, line {frame.lineno}" + (f": {line})" if line else ")")
    return ""


class Problem(Exception):
    """Something about the student's function, reported in words."""


class Stuck(Problem):
    """The function did not return within the timeout."""


class NotWritten(Exception):
    """The function still raises NotImplementedError."""


def call(function, kwargs: dict, outputs: list[str], signature: str, timeout: int) -> tuple:
    """Call ``function`` with copies of ``kwargs``; its outputs as a tuple, or Problem / NotWritten."""
    import numpy as np

    arguments = {name: (value.copy() if isinstance(value, np.ndarray) else value) for name, value in kwargs.items()}
    signal.alarm(timeout)
    try:
        with np.errstate(all="ignore"):
            result = function(**arguments)
    except NotImplementedError:
        raise NotWritten() from None
    except CellTimeout:
        raise Stuck(f"your function did not return within {timeout} s (an endless loop?)") from None
    except Exception as error:
        message = f"your function raised {type(error).__name__}: {_short(str(error), 200)}{_where_in_your_code(error)}"
        if isinstance(error, TypeError) and "argument" in str(error):
            message += f"\nkeep the signature given in the notebook: {signature}"
        raise Problem(message) from None
    finally:
        signal.alarm(0)
    for name, value in kwargs.items():
        if isinstance(value, np.ndarray) and not np.array_equal(arguments[name], value, equal_nan=True):
            raise Problem(f"your function changed its input {name} in place (with -=, += or [...] =); "
                          f"compute a new array instead, e.g. {name} = {name} - ... rather than {name} -= ...")
    if len(outputs) == 1:
        return (result,)
    if result is None:
        raise Problem("your function returned None: did you forget the return statement?")
    if not isinstance(result, (tuple, list)) or len(result) != len(outputs):
        described = f"a {type(result).__name__} of {len(result)} values" if isinstance(result, (tuple, list)) \
            else f"a {type(result).__name__}"
        raise Problem(f"your function returned {described}; it must return {len(outputs)} values, "
                      f"({', '.join(outputs)})")
    return tuple(result)


def run_case(function, case: dict, outputs: list[str], signature: str, timeout: int) -> dict:
    """The outputs of every call of a case, as data; a trajectory feeds each step's outputs to the next."""
    import numpy as np

    steps = []
    try:
        if not case["chain"]:
            for kwargs in case["calls"]:
                steps.append([encode(value) for value in call(function, decode(kwargs), outputs, signature, timeout)])
            return {"steps": steps}
        kwargs = decode(case["calls"][0])
        scale, shift = decode(case["gradient"]["scale"]), decode(case["gradient"]["shift"])
        for step in range(1, case["chain"] + 1):
            kwargs["grad"] = scale * np.asarray(kwargs[case["parameter"]], dtype=float) + shift
            try:
                result = call(function, kwargs, outputs, signature, timeout)
            except Problem as problem:
                raise type(problem)(f"at step {step}: {problem}") from None
            steps.append([encode(value) for value in result])
            kwargs.update(zip(outputs, result))
            try:  # stop at a value that is not a finite number (no overflow later on)
                if not all(np.isfinite(np.asarray(value, dtype=float)).all() for value in result):
                    break
            except (TypeError, ValueError):
                break
    except Problem as problem:
        return {"steps": steps, "problem": _short(str(problem), 600), "stuck": isinstance(problem, Stuck)}
    return {"steps": steps}


#: The functions that did not return once: not called again (each try would cost a whole timeout).
_stuck: set[str] = set()


def harvest(request: dict, namespace: dict, timeout: int) -> dict:
    """What the student's code gives for one request of the grader: a function's outputs, or an answer."""
    name = request["name"]
    if name not in namespace:
        return {"missing": True}
    value = namespace[name]
    if request["kind"] == "answer":
        return {"value": encode(value)}
    if not callable(value):
        return {"not_callable": encode(value)}
    cases = []
    for case in request["cases"]:
        if name in _stuck:
            cases.append({"steps": [], "problem": "not run: your function did not return on an earlier case"})
            continue
        _send({"event": "start", "case": len(cases)})
        try:
            cases.append(run_case(value, case, request["outputs"], request["signature"], timeout))
        except NotWritten:
            return {"not_written": True}
        if cases[-1].get("stuck"):
            _stuck.add(name)
    return {"cases": cases}


# --- running the cells -----------------------------------------------------------------------

#: What only IPython understands: magics, shell escapes, help, and the shell itself.
_IPYTHON_SYNTAX = re.compile(r"^\s*[%!?]|\?\s*$|get_ipython", re.MULTILINE)


def _shell(cells: list[str]):
    """(run_cell, namespace): IPython's shell when a cell needs it, else plain Python (faster to start).

    ``run_cell(source, number)`` runs one cell and returns the exception it raised, or None.
    """
    if any(_IPYTHON_SYNTAX.search(cell) for cell in cells):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        shell = InteractiveShell.instance(config=config)

        def run_ipython(source: str, number: int) -> BaseException | None:
            result = shell.run_cell(source, store_history=False, silent=False)
            return result.error_before_exec or result.error_in_exec

        return run_ipython, shell.user_ns

    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}

    def run_python(source: str, number: int) -> BaseException | None:
        name = f"<cell {number + 1}>"
        linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)  # for tracebacks
        try:
            exec(compile(source, name, "exec"), namespace)
        except CellTimeout:
            raise
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the next cell still runs
            return error
        return None

    return run_python, namespace


# --- main ------------------------------------------------------------------------------------

_channel = None


def _send(message: dict) -> None:
    _channel.write(json.dumps(message) + "\n")
    _channel.flush()


def main() -> None:
    """Read the job on stdin, run the cells, harvest the values, report on the original stdout."""
    global _channel
    job = json.loads(sys.stdin.readline())
    _channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the student's prints (megabytes, maybe) go nowhere
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")
    signal.signal(signal.SIGALRM, _alarm)
    timeout = int(job["timeout"])

    run_cell, namespace = _shell(job["cells"])
    for number, source in enumerate(job["cells"]):
        _send({"event": "start", "cell": number})
        signal.alarm(timeout)
        try:
            error = run_cell(source, number)
        except CellTimeout:  # raised between the shell's own handlers
            error = CellTimeout()
        finally:
            signal.alarm(0)
        if isinstance(error, CellTimeout):
            _send({"event": "cell", "cell": number, "status": "error", "ename": "Timeout",
                   "evalue": f"stopped after {timeout} s (an endless loop?)"})
        elif error is not None:
            _send({"event": "cell", "cell": number, "status": "error", "ename": type(error).__name__,
                   "evalue": _short(str(error))})
        else:
            _send({"event": "cell", "cell": number, "status": "ok"})
    for number, request in enumerate(job["requests"]):
        _send({"event": "values", "request": number, "result": harvest(request, namespace, timeout)})
    _send({"event": "done"})


if __name__ == "__main__":
    main()
