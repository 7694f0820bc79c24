"""The graded tests of the exercises, judged in the grader's own process.

A graded test cell of a source notebook holds calls of the self-checks::

    check(adam_step, bias_correction=False, seed=501, cases=["first_step", "preset_state"]).assert_ok()
    check_answer("lr_max", lr_max).assert_ok()

The grader never runs that cell. It reads it (``parse_test``: only these two forms, with
literal arguments, are accepted, and anything else is refused when the sources are loaded),
makes the hidden inputs itself (``requests``: the cases of ``check`` for that seed, as data),
lets the sandbox call the student's function on them and send back what it returned, and
judges that here (``judge``), with the same comparisons, tolerances and hints as the
student's own ``check``. So nothing the student's code does -- patching numpy or the
checks, hooking imports, transforming later cells -- changes a verdict: it can only
change the values its own functions return.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np

from lessons_lib.tooling.self_checks import (EXERCISES, QUESTIONS, AffineGradient, CaseResult, CheckResult,
                                             check_answer, judge_case)

#: The imports a graded test cell may hold besides its checks.
ALLOWED_IMPORT = "lessons_lib.tooling.self_checks"


@dataclass(frozen=True)
class HiddenCheck:
    """One ``check(...)`` or ``check_answer(...)`` of a graded test cell.

    ``name`` is the function or the variable the student defines; ``key`` the entry of
    ``EXERCISES`` (a function) or ``QUESTIONS`` (an answer).
    """

    kind: str  # "function" or "answer"
    name: str
    key: str
    seed: int = 0
    cases: tuple[str, ...] | None = None


def _refuse(where: str, what: str) -> ValueError:
    return ValueError(f"{where}: {what}. The grader runs graded test cells made of "
                      f"'from {ALLOWED_IMPORT} import check, check_answer', "
                      "'check(function, seed=..., cases=[...]).assert_ok()' and "
                      "'check_answer(\"question\", variable).assert_ok()' only, with literal arguments.")


def _parse_call(call: ast.Call, where: str) -> HiddenCheck:
    if not isinstance(call.func, ast.Name) or call.func.id not in ("check", "check_answer"):
        raise _refuse(where, f"a call of {ast.unparse(call.func)}")
    try:
        options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    except ValueError:
        raise _refuse(where, "an argument that is not a literal") from None
    if call.func.id == "check_answer":
        if len(call.args) != 2 or call.keywords or not isinstance(call.args[1], ast.Name):
            raise _refuse(where, "check_answer takes a question id and a variable")
        question = ast.literal_eval(call.args[0])
        if question not in QUESTIONS:
            raise _refuse(where, f"unknown question {question!r}")
        return HiddenCheck("answer", call.args[1].id, question)
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Name) or set(options) - {"seed", "cases",
                                                                                         "bias_correction"}:
        raise _refuse(where, "check takes the function, then seed=, cases= and bias_correction= only")
    name = call.args[0].id
    key = "adam_step (no bias correction)" if name == "adam_step" and options.get("bias_correction") is False \
        else name
    if key not in EXERCISES:
        raise _refuse(where, f"no exercise function is called {name!r}")
    cases = options.get("cases")
    known = [case.key for case in EXERCISES[key].make_cases(np.random.default_rng(0))]
    if cases is not None and (not cases or set(cases) - set(known)):
        raise _refuse(where, f"cases {cases!r}: {key} has the cases {known}")
    return HiddenCheck("function", name, key, int(options.get("seed", 0)), tuple(cases) if cases else None)


def parse_test(source: str, where: str = "a graded test cell") -> list[HiddenCheck]:
    """The checks of a graded test cell, in order; ValueError for anything else in it."""
    checks = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.ImportFrom) and statement.module == ALLOWED_IMPORT:
            continue
        value = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr == "assert_ok" and isinstance(value.func.value, ast.Call)):
            raise _refuse(where, f"the line {ast.unparse(statement)!r}")
        checks.append(_parse_call(value.func.value, where))
    if not checks:
        raise _refuse(where, "no check in it")
    return checks


def cases_of(check: HiddenCheck) -> list:
    """The cases a function check runs (its seed's random inputs, the selected keys)."""
    cases = EXERCISES[check.key].make_cases(np.random.default_rng(check.seed))
    return [case for case in cases if check.cases is None or case.key in check.cases]


# --- to the sandbox: the inputs, as data ------------------------------------------------------


def encode_input(value: object) -> object:
    """An argument as JSON data (arrays with dtype and shape; the runner decodes them)."""
    if isinstance(value, np.ndarray):
        return {"__array__": value.ravel().tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_input(item) for item in value]}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: encode_input(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send {type(value).__name__} to the sandbox")


def request(check: HiddenCheck) -> dict:
    """What the sandbox must do for one check: call a function on the hidden inputs, or read a variable."""
    if check.kind == "answer":
        return {"kind": "answer", "name": check.name}
    exercise = EXERCISES[check.key]
    cases = []
    for case in cases_of(check):
        spec = {"calls": [encode_input(kwargs) for kwargs in case.calls], "chain": case.chain,
                "parameter": case.parameter}
        if case.chain:
            if not isinstance(case.gradient, AffineGradient):
                raise TypeError(f"{check.key}, case {case.key}: a trajectory's gradient must be an AffineGradient")
            spec["gradient"] = {"scale": encode_input(np.asarray(case.gradient.scale, dtype=float)),
                                "shift": encode_input(np.asarray(case.gradient.shift, dtype=float))}
        cases.append(spec)
    return {"kind": "function", "name": check.name, "outputs": list(exercise.outputs),
            "signature": exercise.signature, "cases": cases}


# --- from the sandbox: what came back, as data -------------------------------------------------


class Returned:
    """A returned value the sandbox could only describe (not a number, an array or a string)."""

    def __init__(self, description: str) -> None:
        self.description = str(description)[:200]

    def __repr__(self) -> str:
        return self.description


def decode_output(data: object) -> object:
    """A value as the runner encoded it: an array (with its dtype), a number, a string, or a description."""
    if not isinstance(data, dict):
        return Returned("an unreadable value")
    try:
        if "value" in data and (data["value"] is None or isinstance(data["value"], (bool, str))):
            return data["value"]
        if "number" in data and isinstance(data["number"], (int, float)):
            return int(data["number"]) if data.get("type") == "int" else float(data["number"])
        if "array" in data:
            dtype = np.dtype(str(data["dtype"]))
            if dtype.kind not in "biuf":
                return Returned(f"an array of {dtype}")
            if data.get("scalar"):
                return dtype.type(data["array"])
            return np.array(data["array"], dtype=dtype).reshape([int(n) for n in data["shape"]])
        if "sequence" in data and isinstance(data["sequence"], list):
            return [decode_output(item) for item in data["sequence"][:20]]
        if "other" in data:
            return Returned(data["other"])
    except (TypeError, ValueError, OverflowError):
        pass
    return Returned("an unreadable value")


def _missing(name: str) -> str:
    return (f"NameError: name {name!r} is not defined "
            "(is it defined, with this name, in a cell that runs without error?)")


def judge(check: HiddenCheck, result: object) -> CheckResult | str:
    """The verdict on one check from what the sandbox sent back: a CheckResult, or a reason in words."""
    if not isinstance(result, dict):
        return "not run"
    if result.get("missing"):
        return _missing(check.name)
    if check.kind == "answer":
        return check_answer(check.key, decode_output(result.get("value")))
    if "not_callable" in result:
        return (f"{check.name} is not a function (it is {decode_output(result['not_callable'])!r}): "
                "keep the def given in the notebook")
    if result.get("not_written"):
        return CheckResult(check.key, [CaseResult("not written yet (it still raises NotImplementedError)", False)],
                           single=True)
    exercise, returned = EXERCISES[check.key], result.get("cases")
    returned = returned if isinstance(returned, list) else []
    verdicts = []
    for number, case in enumerate(cases_of(check)):
        data = returned[number] if number < len(returned) and isinstance(returned[number], dict) else {}
        steps = data.get("steps") if isinstance(data.get("steps"), list) else []
        got = [tuple(decode_output(value) for value in outputs) for outputs in steps[:case.chain or len(case.calls)]
               if isinstance(outputs, list) and len(outputs) == len(exercise.outputs)]
        problem = str(data.get("problem", ""))[:800] or ("" if got else "not run")
        verdicts.append(judge_case(exercise, case, got, problem))
    return CheckResult(check.key, verdicts)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def failure(verdict: CheckResult | str) -> tuple[str, str] | None:
    """None if a check passed; else (the mistake, the evidence), each in one line.

    The mistake is what two failed tests of the same kind share -- the hint, or the error the
    function raised -- so a feedback text can say it once; the evidence is the first failed
    case with what was expected and what came back.
    """
    if isinstance(verdict, str):
        return verdict, ""
    for case in verdict.cases:
        if case.passed:
            continue
        hint, details = _one_line(case.hint), _one_line(case.details)
        if verdict.single:
            return f"{verdict.title}: {case.title}" + (f" -- {hint}" if hint else ""), details
        problem = re.sub(r"^at step \d+: ", "", details)
        if problem.startswith(("your function", "not run")):  # it raised, looped, changed an input...
            return f"{verdict.title}: {problem}", f"case '{case.title}'" + (f" -- {hint}" if hint else "")
        return f"{verdict.title}: {hint or details}", f"case '{case.title}': {details}"
    return None
