"""Tests for digitnet.functions: the activations, their derivatives, the losses, the labels."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import functions
from digitnet.functions import ACTIVATIONS, check_labels, data_loss, sigmoid, softmax


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_derivative_is_the_slope_of_its_activation(name):
    phi, derivative = ACTIVATIONS[name].phi, ACTIVATIONS[name].derivative
    z = np.linspace(-4, 4, 81)
    z = z[np.abs(z) > 1e-3]  # ReLU has no slope at 0
    eps = 1e-6
    slope = (phi(z + eps) - phi(z - eps)) / (2 * eps)  # φ works in place: fresh arrays
    np.testing.assert_allclose(derivative(phi(z.copy())), slope, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_without_overflow(dtype):
    with np.errstate(over="raise"):
        a = sigmoid(np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype))
    assert a.dtype == dtype and np.isfinite(a).all()
    assert a[2] == 0.5 and a[0] < 1e-30 and a[-1] == 1.0


def test_softmax_sums_to_one_for_huge_inputs():
    z = np.array([[1000.0, 999.0, -1000.0] + [0.0] * 7])
    a = softmax(z.copy())
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    assert a[0, 0] == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_stable_loss_stays_finite_when_units_saturate():
    z = np.array([[800.0, -800.0, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert np.isfinite(data_loss(z, np.array([1]), "sigmoid"))
    assert data_loss(z, np.array([1]), "softmax") == pytest.approx(1600.0)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_loss_from_z_is_the_cross_entropy_of_the_outputs(output):
    rng = np.random.default_rng(0)
    z, y = rng.normal(0, 3, (6, 10)), rng.integers(0, 10, 6)
    Y = np.eye(10)[y]
    if output == "sigmoid":
        a = 1 / (1 + np.exp(-z))
        expected = -np.sum(Y * np.log(a) + (1 - Y) * np.log(1 - a))
    else:
        a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        expected = -np.sum(np.log(a[np.arange(6), y]))
    assert data_loss(z, y, output) == pytest.approx(expected, rel=1e-12)


def test_check_labels_accepts_digits_and_integral_floats():
    assert check_labels(np.array([0, 9, 3], np.uint8)).dtype == np.int64
    assert check_labels(np.array([1.0, 2.0]), 2).tolist() == [1, 2]
    assert check_labels(np.array([], np.int64)).shape == (0,)


@pytest.mark.parametrize(
    "labels,n,message",
    [
        (np.array([[1, 2]]), None, "1-D"),
        (np.array([0.5]), None, "integers"),
        (np.array([10]), None, "digits 0-9"),
        (np.array([-1]), None, "digits 0-9"),
        (np.array([1, 2]), 3, "3 images but 2 labels"),
    ],
)
def test_check_labels_refuses_what_is_not_a_digit(labels, n, message):
    with pytest.raises(ValueError, match=message):
        check_labels(labels, n)


def test_row_max_and_row_sum_are_the_row_reductions():
    a = np.random.default_rng(3).normal(size=(50, 10)).astype(np.float32)
    np.testing.assert_array_equal(functions.row_max(a), a.max(axis=1))
    np.testing.assert_allclose(functions.row_sum(a), a.sum(axis=1), rtol=1e-5, atol=1e-6)
    assert functions.row_max(a).dtype == functions.row_sum(a).dtype == np.float32


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_a_float32_networks_loss_is_computed_in_float32_to_its_precision(output):
    rng = np.random.default_rng(4)
    z, y = rng.normal(0, 5, (2000, 10)), rng.integers(0, 10, 2000)
    exact = data_loss(z, y, output)
    assert data_loss(z.astype(np.float32), y, output) == pytest.approx(exact, rel=1e-6)
