"""Train a model on a data set with any update rule, minibatch by minibatch, and keep the record.

::

    from lessons_lib.data import load_digits_classification
    from lessons_lib.mlp import MLP
    from lessons_lib.optim import Adam
    from lessons_lib.training import train

    data = load_digits_classification(seed=0)
    record = train(Adam(lr=1e-3), MLP((64, 32, 10)), data, epochs=20, batch_size=32)
    record.val_accuracy[-1]     # the validation accuracy after the last epoch
    record.message              # "Adam trained 20 epochs (680 steps)"

The loop is the one every lesson writes by hand::

    θ = θ₀;  state = rule.init(θ)
    for each epoch:
        for each minibatch B (the training examples shuffled, then cut):
            loss, g = ∇ of the mean loss on B at θ
            g ← clip(g)                           (only with clip_norm)
            θ, state = rule.step(θ, g, state)     (with lr = schedule(step), if a schedule is given)
        evaluate the loss and accuracy on the training and validation parts
        (at the rule's evaluation point where it has one: Schedule-Free's x)

A run that blows up is not an error: it stops at the first minibatch whose
loss or gradient is NaN or infinite, says which step that was, and keeps
the record up to there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import ThreadpoolController

from lessons_lib.checks import check_flag, check_positive, check_positive_int
from lessons_lib.clipping import clip_by_global_norm
from lessons_lib.data import Dataset, minibatches
from lessons_lib.mlp import MLP
from lessons_lib.runner import check_rule

BLAS = ThreadpoolController()  # numpy's BLAS library, found once: looking for it at every run costs milliseconds


@dataclass(frozen=True, eq=False)
class TrainingRecord:
    """What one training run did.

    Per update step (``steps_run`` of them):

    * ``batch_losses``: the minibatch loss at θ before the step;
    * ``grad_norms``: the gradient's norm ‖g‖ before any clipping;
    * ``lrs``: the learning rate the step used.

    Per epoch, with entry 0 measured *before* training (``epochs_run + 1`` entries):

    * ``train_loss``, ``train_accuracy``: on the whole training part (NaN after entry 0 with ``evaluate_train=False``);
    * ``val_loss``, ``val_accuracy``: on the validation part (NaN if the data set has none).

    And ``theta`` (the parameters at the end), ``state`` (the rule's state
    at the end), ``diverged_at`` (the 1-based step whose loss or gradient
    was NaN or infinite, or None) and ``message``.
    """

    rule_name: str
    batch_losses: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    theta: np.ndarray
    state: object
    steps_per_epoch: int
    diverged_at: int | None
    message: str

    @property
    def steps_run(self) -> int:
        return len(self.batch_losses)

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss) - 1


def check_record(record: object, name: str = "record") -> TrainingRecord:
    """``record`` itself if it is a TrainingRecord, else a ValueError naming the argument."""
    if not isinstance(record, TrainingRecord):
        raise ValueError(
            f"{name} must be a TrainingRecord (what lessons_lib.training.train returns), got {type(record).__name__}"
        )
    return record


def train(
    rule: object,
    model: MLP,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    theta0: np.ndarray | None = None,
    schedule: Callable[[int], float] | None = None,
    clip_norm: float | None = None,
    progress: bool = False,
    on_step: Callable[[int, np.ndarray, np.ndarray, object], None] | None = None,
    evaluate_train: bool = True,
) -> TrainingRecord:
    """Train ``model`` on ``data.X_train, data.y_train`` with ``rule`` for ``epochs`` epochs.

    * ``seed`` fixes both the start (``model.init(seed)``, unless ``theta0``
      is given) and the order of the minibatches, so two runs with the same
      arguments are identical;
    * ``schedule(step)`` gives the learning rate of update ``step`` (0-based);
      the rule's ``lr`` is replaced by it before each update
      (see ``lessons_lib.schedules``);
    * ``clip_norm``: rescale any gradient longer than this to this length
      (see ``lessons_lib.clipping``);
    * ``progress=True`` shows a progress bar over the epochs (tqdm's,
      notebook-aware);
    * ``on_step(step, theta_before, theta_after, state)``, if given, is called
      after every update (``step`` 0-based, ``state`` the rule's state after it),
      to measure what the record does not keep: update sizes, an average of θ.
      It must not modify the arrays it is given;
    * ``evaluate_train=False`` measures the training part's loss and accuracy
      only before training (entry 0; NaN after): most of the time of the
      per-epoch evaluation, saved when only the validation curve is wanted.
    """
    check_rule(rule)
    if not isinstance(model, MLP):
        raise ValueError(f"model must be a lessons_lib.mlp.MLP, got {type(model).__name__}")
    if not isinstance(data, Dataset):
        raise ValueError(f"data must be a lessons_lib.data.Dataset (e.g. load_digits_classification()), got {type(data).__name__}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if schedule is not None and not callable(schedule):
        raise ValueError(f"schedule must be a function of the step number giving the learning rate, or None; got {schedule!r}")
    if schedule is not None and not hasattr(rule, "lr"):
        raise ValueError(f"schedule needs a rule with a learning rate lr; {type(rule).__name__} has none")
    if clip_norm is not None:
        clip_norm = check_positive(clip_norm, "clip_norm")
    progress = check_flag(progress, "progress")
    evaluate_train = check_flag(evaluate_train, "evaluate_train")
    if on_step is not None and not callable(on_step):
        raise ValueError(f"on_step must be a function (step, theta_before, theta_after, state) or None, "
                         f"got {on_step!r}")
    theta = model.init(seed) if theta0 is None else model.check_theta(theta0, "theta0")

    rng = np.random.default_rng(seed)
    n_train = len(data.y_train)
    steps_per_epoch = -(-n_train // batch_size)  # ⌈n / batch_size⌉
    state = rule.init(theta)
    batch_losses: list[float] = []
    grad_norms: list[float] = []
    lrs: list[float] = []
    diverged_at = None
    reason = ""

    # The matrices of a small network are tiny: one BLAS thread multiplies them faster than two,
    # which spend more time handing work over than working (20 epochs of Adam on a (64, 32, 10) MLP,
    # on a busy 2-core machine: 0.2–0.4 s with one thread, 0.4–1.0 s with two).
    # The first evaluation too: a product on two threads leaves the second spinning, busy, through the whole run.
    with BLAS.limit(limits=1, user_api="blas"):
        history = [_evaluate(model, theta, data)]
        for _ in _epochs(epochs, progress, str(getattr(rule, "name", type(rule).__name__))):
            for batch in minibatches(n_train, batch_size, rng):
                step = len(batch_losses)
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, g = model.loss_and_grad(theta, data.X_train[batch], data.y_train[batch])
                    norm = float(np.sqrt(g @ g))  # NaN or infinite if g is, or if g is too large: divergence
                if not (np.isfinite(loss) and np.isfinite(norm)):
                    diverged_at, reason = step + 1, "the loss or the gradient became NaN or infinite"
                    break
                if clip_norm is not None:
                    g, _ = clip_by_global_norm(g, clip_norm)
                step_rule = rule if schedule is None else replace(rule, lr=schedule(step))
                # update() is step() without the argument checks: θ and g were checked just above.
                new_theta, state = getattr(step_rule, "update", step_rule.step)(theta, g, state)
                if not np.isfinite(new_theta).all():
                    diverged_at, reason = step + 1, "θ became NaN or infinite"
                    break
                if on_step is not None:
                    on_step(step, theta, new_theta, state)
                theta = new_theta
                batch_losses.append(loss)
                grad_norms.append(norm)
                lrs.append(float(step_rule.lr) if hasattr(step_rule, "lr") else np.nan)
            if diverged_at is not None:
                break
            # Schedule-Free trains at y but is evaluated at its average x (what its eval() switches to).
            at = rule.evaluation_point(theta, state) if hasattr(rule, "evaluation_point") else theta
            history.append(_evaluate(model, at, data, evaluate_train))

    name = str(getattr(rule, "name", type(rule).__name__))
    epochs_run = len(history) - 1
    if diverged_at is None:
        message = f"{name} trained {epochs_run} epochs ({len(batch_losses)} steps)"
    else:
        message = f"{name} diverged at step {diverged_at} (epoch {epochs_run + 1}): {reason}"
    columns = np.array(history, dtype=np.float64).reshape(-1, 4)
    return TrainingRecord(
        rule_name=name,
        batch_losses=np.array(batch_losses),
        grad_norms=np.array(grad_norms),
        lrs=np.array(lrs),
        train_loss=columns[:, 0], train_accuracy=columns[:, 1],
        val_loss=columns[:, 2], val_accuracy=columns[:, 3],
        theta=theta,
        state=state,
        steps_per_epoch=steps_per_epoch,
        diverged_at=diverged_at,
        message=message,
    )


def _evaluate(model: MLP, theta: np.ndarray, data: Dataset, on_train: bool = True) -> tuple[float, float, float, float]:
    """(training loss, training accuracy, validation loss, validation accuracy); NaN where there is no such part or
    ``on_train`` is False."""
    with np.errstate(over="ignore", invalid="ignore"):
        train_part = model.loss_and_accuracy(theta, data.X_train, data.y_train) if on_train else (np.nan, np.nan)
        val_part = (np.nan, np.nan) if data.X_val is None else model.loss_and_accuracy(theta, data.X_val, data.y_val)
        return *train_part, *val_part


def _epochs(epochs: int, progress: bool, name: str) -> range:
    """range(epochs), wrapped in a progress bar when asked for."""
    if not progress:
        return range(epochs)
    from tqdm.auto import tqdm  # imported here: only runs with a progress bar need it

    # No times or rates in the bar: what a notebook stores of it stays the same from run to run.
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} epochs"
    return tqdm(range(epochs), desc=name, leave=False, bar_format=bar_format)
