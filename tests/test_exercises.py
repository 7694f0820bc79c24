"""The exercises: the students' self-checks, and the student notebooks made from the sources.

* A right implementation passes every check; each typical mistake fails with a
  message that names the case and gives the hint for that mistake.
* The student notebooks leak no solution and no hidden test, and are exactly what
  ``python -m lessons_lib.tooling.student_notebooks generate`` makes from the sources.
* The sources run cleanly, hidden tests included (in-process here; the grader's
  tests run them in real kernels).
"""

import ast
import contextlib
import functools
import io
import itertools
import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pytest

from lessons_lib.tooling import self_checks
from lessons_lib.tooling import student_notebooks as gen
from lessons_lib.tooling.hidden_tests import HiddenCheck, cases_of, parse_test
from lessons_lib.tooling.self_checks import EXERCISES, QUESTIONS, check, check_answer
from lessons_lib.tooling.notebooks import cell_source

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "exercises" / "source").glob("*.ipynb"))
LESSONS = ["01_gradient_descent", "02_stochastic_gradients", "03_momentum", "04_adagrad_rmsprop", "05_adam",
           "06_bias_correction", "07_adamw", "08_training", "09_beyond_adam", "11_modern_optimizers",
           "12_tuning_in_practice"]


def define(code: str) -> dict:
    """Run code that defines a student's function; return its namespace."""
    namespace = {"np": np}
    exec(compile(code, "<student cell>", "exec"), namespace)
    return namespace


@functools.cache
def run_cells(path: Path) -> dict:
    """Execute every code cell of a notebook in one namespace, quietly; return the namespace.

    Once per source (the two tests that run the sources share the run, and only read what it defined);
    a source that raises is not cached, so each test that runs it fails.
    """
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
            if cell.cell_type == "code":
                exec(compile(cell_source(cell), f"{path.name}, cell {number}", "exec"), namespace)
    return namespace


# --- the self-checks -------------------------------------------------------------------------

ADAM_UNCORRECTED = """
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = t + 1
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * m / (np.sqrt(v) + eps), m, v, t
"""

ADAM = """
def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = t + 1
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t
"""

NEWTON_SCHULZ = """
def newton_schulz(G, steps=5, eps=1e-7):
    a, b, c = 3.4445, -4.7750, 2.0315
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X
"""

MUON = NEWTON_SCHULZ + """
def muon_step(W, grad, B, lr, momentum=0.95, nesterov=True, weight_decay=0.0, ns_steps=5):
    B = momentum * B + (1 - momentum) * grad
    U = (1 - momentum) * grad + momentum * B if nesterov else B
    O = newton_schulz(U, ns_steps)
    rows, cols = W.shape
    W = W * (1 - lr * weight_decay)
    return W - lr * np.sqrt(max(1, rows / cols)) * O, B
"""

MUON_MASK = """
def muon_mask(sizes):
    mask = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        mask += [True] * (fan_in * fan_out) + [False] * fan_out
    return np.array(mask)
"""


def test_the_source_solutions_pass_every_check():
    namespaces = {path.stem: run_cells(path) for path in SOURCES}
    functions = [
        ("01_gradient_descent", "gd_step", {}),
        ("02_stochastic_gradients", "minibatch_gradient", {}),
        ("03_momentum", "momentum_step", {}),
        ("03_momentum", "ema_momentum_step", {}),
        ("04_adagrad_rmsprop", "adagrad_step", {}),
        ("04_adagrad_rmsprop", "rmsprop_step", {}),
        ("05_adam", "adam_step", {"bias_correction": False}),
        ("06_bias_correction", "adam_step", {}),
        ("07_adamw", "adamw_step", {}),
        ("08_training", "clip_by_global_norm", {}),
        ("08_training", "warmup_cosine", {}),
        ("09_beyond_adam", "amsgrad_step", {}),
        ("09_beyond_adam", "lion_step", {}),
        ("11_modern_optimizers", "newton_schulz", {}),
        ("11_modern_optimizers", "muon_step", {}),
        ("11_modern_optimizers", "muon_mask", {}),
        ("12_tuning_in_practice", "range_test_lr", {}),
        ("12_tuning_in_practice", "smooth", {}),
        ("12_tuning_in_practice", "weight_average_step", {}),
    ]
    assert len(functions) == len(EXERCISES)
    for lesson, name, options in functions:
        for seed in (0, 1, 2):
            result = check(namespaces[lesson][name], seed=seed, **options)
            assert result, result.report()


def test_other_right_implementations_pass():
    """Right is right however it is written: lists out, float32 inside, a loop over rows."""
    loop = define("""
def minibatch_gradient(w, X, y, batch):
    total = 0
    for i in batch:
        total = total + 2 * (X[i] @ w - y[i]) * X[i]
    return total / len(batch)
""")
    assert check(loop["minibatch_gradient"])
    as_list = define(ADAM.replace("return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t",
                                  "return [theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t]"))
    assert check(as_list["adam_step"])
    in_place_on_a_copy = define("""
def gd_step(theta, grad, lr):
    theta = theta.copy()
    theta -= lr * grad
    return theta
""")
    assert check(in_place_on_a_copy["gd_step"])


def test_right_forms_of_newton_schulz_and_muon_pass():
    """No transpose at all (the same numbers, only slower), the products grouped otherwise, torch's lerp form."""
    no_transpose = define("""
def newton_schulz(G, steps=5, eps=1e-7):
    X = G / max(np.sqrt(np.sum(G**2)), eps)
    for _ in range(steps):
        A = X @ X.T
        X = 3.4445 * X - 4.7750 * A @ X + 2.0315 * A @ (A @ X)
    return X
""")
    right_multiplied = define("""
def newton_schulz(G, steps=5, eps=1e-7):
    X = G / np.clip(np.linalg.norm(G), eps, None)
    for _ in range(steps):
        S = X.T @ X
        X = 3.4445 * X + X @ (-4.7750 * S + 2.0315 * S @ S)
    return X
""")
    lerp = define(NEWTON_SCHULZ + """
def muon_step(W, grad, B, lr, momentum=0.95, nesterov=True, weight_decay=0.0, ns_steps=5):
    B = B + (1 - momentum) * (grad - B)
    U = grad + momentum * (B - grad) if nesterov else B
    W = W - lr * weight_decay * W
    return W - lr * max(1, W.shape[0] / W.shape[1]) ** 0.5 * newton_schulz(U, steps=ns_steps), B
""")
    as_list = define(MUON_MASK.replace("return np.array(mask)", "return mask"))
    for seed in (0, 1101, 1102):
        assert check(no_transpose["newton_schulz"], seed=seed)
        assert check(right_multiplied["newton_schulz"], seed=seed)
    for seed in (0, 1103, 1104):
        assert check(lerp["muon_step"], seed=seed)
    assert check(as_list["muon_mask"])


def test_the_eps_added_form_of_newton_schulz_fails_only_where_the_norm_is_tiny():
    """‖G‖_F + ε (Keller Jordan's form) instead of torch's max(‖G‖_F, ε) differs only where ‖G‖_F is tiny: it fails
    those two cases and no other, on any seed; muon_step built on it passes; its hint names the floor, not float32
    (nothing in it ran in float32)."""
    added = define(MUON.replace("max(np.linalg.norm(X), eps)", "(np.linalg.norm(X) + eps)"))
    for seed in (0, 1, 2, 1101, 1102, 1103):
        result = check(added["newton_schulz"], seed=seed)
        failed = [c for c in result.cases if not c.passed]
        assert [c.title.split(" of norm")[0] for c in failed] == ["a 3×4 matrix", "a tall 5×3 matrix"], result.report()
        assert all("float32" not in c.hint and "max(‖G‖_F, ε)" in c.hint for c in failed), result.report()
        assert check(added["muon_step"], seed=seed), seed


# (code, check options, the case that must fail, words the message must contain)
MISTAKES = {
    "rmsprop: eps inside the root": (
        """
def rmsprop_step(theta, grad, square_avg, lr, beta=0.99, eps=1e-8):
    square_avg = beta * square_avg + (1 - beta) * grad**2
    return theta - lr * grad / np.sqrt(square_avg + eps), square_avg
""", {}, "a tiny gradient (1e-6), where the place of ε matters", "ε is inside your square root"),
    "adagrad: eps inside the root": (
        """
def adagrad_step(theta, grad, sum_sq, lr, eps=1e-10):
    sum_sq = sum_sq + grad**2
    return theta - lr * grad / np.sqrt(sum_sq + eps), sum_sq
""", {}, "a tiny gradient (1e-6), where the place of ε matters", "ε is inside your square root"),
    "adam: t incremented after use": (
        ADAM.replace("    t = t + 1\n", "").replace(", m, v, t\n", ", m, v, t + 1\n"), {},
        "a later step, from given m, v and t = 5", "t was counted after it was used"),
    "adam: t incremented after use, first step": (
        ADAM.replace("    t = t + 1\n", "").replace(", m, v, t\n", ", m, v, t + 1\n"), {},
        "first step, from zero moments (t = 0 before the step)", "inf or nan"),
    "adam: no bias correction in lesson 06": (
        ADAM_UNCORRECTED, {}, "first step, from zero moments (t = 0 before the step)", "no bias correction"),
    "adam: bias correction already in lesson 05": (
        ADAM, {"bias_correction": False}, "first step, from zero moments (t = 0 before the step)", "lesson 06"),
    "adam: t not counted": (
        ADAM_UNCORRECTED.replace("    t = t + 1\n", ""), {"bias_correction": False},
        "first step, from zero moments (t = 0 before the step)", "return t + 1"),
    "adam: values returned in the wrong order": (
        ADAM.replace(", m, v, t\n", ", v, m, t\n"), {}, "first step, from zero moments (t = 0 before the step)",
        "m holds what v should be"),
    "momentum: buffer from 0 with a (1 - beta) factor": (
        """
def momentum_step(theta, grad, buffer, lr, momentum):
    if buffer is None:
        buffer = np.zeros_like(grad)
    buffer = momentum * buffer + (1 - momentum) * grad
    return theta - lr * buffer, buffer
""", {}, "first step (buffer is None): the buffer becomes the gradient", "that is the EMA form"),
    "momentum: old buffer used for the step": (
        """
def momentum_step(theta, grad, buffer, lr, momentum):
    old = grad if buffer is None else buffer
    new = grad if buffer is None else momentum * buffer + grad
    return theta - lr * old, new
""", {}, "a later step, from a given buffer", "the step used the old buffer"),
    "ema momentum: old velocity used for the step": (
        """
def ema_momentum_step(theta, grad, velocity, lr, beta):
    new_velocity = beta * velocity + (1 - beta) * grad
    return theta - lr * velocity, new_velocity
""", {}, "first step, from a velocity of zeros", "the step used the old velocity"),
    "adamw: decay without the learning rate": (
        ADAM.replace("adam_step(", "adamw_step(").replace("eps=1e-8):", "eps=1e-8, weight_decay=0.01):\n"
                                                           "    theta = theta * (1 - weight_decay)"),
        {}, "a zero gradient from zero moments: only the decay acts", "multiply λ by the learning rate"),
    "adamw: L2 instead of decoupled decay": (
        ADAM.replace("adam_step(", "adamw_step(").replace("eps=1e-8):", "eps=1e-8, weight_decay=0.01):\n"
                                                           "    grad = grad + weight_decay * theta"),
        {}, "first step, from zero moments (t = 0 before the step)", "that is Adam with L2"),
    "minibatch: factor 2 forgotten": (
        """
def minibatch_gradient(w, X, y, batch):
    return X[batch].T @ (X[batch] @ w - y[batch]) / len(batch)
""", {}, "a batch of 4 rows out of 20", "keep the factor 2"),
    "gd: raises": (
        """
def gd_step(theta, grad, lr):
    return theta - lr * grad[3]
""", {}, "one step on a vector of 3 parameters", "your function raised IndexError"),
    "gd: wrong shape": (
        """
def gd_step(theta, grad, lr):
    return np.sum(theta - lr * grad)
""", {}, "one step on a vector of 3 parameters", "theta has shape (), expected shape (3,)"),
    "gd: changes its input": (
        """
def gd_step(theta, grad, lr):
    theta -= lr * grad
    return theta
""", {}, "one step on a vector of 3 parameters", "changed its input theta in place"),
    "gd: sign flipped": (
        """
def gd_step(theta, grad, lr):
    return theta + lr * grad
""", {}, "20 steps on the valley", "you stepped up the gradient"),
    "adam: forgot to return": (
        ADAM.replace("    return theta", "    theta = theta"), {},
        "first step, from zero moments (t = 0 before the step)", "did you forget the return statement"),
    "adam: one value missing": (
        ADAM.replace(", m, v, t\n", ", m, v\n"), {}, "first step, from zero moments (t = 0 before the step)",
        "it must return 4 values, (theta, m, v, t)"),
    "clip: no 1e-6 added to the norm": (
        """
def clip_by_global_norm(grads, max_norm):
    norm = np.linalg.norm(grads)
    return (grads * (max_norm / norm) if norm > max_norm else grads), norm
""", {}, "a gradient exactly max_norm long (the 1e-6 shows)", "divide by ‖g‖ + 1e-6"),
    "clip: a short gradient scaled up": (
        """
def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(np.sum(grads**2))
    return grads * max_norm / (norm + 1e-6), norm
""", {}, "a short gradient (norm below max_norm): left as it is", "clipping only scales down"),
    "clip: clipped by value": (
        """
def clip_by_global_norm(grads, max_norm):
    return np.clip(grads, -max_norm, max_norm), np.sqrt(np.sum(grads**2))
""", {}, "a long gradient (norm about 5), max_norm = 1", "clipping by value"),
    "clip: only the clipped gradient returned": (
        """
def clip_by_global_norm(grads, max_norm):
    norm = np.sqrt(np.sum(grads**2))
    return grads * min(1, max_norm / (norm + 1e-6))
""", {}, "a long gradient (norm about 5), max_norm = 1", "it must return 2 values, (grads, norm)"),
    "warmup_cosine: warm-up one step ahead": (
        """
def warmup_cosine(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    p = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * p)) / 2
""", {}, "update 0 (the first)", "update 0 has rate 0"),
    "warmup_cosine: cosine counted from step 0": (
        """
def warmup_cosine(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    if step >= total_steps:
        return min_lr
    return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * step / total_steps)) / 2
""", {}, "step ", "the cosine starts where the warm-up ends"),
    "amsgrad: max of v-hat instead of v": (
        """
def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = t + 1
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    v_max = np.maximum(v_max, v / (1 - beta2**t))
    return theta - lr * m / (1 - beta1**t) / (np.sqrt(v_max) + eps), m, v, v_max, t
""", {}, "first step, from zero m, v, v_max (t = 0 before the step)", "you kept the largest v̂"),
    "amsgrad: v_max not kept in the state": (
        """
def amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = t + 1
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    largest = np.maximum(v_max, v)
    return theta - lr * m / (1 - beta1**t) / (np.sqrt(largest / (1 - beta2**t)) + eps), m, v, v_max, t
""", {}, "first step, from zero m, v, v_max (t = 0 before the step)", "return the new v_max"),
    "amsgrad: plain Adam": (
        ADAM.replace("adam_step(theta, grad, m, v, t,", "amsgrad_step(theta, grad, m, v, v_max, t,")
            .replace(", m, v, t\n", ", m, v, np.maximum(v_max, v), t\n"),
        {}, "a later step (t = 5) where v_max is above v", "that is Adam's step"),
    "lion: m updated before c": (
        """
def lion_step(theta, grad, m, lr, beta1=0.9, beta2=0.99, weight_decay=0.0):
    m = beta2 * m + (1 - beta2) * grad
    c = beta1 * m + (1 - beta1) * grad
    return theta - lr * (np.sign(c) + weight_decay * theta), m
""", {}, "a gradient against the momentum", "you updated m before computing c"),
    "lion: betas swapped": (
        """
def lion_step(theta, grad, m, lr, beta1=0.9, beta2=0.99, weight_decay=0.0):
    c = beta2 * m + (1 - beta2) * grad
    return theta - lr * (np.sign(c) + weight_decay * theta), beta1 * m + (1 - beta1) * grad
""", {}, "first step, from m = 0", "β₁ and β₂ are swapped"),
    "lion: no sign": (
        """
def lion_step(theta, grad, m, lr, beta1=0.9, beta2=0.99, weight_decay=0.0):
    c = beta1 * m + (1 - beta1) * grad
    return theta - lr * (c + weight_decay * theta), beta2 * m + (1 - beta2) * grad
""", {}, "first step, from m = 0", "Lion steps by the sign of c"),
    "newton_schulz: transposed, not back": (
        NEWTON_SCHULZ.replace("return X.T if tall else X", "return X"), {},
        "a tall 6×3 matrix", "transpose the result back"),
    "newton_schulz: spectral norm": (
        NEWTON_SCHULZ.replace("np.linalg.norm(X)", "np.linalg.norm(X, ord=2)"), {}, "a wide 3×5 matrix",
        "you divided by the spectral norm"),
    "newton_schulz: largest entry": (
        NEWTON_SCHULZ.replace("np.linalg.norm(X)", "np.abs(X).max()"), {}, "one step (steps = 1)",
        "you divided by the largest entry"),
    "newton_schulz: the cubic": (
        NEWTON_SCHULZ.replace("a, b, c = 3.4445, -4.7750, 2.0315", "a, b, c = 1.5, -0.5, 0"), {}, "a wide 3×5 matrix",
        "the classical cubic"),
    "newton_schulz: eps added, not a floor": (
        NEWTON_SCHULZ.replace("max(np.linalg.norm(X), eps)", "(np.linalg.norm(X) + eps)"), {}, "a 3×4 matrix of norm",
        "ε is a floor, not a term"),
    "newton_schulz: no floor": (
        NEWTON_SCHULZ.replace("max(np.linalg.norm(X), eps)", "np.linalg.norm(X)"), {}, "a 3×4 matrix of norm",
        "divide by max(‖G‖_F, ε), which is ε"),
    "newton_schulz: eps ignored": (
        NEWTON_SCHULZ.replace("max(np.linalg.norm(X), eps)", "max(np.linalg.norm(X), 1e-7)"), {},
        "a tall 5×3 matrix of norm", "use the eps argument"),
    "newton_schulz: always 5 steps": (
        NEWTON_SCHULZ.replace("range(steps)", "range(5)"), {}, "ten steps", "use the steps argument"),
    "newton_schulz: float32": (
        NEWTON_SCHULZ.replace("X = G.T if tall else G", "X = (G.T if tall else G).astype(np.float32)"), {},
        "a wide 3×5 matrix", "ran in float32"),
    "newton_schulz: float32, written otherwise": (
        """
def newton_schulz(G, steps=5, eps=1e-7):
    X = np.float32(1) * G.astype(np.float32)
    X = X / np.float32(max(np.sqrt(np.sum(X * X)), eps))
    for _ in range(steps):
        A = X @ X.T
        X = np.float32(3.4445) * X + np.float32(-4.7750) * (A @ X) + np.float32(2.0315) * (A @ (A @ X))
    return X
""", {}, "a tall 6×3 matrix", "ran in float32"),
    "newton_schulz: float32, tiny norm": (
        NEWTON_SCHULZ.replace("X = G.T if tall else G", "X = (G.T if tall else G).astype(np.float32)"), {},
        "a 3×4 matrix of norm", "ran in float32"),
    "muon: docstring momentum": (
        MUON.replace("B = momentum * B + (1 - momentum) * grad", "B = momentum * B + grad")
            .replace("U = (1 - momentum) * grad + momentum * B", "U = grad + momentum * B"),
        {}, "first step of a wide 3×5 W", "that is the form in torch's docstring"),
    "muon: EMA buffer, docstring Nesterov": (
        MUON.replace("U = (1 - momentum) * grad + momentum * B", "U = grad + momentum * B"),
        {}, "a tall 6×3 W", "Nesterov's mix is an average too"),
    "muon: Nesterov with the old buffer": (
        MUON.replace("    B = momentum * B + (1 - momentum) * grad\n    U = (1 - momentum) * grad + momentum * B",
                     "    U = (1 - momentum) * grad + momentum * B\n    B = momentum * B + (1 - momentum) * grad"),
        {}, "a tall 6×3 W", "update B first, then mix"),
    "muon: nesterov ignored": (
        MUON.replace(" if nesterov else B", ""), {}, "nesterov=False", "with nesterov=False there is no mix"),
    "muon: L2": (
        MUON.replace("    B = momentum * B + (1 - momentum) * grad",
                     "    grad = grad + weight_decay * W\n    B = momentum * B + (1 - momentum) * grad")
            .replace("W = W * (1 - lr * weight_decay)", "pass"),
        {}, "weight decay λ = 0.2", "that is L2"),
    "muon: decay with the scaled lr": (
        MUON.replace("W = W * (1 - lr * weight_decay)", "W = W * (1 - lr * np.sqrt(max(1, rows / cols)) * weight_decay)"),
        {}, "weight decay λ = 0.2", "the decay uses η itself"),
    "muon: decay after the step": (
        MUON.replace("    W = W * (1 - lr * weight_decay)\n    return W - lr * np.sqrt(max(1, rows / cols)) * O, B",
                     "    W = W - lr * np.sqrt(max(1, rows / cols)) * O\n    return W * (1 - lr * weight_decay), B"),
        {}, "weight decay λ = 0.2", "decay the W from before the step"),
    "muon: scale without the root": (
        MUON.replace("np.sqrt(max(1, rows / cols))", "max(1, rows / cols)"), {}, "a tall 6×3 W",
        "the scale is the square root"),
    "muon: scale without max(1, ·)": (
        MUON.replace("np.sqrt(max(1, rows / cols))", "np.sqrt(rows / cols)"), {}, "first step of a wide 3×5 W",
        "a wide W (rows < cols) is not scaled down"),
    "muon: scale from the transposed shape": (
        MUON.replace("rows, cols = W.shape", "cols, rows = W.shape"), {}, "nesterov=False on a wide 4×8 W",
        "your scale used the transposed shape"),
    "muon: no scale": (
        MUON.replace("np.sqrt(max(1, rows / cols)) * O", "O"), {}, "a tall 6×3 W", "steps √(rows/cols) times further"),
    "muon: not orthogonalised": (
        MUON.replace("O = newton_schulz(U, ns_steps)", "O = U"), {}, "first step of a wide 3×5 W",
        "orthogonalise before stepping"),
    "muon: always 5 NS steps": (
        MUON.replace("O = newton_schulz(U, ns_steps)", "O = newton_schulz(U)"), {}, "weight decay λ = 0.2", "pass ns_steps on"),
    "muon: float32": (
        MUON.replace("    B = momentum * B + (1 - momentum) * grad",
                     "    W, grad, B = W.astype(np.float32), grad.astype(np.float32), B.astype(np.float32)\n"
                     "    B = momentum * B + (1 - momentum) * grad"),
        {}, "a tall 6×3 W", "ran in float32"),
    "muon: buffer changed in place": (
        MUON.replace("    B = momentum * B + (1 - momentum) * grad", "    B *= momentum\n    B += (1 - momentum) * grad"),
        {}, "first step of a wide 3×5 W", "changed its input B in place"),
    "muon_mask: biases to Muon too": (
        MUON_MASK.replace("[False] * fan_out", "[True] * fan_out"), {}, "one layer", "the biases went to Muon too"),
    "muon_mask: the wrong way round": (
        MUON_MASK.replace("return np.array(mask)", "return ~np.array(mask)"), {}, "one layer",
        "the mask is the wrong way round"),
    "muon_mask: all weights, then all biases": (
        """
def muon_mask(sizes):
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return np.array([True] * sum(i * o for i, o in pairs) + [False] * sum(o for _, o in pairs))
""", {}, "two layers", "layer by layer W₁, b₁, W₂, b₂"),
    "muon_mask: output layer to AdamW": (
        """
def muon_mask(sizes):
    mask = []
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        mask += [layer < len(sizes) - 1] * (fan_in * fan_out) + [False] * fan_out
    return np.array(mask)
""", {}, "two layers", "the output layer's too"),
    "muon_mask: a matrix with a side of 1 taken for a vector": (
        MUON_MASK.replace("[True] * (fan_in * fan_out)", "[min(fan_in, fan_out) > 1] * (fan_in * fan_out)"), {},
        "a layer one unit wide", "even when one of its sides is 1"),
    "muon_mask: 0/1 integers instead of True/False": (
        MUON_MASK.replace("return np.array(mask)", "return np.array(mask, dtype=int)"), {}, "one layer",
        "expected a boolean array"),
    "muon_mask: biases forgotten": (
        MUON_MASK.replace(" + [False] * fan_out", ""), {}, "one layer", "mask has shape (6,), expected shape (9,)"),
    "adam: m̂ and v̂ returned instead of m and v": (
        ADAM.replace("return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t",
                     "return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat, t"), {},
        "first step, from zero moments", "you returned m̂ and v̂"),
    "adam: computed in float32": (
        ADAM.replace("    t = t + 1\n", "    t = t + 1\n    theta, grad, m, v = (np.float32(x) for x in (theta, grad, m, v))\n"),
        {}, "a later step", "float32"),
    "adam: returned in float32, right to 1e-7": (
        ADAM.replace("return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t",
                     "return np.float32(theta - lr * m_hat / (np.sqrt(v_hat) + eps)), m, v, t"), {},
        "first step, from zero moments", "single precision"),
    "rmsprop: signature changed": (
        """
def rmsprop_step(theta, grad, square_avg, lr, beta=0.99):
    square_avg = beta * square_avg + (1 - beta) * grad**2
    return theta - lr * grad / (np.sqrt(square_avg) + 1e-8), square_avg
""", {}, "first step, from an average of zeros", "keep the signature given in the notebook"),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_a_typical_mistake_is_caught_and_explained(name):
    code, options, case, words = MISTAKES[name]
    function = [value for value in define(code).values() if callable(value) and value is not np][-1]  # the last one
    result = check(function, **options)
    report = result.report()
    assert not result, report
    failed = [c for c in result.cases if not c.passed]
    assert any(c.title.startswith(case) for c in failed), f"case {case!r} did not fail:\n{report}"
    assert f"✗ {case}" in report
    message = next(f"{c.details}\n{c.hint}" for c in failed if c.title.startswith(case))
    assert words in message, report
    assert "Traceback" not in report


# --- the hidden cases: every hyperparameter varied; planted wrong code fails them --------------

EXERCISE_11 = REPO / "exercises" / "source" / "11_modern_optimizers.ipynb"
#: The arguments of each exercise function that are not its data (arrays, a state, a step number):
#: each must take two values or more across the hidden cases, and no two may be equal in all of them.
HYPERPARAMETERS = {
    "gd_step": ("lr",),
    "minibatch_gradient": (),
    "momentum_step": ("lr", "momentum"),
    "ema_momentum_step": ("lr", "beta"),
    "adagrad_step": ("lr", "eps"),
    "rmsprop_step": ("lr", "beta", "eps"),
    "adam_step (no bias correction)": ("lr", "beta1", "beta2", "eps"),
    "adam_step": ("lr", "beta1", "beta2", "eps"),
    "adamw_step": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "clip_by_global_norm": ("max_norm",),
    "warmup_cosine": ("lr", "warmup_steps", "total_steps", "min_lr"),
    "amsgrad_step": ("lr", "beta1", "beta2", "eps"),
    "lion_step": ("lr", "beta1", "beta2", "weight_decay"),
    "newton_schulz": ("steps", "eps"),
    "muon_step": ("lr", "momentum", "nesterov", "weight_decay", "ns_steps"),
    "muon_mask": ("sizes",),
    "range_test_lr": ("lr_min", "lr_max", "steps"),
    "smooth": ("beta",),
    "weight_average_step": ("beta",),
}
#: The data arguments (everything else in a signature is a hyperparameter, listed above).
DATA = {"theta", "grad", "m", "v", "t", "v_max", "buffer", "velocity", "sum_sq", "square_avg", "w", "X",
        "y", "batch", "grads", "step", "G", "W", "B", "losses", "average"}


def named(name: str, function):
    """``function`` under the name ``check`` looks it up by."""
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    wrapper.__name__ = name
    return wrapper


def signature_arguments(key: str) -> dict[str, object]:
    """The arguments of an exercise function's signature, with their defaults (None when there is none)."""
    inside = EXERCISES[key].signature.split("(", 1)[1].split(")", 1)[0]
    arguments = {}
    for part in inside.split(","):
        name, _, default = part.strip().partition("=")
        arguments[name] = ast.literal_eval(default) if default else None
    return arguments


@pytest.mark.slow  # every mistake on six seeds: about 5 s, so the quick command leaves it to the full one
@pytest.mark.parametrize("name, number", [(name, number) for name in ("newton_schulz", "muon_step", "muon_mask")
                                          for number in range(len(EXERCISES[name].mistakes))])
def test_each_planted_mistake_of_exercise_11_fails_with_its_own_hint(name, number):
    mistake = EXERCISES[name].mistakes[number]
    for seed in (0, 1101, 1102, 1103, 1104, 1105):
        result = check(named(name, mistake.function), seed=seed)
        assert not result, f"seed {seed}: the mistake passes every case"
        assert any(case.hint == mistake.hint for case in result.cases if not case.passed), (
            f"seed {seed}: no failed case gives the mistake's own hint\n{result.report()}")


def hidden_checks() -> dict[str, list[HiddenCheck]]:
    """Every function check the hidden tests of all the sources run, by exercise key."""
    checks: dict[str, list[HiddenCheck]] = {}
    for path in SOURCES:
        for test in gen.graded_tests(nbformat.read(path, as_version=4)):
            for hidden in parse_test(test.source):
                if hidden.kind == "function":
                    checks.setdefault(hidden.key, []).append(hidden)
    return checks


HIDDEN = hidden_checks()


def hidden_calls(key: str) -> list[dict]:
    """The arguments of every call the hidden tests make of a function (a trajectory: its first step)."""
    return [kwargs for hidden in HIDDEN[key] for case in cases_of(hidden) for kwargs in case.calls]


def run_hidden(key: str, function, hidden_checks: list[HiddenCheck] | None = None) -> list:
    """The hidden checks of a function (all, or those given), run on ``function`` in this process."""
    options = {"bias_correction": False} if key == "adam_step (no bias correction)" else {}
    return [check(named(EXERCISES[key].function_name, function), seed=hidden.seed, cases=hidden.cases, **options)
            for hidden in (HIDDEN[key] if hidden_checks is None else hidden_checks)]


def test_exercise_11_is_graded_on_every_function_for_10_points():
    notebook = nbformat.read(EXERCISE_11, as_version=4)
    assert {"newton_schulz", "muon_step", "muon_mask"} <= set(HIDDEN)
    assert sum(test.points for test in gen.graded_tests(notebook)) == 10


def test_the_catalogue_names_every_argument_and_every_function_is_graded():
    assert set(HYPERPARAMETERS) == set(EXERCISES) == set(HIDDEN)
    for key, hyper in HYPERPARAMETERS.items():
        assert set(signature_arguments(key)) == set(hyper) | (set(signature_arguments(key)) & DATA), key
        assert not set(hyper) & DATA


@pytest.mark.parametrize("key", HYPERPARAMETERS)
def test_the_hidden_cases_vary_every_hyperparameter(key):
    calls, hyper = hidden_calls(key), HYPERPARAMETERS[key]
    for kwargs in calls:
        assert set(hyper) <= set(kwargs), f"a hidden case leaves {set(hyper) - set(kwargs)} to the student's default"
    values = {h: [repr(kwargs[h]) for kwargs in calls] for h in hyper}  # repr: True is not 1, 0.0 is not False
    for h in hyper:
        assert len(set(values[h])) >= 2, f"{key}: {h} takes one value only, {values[h][0]}, in the hidden cases"
    for first, second in itertools.combinations(hyper, 2):
        assert values[first] != values[second], f"{key}: {first} and {second} are equal in every hidden case"


def planted(key: str) -> dict[str, object]:
    """Wrong versions of an exercise function, made from its reference: each must fail a hidden test."""
    exercise, hyper = EXERCISES[key], HYPERPARAMETERS[key]
    reference, wrong = exercise.reference, {}
    for h in hyper:  # an argument ignored: fixed to its default, or to any value the hidden cases use
        values = [kwargs.get(h) for kwargs in hidden_calls(key)] + [signature_arguments(key)[h]]
        for value in {repr(value): value for value in values if value is not None}.values():
            wrong[f"{h} always {value!r}"] = lambda *a, h=h, value=value, **k: reference(*a, **{**k, h: value})
    for first, second in itertools.combinations(hyper, 2):  # two arguments swapped
        wrong[f"{first} and {second} swapped"] = (
            lambda *a, first=first, second=second, **k: reference(*a, **{**k, first: k[second], second: k[first]}))
    if "weight_decay" in hyper:  # the decay written with η twice: θ (1 − η η)
        wrong["η used twice in the decay"] = lambda *a, **k: reference(*a, **{**k, "weight_decay": k["lr"]})

    def in_place(**k):  # the new value written into the first array argument
        outputs = reference(**{name: value.copy() if isinstance(value, np.ndarray) else value
                               for name, value in k.items()})
        first = outputs[0] if isinstance(outputs, tuple) else outputs
        target = next(value for value in k.values() if isinstance(value, np.ndarray))
        target[...] = np.broadcast_to(first, target.shape) if np.ndim(first) else first
        return outputs

    def single_precision(**k):  # right, but returned in float32 (and given float32 back on the next step)
        k = {name: value.astype(float) if isinstance(value, np.ndarray) and value.dtype == np.float32 else value
             for name, value in k.items()}
        outputs = reference(**k)
        as_single = [np.float32(o) if isinstance(o, float) else o.astype(np.float32)
                     if isinstance(o, np.ndarray) and o.dtype.kind == "f" else o
                     for o in (outputs if isinstance(outputs, tuple) else (outputs,))]
        return tuple(as_single) if isinstance(outputs, tuple) else as_single[0]

    if key not in ("warmup_cosine", "muon_mask"):
        wrong["an input changed in place"] = in_place
    if key != "muon_mask":
        wrong["float32 results"] = single_precision
    return wrong


#: The wrong functions of every exercise, made once (they keep no state), by key and name.
PLANTED_FUNCTIONS = {key: planted(key) for key in HYPERPARAMETERS}
PLANTED = [(key, name) for key, wrong in PLANTED_FUNCTIONS.items() for name in wrong]


@pytest.mark.slow  # about 200 wrong functions, each on every hidden check of its exercise
@pytest.mark.parametrize("key, name", PLANTED, ids=[f"{key}: {name}" for key, name in PLANTED])
def test_planted_wrong_code_fails_a_hidden_test(key, name, monkeypatch):
    if name != "float32 results":  # only whether it fails matters here: skip the search for a hint (the cost)
        monkeypatch.setattr(self_checks, "_matching_mistake", lambda *args: None)
    function, results = PLANTED_FUNCTIONS[key][name], []
    for hidden in HIDDEN[key]:  # stop at the first hidden test it fails
        results.append(run_hidden(key, function, [hidden])[0])
        if not results[-1]:
            break
    assert not all(results), f"{key} with {name} passes every hidden test"
    if name == "float32 results":
        hints = {case.hint for result in results for case in result.cases if not case.passed}
        assert not any("ε" in hint for hint in hints), hints
        assert any("float32" in hint for hint in hints), hints


def test_a_failure_shows_expected_and_got():
    report = check(define("def gd_step(theta, grad, lr):\n    return theta - grad\n")["gd_step"]).report()
    assert "theta: expected [" in report and "got [" in report and "largest difference" in report
    assert "hint: multiply the gradient by the learning rate η." in report


def test_an_error_points_at_the_line_that_raised():
    function = define("def gd_step(theta, grad, lr):\n    x = 1\n    return theta - lr * grd\n")["gd_step"]
    report = check(function).report()
    assert "your function raised NameError: name 'grd' is not defined (in gd_step, line 3" in report


def test_an_unwritten_function_says_so_in_one_line():
    function = define('def gd_step(theta, grad, lr):\n    raise NotImplementedError("write your code here")\n')
    result = check(function["gd_step"])
    assert not result
    assert result.report() == "✗ gd_step: not written yet (it still raises NotImplementedError)"


def test_assert_ok_raises_one_line_with_case_and_hint():
    function = define("def gd_step(theta, grad, lr):\n    return theta + lr * grad\n")["gd_step"]
    check(define("def gd_step(theta, grad, lr):\n    return theta - lr * grad\n")["gd_step"]).assert_ok()
    with pytest.raises(AssertionError) as error:
        check(function, cases=["trajectory"]).assert_ok()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("gd_step, case '20 steps on the valley")
    assert "you stepped up the gradient" in message


def test_hidden_seeds_give_other_numbers():
    def expected_first_theta(seed):
        return check(define("def gd_step(theta, grad, lr):\n    return theta\n")["gd_step"], seed=seed,
                     cases=["one_step"]).cases[0].details

    assert expected_first_theta(0) != expected_first_theta(101)


def test_check_refuses_what_it_cannot_check():
    gd_step = define("def gd_step(theta, grad, lr):\n    return theta - lr * grad\n")["gd_step"]
    with pytest.raises(TypeError, match=r"check\(gd_step\), not an array of shape \(2,\)"):
        check(gd_step(np.zeros(2), np.zeros(2), 0.1))
    with pytest.raises(ValueError, match="yours is called 'step'"):
        check(define("def step(theta, grad, lr):\n    return theta\n")["step"])
    with pytest.raises(ValueError, match="unknown cases"):
        check(gd_step, cases=["nope"])
    with pytest.raises(ValueError, match="only for adam_step"):
        check(gd_step, bias_correction=False)


@pytest.mark.parametrize("value", [0.5, 2 / 4, 0.5000001, np.float64(0.5), 1 / 2])
def test_a_right_answer_passes_in_any_form(value):
    result = check_answer("lr_max", value)
    assert result and result.report() == "✓ lr_max: right"


def test_a_wrong_answer_gets_a_hint_but_not_the_answer():
    result = check_answer("lr_max", 0.25)
    assert not result
    assert "you answered 0.25" in result.report() and "hint:" in result.report()
    assert "0.5" not in result.report()
    with pytest.raises(AssertionError, match="lr_max: not right yet"):
        result.assert_ok()


@pytest.mark.parametrize("value, words", [(None, "not answered yet"), ("half", "finite number"),
                                          (True, "finite number"), (float("nan"), "finite number")])
def test_a_non_answer_is_named(value, words):
    result = check_answer("lr_max", value)
    assert not result and words in result.report()


@pytest.mark.parametrize("question, right, wrong", [("warmup_cosine_midpoint", 5e-4, 1e-3),
                                                   ("lion_step_length", 1e-4, 1e-2)])
def test_the_questions_of_lessons_08_and_09(question, right, wrong):
    assert check_answer(question, right)
    result = check_answer(question, wrong)
    assert not result and "hint:" in result.report()


@pytest.mark.parametrize("question, right, wrong", [("ns_rank_one", 0.6964, 1.0), ("ns_rank_one", 0.696, 0.701),
                                                   ("transpose_changes", "Cost", "result"),
                                                   ("transpose_changes", " cost ", "both")])
def test_the_questions_of_exercise_11(question, right, wrong):
    assert check_answer(question, right)
    result = check_answer(question, wrong)
    assert not result and "hint:" in result.report()
    assert "0.696" not in result.report() and "cost" not in result.report().lower()


def test_answers_in_words():
    assert check_answer("adam_weight_decay", " l2 ")
    assert not check_answer("adam_weight_decay", "decoupled")
    assert "answer 'L2' or 'decoupled'" in check_answer("adam_weight_decay", "yes").report()
    with pytest.raises(ValueError, match="unknown question"):
        check_answer("nope", 1)


# --- the generator ---------------------------------------------------------------------------


def test_a_solution_in_a_function_becomes_a_stub_at_its_indentation():
    source = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION"
    assert gen.strip_solutions(source) == (
        "def f(x):\n    '''doc'''\n    raise NotImplementedError(\"write your code here\")")


def test_a_top_level_answer_becomes_none():
    source = "### BEGIN SOLUTION\nlr_max = 2 / 4  # the reason\nother = 'x'\n### END SOLUTION\nprint(lr_max)"
    assert gen.strip_solutions(source) == "lr_max = None  # your answer\nother = None  # your answer\nprint(lr_max)"
    assert gen.strip_solutions("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION") == gen.CODE_STUB
    assert gen.strip_solutions("Because\n### BEGIN SOLUTION\nit is.\n### END SOLUTION", "markdown") == (
        "Because\n" + gen.MARKDOWN_STUB)


def test_hidden_tests_are_removed():
    source = "check(f)\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS\n"
    assert gen.remove_hidden_tests(source) == "check(f)"


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                                    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unmatched_markers_are_refused(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        gen.strip_solutions(source, where="demo")


def test_the_student_version_of_a_small_notebook():
    solution = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
                                         metadata={"nbgrader": {"solution": True, "grade_id": "f"}}, execution_count=3)
    solution.outputs = [nbformat.v4.new_output("stream", text="1")]
    hidden = nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert f() == 1\n### END HIDDEN TESTS",
                                       metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), solution, hidden])
    student = gen.student_version(notebook, "99_demo")
    assert [cell.id for cell in student.cells] == [notebook.cells[0].id, solution.id]
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert "nbgrader" not in student.cells[1].metadata
    assert student.metadata["course_exercise"] == "99_demo"
    assert gen.graded_tests(notebook) == [gen.GradedTest("t", 1.0, hidden.source)]


def test_there_is_an_exercise_per_lesson_and_a_student_notebook_per_source():
    assert [path.stem for path in SOURCES] == LESSONS
    assert sorted(p.name for p in (REPO / "exercises").glob("*.ipynb")) == [p.name for p in SOURCES]


def test_committed_student_notebooks_are_what_the_generator_makes():
    assert gen.stale_notebooks() == [], "run: python -m lessons_lib.tooling.student_notebooks generate"


def test_the_generator_is_byte_stable(tmp_path):
    gen.generate(out_dir=tmp_path)
    first = {path.name: path.read_bytes() for path in tmp_path.glob("*.ipynb")}
    gen.generate(out_dir=tmp_path)
    assert first == {path.name: path.read_bytes() for path in tmp_path.glob("*.ipynb")}
    assert first == {path.name: (REPO / "exercises" / path.name).read_bytes() for path in tmp_path.glob("*.ipynb")}


def marked_lines(text: str) -> set[str]:
    """The lines inside solution and hidden-test blocks (stripped)."""
    lines, inside = set(), False
    for line in text.splitlines():
        marker = line.strip()
        if marker in (gen.BEGIN_SOLUTION, gen.BEGIN_HIDDEN):
            inside = True
        elif marker in (gen.END_SOLUTION, gen.END_HIDDEN):
            inside = False
        elif inside:
            lines.add(marker)
    return lines


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_no_solution_or_hidden_test_leaks_into_the_student_notebook(source):
    notebook = nbformat.read(source, as_version=4)
    texts = [cell_source(cell) for cell in notebook.cells]
    secret = set().union(*(marked_lines(text) for text in texts))
    student_texts = [gen.remove_hidden_tests(gen.strip_solutions(text)) for text in texts]
    visible = {line.strip() for text in student_texts for line in text.splitlines()}
    secret = {line for line in secret - visible if len(line) > 3 and not line.startswith("#")}
    assert secret, "the source has no marked solution or hidden test"
    student_path = REPO / "exercises" / source.name
    student_text = student_path.read_text(encoding="utf-8")
    student_lines = {line.strip() for cell in nbformat.read(student_path, as_version=4).cells
                     for line in cell_source(cell).splitlines()}
    leaked = sorted(line for line in secret if line in student_lines)
    assert not leaked, f"{student_path.name} shows solution or hidden-test lines: {leaked}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "nbgrader", "assert_ok"):
        assert marker not in student_text, f"{student_path.name} contains {marker!r}"


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_a_source_runs_cleanly_and_its_checks_pass(source):
    namespace = run_cells(source)  # hidden tests included: they raise if a check fails
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        text = cell_source(cell)
        if cell.cell_type == "code" and text.startswith("check"):
            result = eval(text.splitlines()[-1], namespace)
            assert result, result.report()


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_a_source_is_marked_as_nbgrader_expects(source):
    notebook = nbformat.read(source, as_version=4)
    assert notebook.metadata["course_exercise"] == source.stem  # kept in nbgrader's release version too
    marked = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    ids = [cell.metadata.nbgrader.grade_id for cell in marked]
    assert len(ids) == len(set(ids)), f"grade ids must be unique: {ids}"
    for cell in marked:
        marks = cell.metadata.nbgrader
        assert marks.schema_version == 3 and {"grade", "solution", "locked", "task"} <= set(marks)
        text = cell_source(cell)
        if marks.solution:
            assert gen.BEGIN_SOLUTION in text and not marks.grade and not marks.locked
        else:  # a visible check (nbgrader's Validate fails on wrong work), and hidden cases for a function
            assert marks.grade and marks.locked and marks.points > 0
            visible = gen.remove_hidden_tests(text)
            assert ".assert_ok()" in visible, text
            assert gen.BEGIN_HIDDEN in text or "check_answer(" in visible, text
    assert gen.graded_tests(notebook), "a source needs graded tests"
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_every_exercise_and_question_is_used_by_a_source():
    text = "".join(path.read_text(encoding="utf-8") for path in SOURCES)
    for exercise in EXERCISES.values():
        assert f"def {exercise.function_name}(" in text
    for question in QUESTIONS:
        assert f'check_answer(\\"{question}\\", {question})' in text


def test_the_student_notebooks_raise_only_where_the_student_writes():
    """Run blank: each function raises NotImplementedError, each check says 'not written yet' (no crash)."""
    for path in sorted((REPO / "exercises").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        assert notebook.metadata["course_exercise"] == path.stem
        namespace: dict = {}
        for cell in notebook.cells:
            text = cell_source(cell)
            if cell.cell_type != "code":
                continue
            try:
                exec(compile(text, path.name, "exec"), namespace)
            except NotImplementedError:
                continue  # an exploration cell that calls the unwritten function
            if text.startswith("check"):
                result = eval(text.splitlines()[-1], namespace)
                assert not result and "not" in result.report()


def test_pytest_does_not_collect_the_exercises():
    """The student notebooks raise NotImplementedError by design: nbval must not run them."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert not any("exercises" in path for path in config["tool"]["pytest"]["ini_options"]["testpaths"])


def test_the_guide_gives_each_exercises_point_total():
    """exercises/README.md's table: the points column is the sum of each source's graded tests."""
    table = {}
    for line in (REPO / "exercises" / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `") and cells[0].endswith('.ipynb`'):
            table[cells[0].strip("`").removesuffix(".ipynb")] = float(cells[-1])
    totals = {path.stem: sum(test.points for test in gen.graded_tests(nbformat.read(path, as_version=4)))
              for path in SOURCES}
    assert table == totals
