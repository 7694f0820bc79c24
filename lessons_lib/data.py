"""Small real data sets for the lessons, ready to train on. Nothing is downloaded.

::

    from lessons_lib.data import load_diabetes_regression, load_digits_classification
    data = load_diabetes_regression(seed=0)
    data.X_train.shape     # (354, 10): 354 patients, 10 standardized features
    data.y_train.shape     # (354,)

    digits = load_digits_classification(seed=0)
    digits.X_train.shape   # (1078, 64): 1078 images of 8 × 8 pixels, standardized
    digits.y_val[:5]       # labels 0 … 9 of the validation part

Every loader returns a ``Dataset``: a seeded train/test split whose features
(and, for regression, target) are standardized with the mean and standard
deviation of the *training* part only, so that nothing about the test part
leaks into training.

``minibatches(n, batch_size, rng)`` cuts one epoch into random minibatches,
the way a shuffling data loader does.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lessons_lib.checks import check_number, check_positive_int


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set split into a training part and a test part.

    * ``X_train`` (n_train, d), ``y_train`` (n_train,): what the optimizers see;
    * ``X_test``, ``y_test``: kept aside to check the model on unseen examples;
    * ``X_val``, ``y_val``: a validation part for choosing hyperparameters
      (learning rates, epochs) without looking at the test part, or None when
      the loader made no validation part;
    * ``feature_names``: one name per column of X;
    * ``description``: one line on where the data come from and how they were prepared.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    description: str
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random split of ``range(n)``: (train indices, test indices), both sorted.

    The test part has ``round(test_fraction * n)`` indices; the split depends
    only on ``n``, ``test_fraction`` and ``seed``.
    """
    n = check_positive_int(n, "n")
    test_fraction = check_number("test_fraction", test_fraction)
    n_test = round(test_fraction * n)
    if not 0 < test_fraction < 1 or not 0 < n_test < n:
        raise ValueError(
            f"test_fraction must leave at least one example in each part (0 < round(test_fraction * n) < n); "
            f"got test_fraction={test_fraction} with n={n}"
        )
    seed = _check_seed(seed)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale each column so that it has mean 0 and standard deviation 1 *on the training part*.

    The test part gets the same shift and scale (its mean and spread come out
    near 0 and 1, not exactly). A constant column is only shifted.
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


#: The diabetes data's ten features, in the order of its columns (as scikit-learn names them).
DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


def scikit_learn_csv(name: str, delimiter: str | None = None) -> np.ndarray:
    """A data file that ships with scikit-learn (``sklearn/datasets/data/<name>.csv.gz``), read as its loaders
    read it (``np.loadtxt``; ``delimiter`` None for spaces) but without importing it, which takes a second."""
    spec = importlib.util.find_spec("sklearn")  # where it is installed; nothing is imported
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the data sets ship with scikit-learn: pip install -r requirements.txt")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / f"{name}.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return np.loadtxt(file, delimiter=delimiter)


def load_diabetes_regression(seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """The diabetes data bundled with scikit-learn, as a standardized regression problem.

    442 patients; 10 features measured at a baseline visit (age, sex, body-mass
    index ``bmi``, average blood pressure ``bp`` and six blood serum measurements
    ``s1`` … ``s6``); the target is a measure of disease progression one year
    later. Features and target are standardized on the training part, so a
    model that always predicts 0 (the training mean) has a training
    mean-squared error of exactly 1.

    ``seed`` fixes the random train/test split; ``test_fraction`` of the
    patients (rounded) go to the test part.
    """
    features, target = scikit_learn_csv("diabetes_data_raw"), scikit_learn_csv("diabetes_target")
    train, test = split_indices(len(target), test_fraction, seed)
    X_train, X_test = standardize(features[train], features[test])
    y_train, y_test = standardize(target[train], target[test])
    return Dataset(
        X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test, feature_names=DIABETES_FEATURES,
        description=(
            f"scikit-learn's diabetes data: {len(train)} training and {len(test)} test patients "
            f"(split with seed {seed}), features and target standardized on the training part"
        ),
    )


def load_digits_classification(seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    """The handwritten digits bundled with scikit-learn, as a 10-class classification problem.

    1797 images of 8 × 8 pixels (64 features, ink levels 0 … 16), each
    labelled with the digit 0 … 9 it shows. The images are split at random
    (seeded) into a test part (``test_fraction`` of them), a validation part
    (``validation_fraction``) and a training part (the rest); each pixel is
    standardized with the mean and spread of the *training* images (pixels
    that are blank in every training image are only shifted). Labels are
    integers (``y_train.dtype`` is int64).
    """
    table = scikit_learn_csv("digits", delimiter=",")  # one image a row: 64 pixels, then its label
    images, labels = table[:, :-1], table[:, -1].astype(np.int64)
    n = len(labels)
    validation_fraction = check_number("validation_fraction", validation_fraction)
    test_fraction = check_number("test_fraction", test_fraction)
    if not (validation_fraction > 0 and test_fraction > 0 and validation_fraction + test_fraction < 1):
        raise ValueError(
            "validation_fraction and test_fraction must be > 0, with a sum < 1 that leaves a training part; "
            f"got validation_fraction={validation_fraction}, test_fraction={test_fraction}"
        )
    rest, test = split_indices(n, test_fraction, seed)
    # The validation part is validation_fraction of all images, taken from what the test part left.
    train_in_rest, val_in_rest = split_indices(len(rest), validation_fraction / (1 - test_fraction), seed)
    train, val = rest[train_in_rest], rest[val_in_rest]
    X_train, X_test = standardize(images[train], images[test])
    _, X_val = standardize(images[train], images[val])
    return Dataset(
        X_train=X_train, y_train=labels[train], X_test=X_test, y_test=labels[test], X_val=X_val, y_val=labels[val],
        feature_names=tuple(f"pixel_{row}_{col}" for row in range(8) for col in range(8)),
        description=(
            f"scikit-learn's digits: {len(train)} training, {len(val)} validation and {len(test)} test images "
            f"of 8 × 8 pixels (split with seed {seed}), pixels standardized on the training part"
        ),
    )


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch of minibatches: the indices ``range(n)`` in a random order, cut into pieces of ``batch_size``.

    Every example appears exactly once per epoch. When ``batch_size`` does not
    divide ``n`` the last batch is smaller (as with PyTorch's
    ``DataLoader(shuffle=True)``, whose ``drop_last`` is False by default).
    The order comes from ``rng.permutation(n)``, so a seeded generator gives
    the same batches on every run.
    """
    n = check_positive_int(n, "n")
    batch_size = check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be at most n = {n} (the number of examples), got {batch_size}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0); got {rng!r}")
    order = rng.permutation(n)  # drawn now, so that the batches do not depend on when they are read
    return (order[start : start + batch_size] for start in range(0, n, batch_size))


def _check_seed(seed: object) -> int:
    """A seed is a whole number >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)
