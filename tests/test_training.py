"""The training loop: it is the loop written by hand, it is seeded, and it stops cleanly when a run blows up."""

import dataclasses

import numpy as np
import pytest

from lessons_lib.data import load_digits_classification, minibatches
from lessons_lib.mlp import MLP
from lessons_lib.optim import SGD, Adam
from lessons_lib.training import train


@pytest.fixture(scope="module")
def model():
    return MLP((64, 16, 10))


def test_train_is_the_loop_written_by_hand(digits, model):
    rule = Adam(lr=1e-3)
    record = train(rule, model, digits, epochs=2, batch_size=100, seed=5)

    theta = model.init(5)
    state = rule.init(theta)
    rng = np.random.default_rng(5)
    for _ in range(2):
        for batch in minibatches(len(digits.y_train), 100, rng):
            _, g = model.loss_and_grad(theta, digits.X_train[batch], digits.y_train[batch])
            theta, state = rule.step(theta, g, state)
    np.testing.assert_array_equal(record.theta, theta)
    assert record.steps_run == 2 * 11 == len(record.lrs) and record.steps_per_epoch == 11
    assert record.message == "Adam trained 2 epochs (22 steps)" and record.diverged_at is None
    assert record.val_accuracy[-1] == model.accuracy(theta, digits.X_val, digits.y_val)
    assert record.train_loss[0] == model.loss(model.init(5), digits.X_train, digits.y_train)


def test_adam_learns_the_digits(digits, model):
    record = train(Adam(lr=1e-2), model, digits, epochs=5, seed=0)
    assert record.val_accuracy[0] < 0.3 and record.val_accuracy[-1] > 0.9
    assert record.train_loss[-1] < record.train_loss[0] / 5


def test_same_seed_same_run(digits, model):
    first, again = (train(SGD(lr=0.1, momentum=0.9), model, digits, epochs=1, seed=2) for _ in range(2))
    np.testing.assert_array_equal(first.theta, again.theta)
    other = train(SGD(lr=0.1, momentum=0.9), model, digits, epochs=1, seed=3)
    assert not np.array_equal(first.theta, other.theta)


def test_divergence_stops_the_run_and_says_where(digits, model):
    record = train(SGD(lr=1e6), model, digits, epochs=3, seed=0)  # a RuntimeWarning would fail the test (pyproject)
    assert record.diverged_at is not None and record.steps_run == record.diverged_at - 1
    assert record.message.startswith(f"SGD diverged at step {record.diverged_at} (epoch 1)")
    assert np.isfinite(record.theta).all() and np.isfinite(record.batch_losses).all()


def test_clipping_bounds_the_step_like_torch(digits, model):
    record = train(SGD(lr=1.0), model, digits, epochs=1, seed=0, clip_norm=0.5)
    theta0 = model.init(0)
    first_batch = next(iter(minibatches(len(digits.y_train), 32, np.random.default_rng(0))))
    _, g = model.loss_and_grad(theta0, digits.X_train[first_batch], digits.y_train[first_batch])
    assert np.linalg.norm(g) > 0.5 and record.grad_norms[0] == pytest.approx(np.linalg.norm(g))
    one_step = train(SGD(lr=1.0), model, digits, epochs=1, seed=0, clip_norm=0.5, batch_size=len(digits.y_train))
    full_g = model.loss_and_grad(theta0, digits.X_train, digits.y_train)[1]
    expected = theta0 - full_g * 0.5 / (np.linalg.norm(full_g) + 1e-6)
    np.testing.assert_allclose(one_step.theta, expected, rtol=0, atol=1e-15)


def test_schedule_sets_the_learning_rate_of_every_step(digits, model):
    record = train(SGD(lr=0.1), model, digits, epochs=2, batch_size=200, schedule=lambda step: 0.1 / (1 + step))
    np.testing.assert_array_equal(record.lrs, [0.1 / (1 + s) for s in range(12)])


def test_theta0_is_used_and_checked(digits, model):
    theta0 = np.zeros(model.n_params)
    record = train(SGD(lr=0.0), model, digits, epochs=1, theta0=theta0)
    np.testing.assert_array_equal(record.theta, theta0)
    assert record.train_loss[0] == pytest.approx(np.log(10))
    with pytest.raises(ValueError, match="theta0 must be a flat vector"):
        train(SGD(), model, digits, epochs=1, theta0=np.zeros(3))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rule": Adam}, "not the class Adam"),
        ({"rule": "adam"}, "rule must be an update rule"),
        ({"model": "mlp"}, "model must be a lessons_lib.mlp.MLP"),
        ({"data": (1, 2)}, "data must be a lessons_lib.data.Dataset"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"clip_norm": 0.0}, "clip_norm"),
        ({"schedule": 0.1}, "schedule must be a function"),
        ({"progress": "yes"}, "progress"),
        ({"on_step": 3}, "on_step must be a function"),
        ({"evaluate_train": 0}, "evaluate_train must be True or False"),
    ],
)
def test_bad_arguments(digits, model, change, message):
    arguments = {"rule": SGD(), "model": model, "data": digits, "epochs": 1} | change
    with pytest.raises(ValueError, match=message):
        train(**arguments)


def test_on_step_sees_every_update_with_theta_before_and_after_and_the_state(digits, model):
    seen = []
    record = train(Adam(lr=1e-2), model, digits, epochs=2, batch_size=200,
                   on_step=lambda step, before, after, state: seen.append((step, before, after, state.t)))
    assert [s[0] for s in seen] == list(range(record.steps_run)) == [s[3] - 1 for s in seen]
    np.testing.assert_array_equal(seen[0][1], model.init(0))
    np.testing.assert_array_equal(seen[-1][2], record.theta)
    assert all(np.array_equal(a[2], b[1]) for a, b in zip(seen, seen[1:]))
    plain = train(Adam(lr=1e-2), model, digits, epochs=2, batch_size=200)
    np.testing.assert_array_equal(plain.theta, record.theta)


def test_on_step_is_not_called_for_the_update_that_diverges(digits, model):
    steps = []
    record = train(SGD(lr=1e6), model, digits, epochs=3, on_step=lambda step, *_: steps.append(step))
    assert steps == list(range(record.steps_run)) and record.diverged_at is not None


def test_evaluate_train_false_measures_the_training_part_only_at_the_start_and_changes_nothing_else(digits, model):
    full = train(Adam(lr=1e-2), model, digits, epochs=2, seed=1)
    lean = train(Adam(lr=1e-2), model, digits, epochs=2, seed=1, evaluate_train=False)
    for name in ("batch_losses", "grad_norms", "lrs", "val_loss", "val_accuracy", "theta"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name))
    assert lean.train_loss[0] == full.train_loss[0] and lean.train_accuracy[0] == full.train_accuracy[0]
    assert np.isnan(lean.train_loss[1:]).all() and np.isnan(lean.train_accuracy[1:]).all()
    assert lean.epochs_run == 2 and lean.message == full.message


def test_a_dataset_without_validation_part_gives_nan_validation_columns(model):
    digits = load_digits_classification(seed=0)
    no_val = dataclasses.replace(digits, X_val=None, y_val=None)
    record = train(SGD(lr=0.1), model, no_val, epochs=1)
    assert np.isnan(record.val_loss).all() and np.isnan(record.val_accuracy).all()


def test_training_runs_blas_on_one_thread_and_gives_the_threads_back(digits, model):
    from threadpoolctl import threadpool_info

    seen = []

    def schedule(step):
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        return 0.1

    before = [pool["num_threads"] for pool in threadpool_info()]
    train(SGD(lr=0.1), model, digits, epochs=1, batch_size=500, schedule=schedule)
    assert seen and all(threads == {1} for threads in seen)
    assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_progress_bar_shows_epochs_without_times(digits, model, capsys):
    train(SGD(lr=0.1), model, digits, epochs=2, batch_size=500, progress=True)
    shown = capsys.readouterr().err
    assert "SGD:   0%" in shown and "0/2 epochs" in shown  # drawn at the start; leave=False clears it at the end
    assert "it/s" not in shown and "00:0" not in shown


def test_a_schedule_free_run_is_evaluated_at_its_average_x_not_at_the_training_point(digits, model):
    from lessons_lib.optim import AdamWScheduleFree

    rule = AdamWScheduleFree(lr=0.01, warmup_steps=10)
    record = train(rule, model, digits, epochs=2, batch_size=64)
    x = rule.evaluation_point(record.theta, record.state)
    assert not np.array_equal(x, record.theta)  # y, where the gradients were taken, is another point
    assert record.val_loss[-1] == model.loss(x, digits.X_val, digits.y_val)
    assert record.val_loss[-1] != model.loss(record.theta, digits.X_val, digits.y_val)
