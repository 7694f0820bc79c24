"""Many small networks trained at once, for the claims tests: ``train_batched`` is ``train`` for a list of runs.

An update rule of the course acts on each coordinate of θ separately, so one rule applied to the stacked
parameters of N networks is that rule applied to each network; a learning rate given as an array like θ
(one η per coordinate) makes one rule act as the same rule with a different η on each network (every rule
used here takes a step linear in η and reads ``self.lr`` at each call). ``train_batched`` therefore trains
N runs of one small MLP side by side, with the library's rules, initialisation (``MLP.init``) and batch
order (``minibatches`` with ``np.random.default_rng(seed)``), and a batched copy of ``MLP.loss_and_grad``:
each run as ``lessons_lib.training.train(rule, model, data, epochs=..., seed=..., theta0=..., schedule=...,
clip_norm=...)`` would train it, to rounding (the test files that use it hold a short run of it to
``train`` at 1e-10). The arithmetic is float64 throughout; only the Python loop is shared. Adam, AdamW and
SGD, the rules trained most, are stepped by ``BatchedAdam`` and ``BatchedSGD``: the library's update, its
operations in its order, in place and with each network's own hyperparameters (one group for all of them);
other rules by ``BatchedLibraryRule``, the library's rule itself with one η per coordinate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from lessons_lib.data import Dataset, minibatches
from lessons_lib.mlp import MLP
from lessons_lib.training import BLAS, TrainingRecord


def one_blas_thread():
    """One BLAS thread for tiny matrices, as ``train`` has, through its controller (``lessons_lib.training.BLAS``:
    the libraries found once)."""
    return BLAS.limit(limits=1, user_api="blas")


@dataclass(frozen=True, eq=False)
class Run:
    """One run of ``train_batched``: ``train(rule, model, data, seed=seed, theta0=theta0, schedule=schedule,
    clip_norm=clip_norm)``."""

    rule: object
    seed: int = 0
    theta0: np.ndarray | None = None
    schedule: Callable[[int], float] | None = None
    clip_norm: float | None = None


def _layers(model: MLP, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """W1 (N × d × h), b1 (N × h), W2 (N × h × c), b2 (N × c) of N networks with one hidden layer."""
    d, h, c = model.sizes
    (w1, b1), (w2, b2) = model.layer_slices()
    N = len(thetas)
    return thetas[:, w1].reshape(N, d, h), thetas[:, b1], thetas[:, w2].reshape(N, h, c), thetas[:, b2]


def _log_sum_exp(z: np.ndarray) -> np.ndarray:
    """log Σ_k exp(z[..., k]), with the largest z taken out first (as ``lessons_lib.mlp``'s)."""
    z_max = _last_axis_max(z)
    return z_max + np.log(_last_axis_sum(np.exp(z - z_max[..., None])))


def _last_axis_max(z: np.ndarray) -> np.ndarray:
    """``z.max(axis=-1)`` (the same numbers: a maximum is exact), one column at a time: faster than numpy's
    reduction along a short last axis (the classes: 10)."""
    largest = z[..., 0].copy()
    for k in range(1, z.shape[-1]):
        np.maximum(largest, z[..., k], out=largest)
    return largest


def _last_axis_sum(e: np.ndarray) -> np.ndarray:
    """``e.sum(axis=-1)`` for a last axis of 8 to 15 values, in numpy's order (its pairwise sum: eight partial
    sums, added in pairs, then the rest one by one), so the same numbers to the last bit; faster than numpy's
    reduction along a short axis. ``test_the_short_sums_are_numpys`` (tests/test_claims_lesson06.py) holds it
    to ``sum``."""
    if not 8 <= e.shape[-1] < 16:
        return e.sum(axis=-1)
    total = ((e[..., 0] + e[..., 1]) + (e[..., 2] + e[..., 3])) + ((e[..., 4] + e[..., 5]) + (e[..., 6] + e[..., 7]))
    for k in range(8, e.shape[-1]):
        total += e[..., k]
    return total


def losses_and_grads(model: MLP, thetas: np.ndarray, X: np.ndarray, y: np.ndarray,
                     y_loss: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``MLP.loss_and_grad`` for N networks (thetas: N × P), network i on its own batch (X[i], y[i]):
    the N mean cross-entropies and the N gradients (N × P). With ``y_loss``, the losses are
    ``MLP.loss`` on the labels ``y_loss`` instead (the same forward pass)."""
    W1, b1, W2, b2 = _layers(model, thetas)
    N, n = y.shape
    rows = np.arange(n)
    z1 = X @ W1 + b1[:, None, :]
    h = np.maximum(z1, 0.0)
    z2 = h @ W2 + b2[:, None, :]
    log_norm = _log_sum_exp(z2)
    labels = y if y_loss is None else y_loss
    networks = np.arange(N)[:, None]
    losses = np.mean(log_norm - z2[networks, rows[None, :], labels], axis=1)
    dz2 = np.exp(z2 - log_norm[..., None])  # softmax
    dz2[networks, rows[None, :], y] -= 1.0
    dz2 /= n  # ∂loss/∂z_L = (p − onehot(y)) / n
    (w1, b1s), (w2, b2s) = model.layer_slices()
    grads = np.empty_like(thetas)
    grads[:, w2] = (h.transpose(0, 2, 1) @ dz2).reshape(N, -1)
    grads[:, b2s] = dz2.sum(axis=1)
    dz1 = (dz2 @ W2.transpose(0, 2, 1)) * (z1 > 0)
    grads[:, w1] = (X.transpose(0, 2, 1) @ dz1).reshape(N, -1)
    grads[:, b1s] = dz1.sum(axis=1)
    return losses, grads


def evaluate(model: MLP, thetas: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``MLP.loss`` and ``MLP.accuracy`` of N networks (thetas: N × P) on the same (X, y); the first layer is
    one product for all N."""
    W1, b1, W2, b2 = _layers(model, thetas)
    N, d, h = W1.shape
    W1cat = W1.transpose(1, 0, 2).reshape(d, N * h)
    z1 = (X @ W1cat + b1.reshape(N * h)).reshape(len(X), N, h).transpose(1, 0, 2)
    z2 = np.maximum(z1, 0.0) @ W2 + b2[:, None, :]
    losses = np.mean(_log_sum_exp(z2) - z2[:, np.arange(len(y)), y], axis=1)
    return losses, (z2.argmax(axis=-1) == y).mean(axis=1)


def _rule_key(rule: object) -> tuple:
    """Rules that differ at most in η share one batched rule."""
    return (type(rule), tuple((f.name, repr(getattr(rule, f.name))) for f in fields(rule) if f.name != "lr"))


def _column(rules: Sequence[object], name: str) -> np.ndarray:
    return np.array([float(getattr(rule, name)) for rule in rules])[:, None]


def _one_if_shared(column: np.ndarray) -> float | np.ndarray:
    """A column of per-network numbers as one number when they are all equal: the same products and quotients,
    and numpy's fast path for a number (three times faster than for a column)."""
    return float(column[0, 0]) if (column == column[0, 0]).all() else column


class BatchedLibraryRule:
    """Rules that differ at most in η, as one library rule acting on the stacked parameters (with one η per
    coordinate: the rule reads ``self.lr`` at each call)."""

    def __init__(self, rules: Sequence[object], thetas: np.ndarray):
        self.rule = copy.copy(rules[0])  # its own copy: its lr is set at every step
        self.rule_state = self.rule.init(thetas.ravel())

    def step(self, thetas: np.ndarray, g: np.ndarray, eta: np.ndarray) -> np.ndarray:
        object.__setattr__(self.rule, "lr", np.repeat(eta, thetas.shape[1]))
        new, self.rule_state = self.rule.update(thetas.ravel(), g.ravel(), self.rule_state)
        return new.reshape(thetas.shape)

    def state(self, j: int) -> object:
        return None  # not kept


class BatchedAdam:
    """``lessons_lib.optim.Adam`` (and AdamW), without amsgrad, for networks with their own β₁, β₂, ε, λ, bias
    correction: the library's operations in the library's order, in place, on the N × P parameters. A
    hyperparameter that all the networks share is used as one number; a bias correction that none of them
    makes is left out (a division by 1 changes nothing)."""

    def __init__(self, rules: Sequence[object], thetas: np.ndarray):
        self.beta1, self.beta2, self.eps = (_one_if_shared(_column(rules, name)) for name in ("beta1", "beta2", "eps"))
        self.keep1, self.keep2 = (_one_if_shared(1 - _column(rules, name)) for name in ("beta1", "beta2"))
        self.weight_decay = _column(rules, "weight_decay")
        self.decoupled = np.array([rule.decoupled_weight_decay for rule in rules])[:, None]
        self.corrected = [(rule.beta1, rule.beta2) if rule.bias_correction else None for rule in rules]
        self.m, self.v = np.zeros_like(thetas), np.zeros_like(thetas)
        self.tmp, self.tmp2 = np.empty_like(thetas), np.empty_like(thetas)
        self.t = 0

    def state(self, j: int) -> object:
        """Network j's state, as the library's Adam keeps it."""
        from lessons_lib.optim.adam import AdamState

        return AdamState(t=self.t, m=self.m[j].copy(), v=self.v[j].copy(), v_max=None)

    def corrections(self) -> tuple[float | np.ndarray | None, float | np.ndarray | None]:
        """1 − β₁ᵗ and 1 − β₂ᵗ of each network (Python's float **; 1 without the correction); None if all are 1."""
        if not any(self.corrected):
            return None, None
        c1 = np.array([1 - b[0] ** self.t if b else 1.0 for b in self.corrected])[:, None]
        c2 = np.array([1 - b[1] ** self.t if b else 1.0 for b in self.corrected])[:, None]
        return _one_if_shared(c1), _one_if_shared(c2)

    def step(self, thetas: np.ndarray, g: np.ndarray, eta: np.ndarray) -> np.ndarray:
        lr = _one_if_shared(eta[:, None])
        if self.weight_decay.any():  # λ = 0 leaves θ and g as they are, as in the library
            g = np.where(self.decoupled, g, g + self.weight_decay * thetas)  # L2
            thetas = np.where(self.decoupled, thetas * (1 - lr * self.weight_decay), thetas)  # decoupled
        self.t += 1
        m, v, tmp, tmp2 = self.m, self.v, self.tmp, self.tmp2
        m *= self.beta1  # m ← β₁ m + (1 − β₁) g
        np.multiply(self.keep1, g, out=tmp)
        m += tmp
        v *= self.beta2  # v ← β₂ v + (1 − β₂) g²
        np.square(g, out=tmp)
        tmp *= self.keep2
        v += tmp
        c1, c2 = self.corrections()
        np.sqrt(v if c2 is None else np.divide(v, c2, out=tmp), out=tmp)  # √v̂ (v̂ = v / (1 − β₂ᵗ))
        tmp += self.eps
        if c1 is None:
            np.multiply(m, lr, out=tmp2)
        else:
            np.divide(m, c1, out=tmp2)  # m̂
            tmp2 *= lr
        tmp2 /= tmp  # η m̂ / (√v̂ + ε), in this order as the library's expression
        return thetas - tmp2


class BatchedSGD:
    """``lessons_lib.optim.SGD`` without Nesterov and dampening, for networks with their own momentum and λ."""

    def __init__(self, rules: Sequence[object], thetas: np.ndarray):
        self.momentum, self.weight_decay = _column(rules, "momentum"), _column(rules, "weight_decay")
        self.decoupled = np.array([rule.decoupled_weight_decay for rule in rules])[:, None]
        self.b = None

    def state(self, j: int) -> object:
        from lessons_lib.optim.sgd import SGDState

        return SGDState(b=None if self.b is None or self.momentum[j, 0] == 0 else self.b[j].copy())

    def step(self, thetas: np.ndarray, g: np.ndarray, eta: np.ndarray) -> np.ndarray:
        lr = eta[:, None]
        if self.weight_decay.any():
            g = np.where(self.decoupled, g, g + self.weight_decay * thetas)
            thetas = np.where(self.decoupled, thetas * (1 - lr * self.weight_decay), thetas)
        if self.momentum.any():  # μ = 0: b ← 0 · b + g is g
            self.b = g.copy() if self.b is None else self.momentum * self.b + g
            g = self.b
        return thetas - lr * g


def _kind(rule: object) -> type:
    """The batched class that steps ``rule``."""
    from lessons_lib.optim import SGD, Adam, AdamW

    if type(rule) in (Adam, AdamW) and not rule.amsgrad:
        return BatchedAdam
    if type(rule) is SGD and not rule.nesterov and rule.dampening == 0:
        return BatchedSGD
    return BatchedLibraryRule


CHUNK = 16  # networks trained side by side (more: slower per network, the arrays leave the cache)


def train_batched(runs: Sequence[Run], model: MLP, data: Dataset, *, epochs: int, batch_size: int = 32,
                  evaluate_train: bool = True, keep_thetas: bool = False,
                  on_step: Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
                  first: int = 0,
                  ) -> list[TrainingRecord]:
    """One ``TrainingRecord`` per run, as ``train`` returns it (``message`` empty; ``state`` for Adam, AdamW
    and SGD, None for other rules and for a run that diverged).

    * ``evaluate_train``: as ``train``'s (False: the training loss and accuracy only before training);
    * ``keep_thetas``: the records get an attribute ``epoch_thetas``, θ after each epoch (epochs × P);
    * ``on_step(step, which, before, after, active)``, if given, is called after every update with the
      positions in ``runs`` of the networks it shows (they are trained ``CHUNK`` at a time), their
      parameters before and after it (one row each) and the mask of those still going (it must not modify
      them); if it returns True, the training stops there and ``train_batched`` returns no records
      (all on_step wanted is known). ``first`` is the position of ``runs[0]`` in the list it came from (internal).
    A run whose loss, gradient or new θ is not finite stops there, as in ``train``: its record ends at
    the last finished epoch, with ``diverged_at`` the 1-based step.
    """
    if len(model.sizes) != 3:
        raise ValueError("train_batched handles networks with one hidden layer")
    runs = list(runs)
    if len(runs) > CHUNK:  # a few networks at a time (as many in each chunk): their arrays stay in the cache
        size = -(-len(runs) // -(-len(runs) // CHUNK))
        return [record for start in range(0, len(runs), size)
                for record in train_batched(runs[start:start + size], model, data, epochs=epochs,
                                            batch_size=batch_size, evaluate_train=evaluate_train,
                                            keep_thetas=keep_thetas, on_step=on_step, first=first + start)]
    N, P = len(runs), model.n_params
    n_train = len(data.y_train)
    steps_per_epoch = -(-n_train // batch_size)
    thetas = np.array([model.init(r.seed) if r.theta0 is None else np.array(r.theta0, dtype=float) for r in runs])
    groups: dict[object, list[int]] = {}  # Adam and AdamW together, SGD together, other rules by _rule_key
    for i, r in enumerate(runs):
        if hasattr(r.rule, "evaluation_point") or hasattr(r.rule, "inner"):
            raise ValueError("train_batched: rules with an evaluation point or an inner rule are not handled")
        kind = _kind(r.rule)
        groups.setdefault(kind if kind is not BatchedLibraryRule else _rule_key(r.rule), []).append(i)
    steppers = [(np.array(members), _kind(runs[members[0]].rule)([runs[i].rule for i in members], thetas[members]))
                for members in groups.values()]
    fixed_lr = np.array([float(r.rule.lr) for r in runs])
    seeds = sorted({r.seed for r in runs})
    rngs = {s: np.random.default_rng(s) for s in seeds}
    seed_of = np.array([seeds.index(r.seed) for r in runs])
    clip = np.array([np.inf if r.clip_norm is None else float(r.clip_norm) for r in runs])
    clipped = np.flatnonzero(np.isfinite(clip))
    active = np.ones(N, dtype=bool)
    diverged_at = np.zeros(N, dtype=int)
    batch_losses = np.full((N, epochs * steps_per_epoch), np.nan)
    grad_norms = np.full_like(batch_losses, np.nan)
    lrs = np.full_like(batch_losses, np.nan)
    history = np.full((N, epochs + 1, 4), np.nan)
    epochs_done = np.zeros(N, dtype=int)
    ends = np.full((N, epochs, P), np.nan) if keep_thetas else None
    has_val = data.X_val is not None

    def measure(column: int, which: np.ndarray, on_train: bool) -> None:
        if on_train:
            history[which, column, 0], history[which, column, 1] = evaluate(
                model, thetas[which], data.X_train, data.y_train)
        if has_val:
            history[which, column, 2], history[which, column, 3] = evaluate(
                model, thetas[which], data.X_val, data.y_val)

    eta = fixed_lr.copy()
    scheduled = [(i, r.schedule) for i, r in enumerate(runs) if r.schedule is not None]
    one_group = len(steppers) == 1  # then its index is 0 … N − 1, in order
    which = first + np.arange(N)
    step = 0
    with one_blas_thread(), np.errstate(all="ignore"):
        measure(0, np.arange(N), True)
        for epoch in range(epochs):
            orders = [list(minibatches(n_train, batch_size, rngs[s])) for s in seeds]
            for k in range(steps_per_epoch):
                idx = np.array([order[k] for order in orders])[seed_of]
                loss, g = losses_and_grads(model, thetas, data.X_train[idx], data.y_train[idx])
                norm = np.sqrt(np.einsum("ij,ij->i", g, g))
                for i in clipped:  # as train: the norm of g @ g, on which the clipping acts
                    norm[i] = np.sqrt(g[i] @ g[i])
                broke = active & ~(np.isfinite(loss) & np.isfinite(norm))
                if clipped.size:
                    g[clipped] *= np.minimum(clip[clipped] / (norm[clipped] + 1e-6), 1.0)[:, None]
                for i, schedule in scheduled:
                    eta[i] = schedule(step)
                if one_group:
                    new = steppers[0][1].step(thetas, g, eta)
                else:
                    new = np.empty_like(thetas)
                    for index, stepper in steppers:
                        new[index] = stepper.step(thetas[index], g[index], eta[index])
                broke |= active & ~np.isfinite(new).all(axis=1)
                if broke.any() or not active.all():
                    diverged_at[broke] = step + 1
                    active &= ~broke
                    new[~active] = thetas[~active]
                    batch_losses[active, step] = loss[active]
                    grad_norms[active, step] = norm[active]
                    lrs[active, step] = eta[active]
                else:
                    batch_losses[:, step], grad_norms[:, step], lrs[:, step] = loss, norm, eta
                if on_step is not None and on_step(step, which, thetas, new, active) is True:
                    return []  # on_step has all it needs: stop here, without records
                thetas = new
                step += 1
            if keep_thetas:
                ends[active, epoch] = thetas[active]
            epochs_done[active] = epoch + 1
            measure(epoch + 1, np.flatnonzero(active), evaluate_train)
            if not active.any():
                break

    states = [None] * N
    for index, stepper in steppers:
        for j, i in enumerate(index):
            states[i] = None if diverged_at[i] else stepper.state(j)
    records = []
    for i in range(N):
        steps = epochs_done[i] * steps_per_epoch if not diverged_at[i] else diverged_at[i] - 1
        columns = history[i, : epochs_done[i] + 1]
        record = TrainingRecord(
            rule_name=str(getattr(runs[i].rule, "name", type(runs[i].rule).__name__)),
            batch_losses=batch_losses[i, :steps], grad_norms=grad_norms[i, :steps], lrs=lrs[i, :steps],
            train_loss=columns[:, 0], train_accuracy=columns[:, 1], val_loss=columns[:, 2],
            val_accuracy=columns[:, 3], theta=thetas[i], state=states[i], steps_per_epoch=steps_per_epoch,
            diverged_at=int(diverged_at[i]) or None, message="")
        if keep_thetas:
            object.__setattr__(record, "epoch_thetas", ends[i, : epochs_done[i]])
        records.append(record)
    return records


def assert_same_as_train(batched: TrainingRecord, record: TrainingRecord, rel: float = 1e-10) -> None:
    """The record of ``train_batched`` is ``train``'s to ``rel`` (relative), step by step and epoch by epoch."""
    for name in ("batch_losses", "grad_norms", "lrs", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                 "theta"):
        np.testing.assert_allclose(getattr(batched, name), getattr(record, name), rtol=rel, atol=0, err_msg=name)
    assert batched.diverged_at == record.diverged_at and batched.steps_per_epoch == record.steps_per_epoch
    if batched.state is not None:
        assert type(batched.state) is type(record.state)
        for name in vars(record.state):
            mine, theirs = getattr(batched.state, name), getattr(record.state, name)
            if theirs is None or mine is None:
                assert mine is None and theirs is None, name
            else:
                np.testing.assert_allclose(mine, theirs, rtol=rel, atol=0, err_msg=f"state.{name}")
