"""The data loaders: seeded splits, standardization on the training part only, minibatches that cover an epoch."""

import numpy as np
import pytest

from lessons_lib.data import Dataset, load_diabetes_regression, load_digits_classification, minibatches, split_indices, standardize


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes_regression(seed=0)


def test_split_is_a_seeded_partition():
    train, test = split_indices(50, 0.2, seed=3)
    assert len(test) == 10 and len(train) == 40
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(50))
    again_train, again_test = split_indices(50, 0.2, seed=3)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    assert not np.array_equal(test, split_indices(50, 0.2, seed=4)[1])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.001, float("nan")])
def test_split_refuses_a_fraction_that_leaves_a_part_empty(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        split_indices(50, fraction, seed=0)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_split_refuses_a_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        split_indices(50, 0.2, seed=seed)


def test_standardize_uses_the_training_statistics_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    test = np.array([[3.0, 6.0], [7.0, 5.0]])
    train_s, test_s = standardize(train, test)
    assert np.allclose(train_s[:, 0].mean(), 0) and np.allclose(train_s[:, 0].std(), 1)
    assert np.allclose(test_s[:, 0], (test[:, 0] - 3.0) / np.std([1.0, 3.0, 5.0]))
    assert np.array_equal(train_s[:, 1], [0.0, 0.0, 0.0])  # a constant column is only shifted
    assert np.array_equal(test_s[:, 1], [1.0, 0.0])


def test_diabetes_is_split_and_standardized_on_the_training_part(diabetes):
    assert isinstance(diabetes, Dataset)
    assert diabetes.X_train.shape == (354, 10) and diabetes.y_train.shape == (354,)
    assert diabetes.X_test.shape == (88, 10) and diabetes.y_test.shape == (88,)
    assert diabetes.feature_names == ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
    assert np.allclose(diabetes.X_train.mean(axis=0), 0) and np.allclose(diabetes.X_train.std(axis=0), 1)
    assert np.isclose(diabetes.y_train.mean(), 0) and np.isclose(diabetes.y_train.std(), 1)
    assert not np.isclose(diabetes.y_test.mean(), 0, atol=1e-6)  # the test part is not re-centred on itself
    assert "354 training and 88 test" in diabetes.description


def test_diabetes_split_depends_on_the_seed_only(diabetes):
    assert np.array_equal(load_diabetes_regression(seed=0).X_train, diabetes.X_train)
    other = load_diabetes_regression(seed=1)
    assert other.X_train.shape == diabetes.X_train.shape
    assert not np.array_equal(other.y_train, diabetes.y_train)
    assert load_diabetes_regression(seed=0, test_fraction=0.5).X_test.shape == (221, 10)


def test_diabetes_keeps_every_patient_once():
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(scaled=False)
    train, test = split_indices(len(raw.target), 0.2, seed=0)
    data = load_diabetes_regression(seed=0)
    restored = data.y_train * raw.target[train].std() + raw.target[train].mean()
    assert np.allclose(restored, raw.target[train])
    assert len(train) + len(test) == 442


def test_minibatches_cover_an_epoch_once_with_a_smaller_last_batch():
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    again = list(minibatches(10, 4, np.random.default_rng(0)))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_minibatches_draw_their_order_when_called():
    rng = np.random.default_rng(0)
    first = minibatches(10, 5, rng)
    second = minibatches(10, 5, rng)  # made before the first is read: still the second permutation
    expected = np.random.default_rng(0)
    assert np.array_equal(np.concatenate(list(first)), expected.permutation(10))
    assert np.array_equal(np.concatenate(list(second)), expected.permutation(10))


@pytest.mark.parametrize("batch_size, message", [(0, "batch_size must be a whole number"),
                                                 (2.0, "batch_size must be a whole number"),
                                                 (11, "batch_size must be at most n = 10")])
def test_minibatches_refuse_a_bad_batch_size_at_once(batch_size, message):
    with pytest.raises(ValueError, match=message):
        minibatches(10, batch_size, np.random.default_rng(0))


def test_minibatches_need_a_generator():
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        minibatches(10, 2, 0)


def test_digits_are_split_in_three_disjoint_parts_standardized_on_training():
    digits = load_digits_classification(seed=0)
    sizes = (len(digits.y_train), len(digits.y_val), len(digits.y_test))
    assert sum(sizes) == 1797 and sizes == (1078, 360, 359)
    assert digits.X_train.shape == (1078, 64) and digits.y_train.dtype == np.int64
    assert set(np.unique(digits.y_train)) == set(range(10))
    assert np.allclose(digits.X_train.mean(axis=0), 0)
    spread = digits.X_train.std(axis=0)
    assert np.allclose(spread[spread > 0], 1)
    # no image is in two parts: the rows, as raw bytes, are all different across the parts
    rows = {row.tobytes() for part in (digits.X_train, digits.X_val, digits.X_test) for row in part}
    assert len(rows) >= 1797 - 10  # the digits set holds a few exact duplicate images


def test_digits_split_depends_on_the_seed_only():
    first, again, other = (load_digits_classification(seed=s) for s in (1, 1, 2))
    assert np.array_equal(first.X_val, again.X_val) and np.array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.y_val, other.y_val)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.0, 0.2), (0.9, 0.2), (0.2, -0.1)])
def test_digits_refuse_fractions_that_leave_a_part_empty(fractions):
    with pytest.raises(ValueError, match="fraction"):
        load_digits_classification(seed=0, validation_fraction=fractions[0], test_fraction=fractions[1])


def test_diabetes_has_no_validation_part(diabetes):
    assert diabetes.X_val is None and diabetes.y_val is None


def test_the_files_read_are_scikit_learns_data_sets():
    # scikit_learn_csv reads the files without importing scikit-learn: the same numbers as its loaders.
    from sklearn.datasets import load_diabetes, load_digits

    from lessons_lib.data import DIABETES_FEATURES, scikit_learn_csv

    digits, diabetes = load_digits(), load_diabetes(scaled=False)
    table = scikit_learn_csv("digits", delimiter=",")
    np.testing.assert_array_equal(table[:, :-1], digits.data)
    np.testing.assert_array_equal(table[:, -1].astype(np.int64), digits.target)
    np.testing.assert_array_equal(scikit_learn_csv("diabetes_data_raw"), diabetes.data)
    np.testing.assert_array_equal(scikit_learn_csv("diabetes_target"), diabetes.target)
    assert DIABETES_FEATURES == tuple(diabetes.feature_names)
