"""The seed preset is the article's algorithm: weight for weight against a plain
transcription of Raschka's NeuralNetMLP (benchmarks/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.reference import NeuralNetMLP
from digitnet import Trainer, presets


def article_scaling(X_u8):
    return ((X_u8.reshape(len(X_u8), -1) / 255.0) - 0.5) * 2


def reference_run(X_u8, y, X_valid_u8, y_valid, n_minibatches):
    ref = NeuralNetMLP(
        n_hidden=100, l2=0.01, epochs=100, eta=0.0005, minibatch_size=100, shuffle=True, seed=1
    )
    ref.fit(
        article_scaling(X_u8),
        y,
        article_scaling(X_valid_u8),
        y_valid,
        max_minibatches=n_minibatches,
    )
    return ref


def digitnet_run(X_u8, y, n_minibatches, precision="float64"):
    model = presets.build("seed", precision=precision)
    Trainer(model, X_u8, y, callback=lambda p: p.batch >= n_minibatches, callback_every=1).run()
    return model


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 784)) < 0.2) * rng.integers(1, 256, (n, 784))
    return X.astype(np.uint8), rng.integers(0, 10, n)


def test_seed_preset_matches_the_reference_weight_for_weight():
    X, y = synthetic(2000, 0)
    Xv, yv = synthetic(100, 1)
    ref = reference_run(X, y, Xv, yv, n_minibatches=7)
    model = digitnet_run(X, y, n_minibatches=7)
    pairs = [
        (model.weights_[0], ref.w_h),
        (model.biases_[0], ref.b_h),
        (model.weights_[1], ref.w_out),
        (model.biases_[1], ref.b_out),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    # and it did move: the comparison is not between two initialisations
    assert (
        np.abs(model.weights_[0] - np.random.RandomState(1).normal(0, 0.1, (784, 100))).max() > 1e-4
    )


def test_float32_seed_follows_float64():
    X, y = synthetic(2000, 2)
    m64 = digitnet_run(X, y, 20)
    m32 = digitnet_run(X, y, 20, precision="float32")
    for a, b in zip(m32.weights_, m64.weights_):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.mnist
def test_one_epoch_of_seed_on_mnist_matches_the_reference(mnist):
    """The article's first epoch on real MNIST: weights, cost and both accuracies."""
    (X, y), (Xv, yv) = presets.split(mnist["X"], mnist["y"])
    ref = NeuralNetMLP(
        n_hidden=100, l2=0.01, epochs=1, eta=0.0005, minibatch_size=100, shuffle=True, seed=1
    )
    ref.fit(article_scaling(X), y, article_scaling(Xv), yv)
    model = presets.build("seed", precision="float64", epochs=1)
    model.fit(X, y, validation_data=(Xv, yv))
    for ours, theirs in zip(model.weights_, [ref.w_h, ref.w_out]):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    h = model.history_[0]
    assert h["train_acc"] == ref.eval_["train_acc"][0]
    assert h["valid_acc"] == ref.eval_["valid_acc"][0]
    # the article's code adds λΣW² to its cost, digitnet λ/2·ΣW² (the cost its gradient uses)
    half_l2 = 0.5 * 0.01 * (np.sum(ref.w_h**2) + np.sum(ref.w_out**2))
    assert h["cost"] == pytest.approx(ref.eval_["cost"][0] - half_l2, rel=1e-9)
