"""Teaching a trained network new examples without forgetting the old ones."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import MLP, presets
from digitnet.finetune import finetune


@pytest.fixture
def trained(tiny_data):
    X, y = tiny_data
    model = MLP(
        hidden=48,
        activation="relu",
        output="softmax",
        optimizer="adam",
        eta=0.01,
        epochs=12,
        batch_size=50,
        input_scaling="unit",
        init="he",
    )
    return model.fit(X, y)


def odd_examples(n=6, seed=5):
    """Images unlike the training set, all labelled 3: a bright ring."""
    yy, xx = np.mgrid[0:28, 0:28]
    ring = (np.abs(np.hypot(yy - 14, xx - 14) - 8) < 1.5).astype(np.float32)
    rng = np.random.default_rng(seed)
    images = np.clip(ring + 0.1 * rng.standard_normal((n, 28, 28)), 0, 1).astype(np.float32)
    return images, np.full(n, 3)


def test_finetune_learns_new_examples_and_keeps_old_ones(trained, tiny_data):
    X, y = tiny_data
    images, labels = odd_examples()
    before_new = trained.predict_proba(images)[:, 3].mean()
    before_old = trained.score(X, y)
    weights_before = [w.copy() for w in trained.weights_]
    tuned = finetune(trained, images, labels, X, y, replay=400, epochs=6, eta=1e-3)
    after_new = tuned.predict_proba(images)[:, 3].mean()
    assert after_new > 0.9 > before_new
    assert tuned.score(X, y) >= before_old - 0.02  # no forgetting
    for a, b in zip(trained.weights_, weights_before):
        np.testing.assert_array_equal(a, b)  # the original is untouched
    info = tuned.metadata_["finetune"]
    assert info["examples"] == 6 and info["replay"] == 400 and len(info["history"]) == 6
    assert tuned.get_params() == trained.get_params()  # its recipe is still the original's


def test_finetune_is_deterministic_for_a_seed(trained, tiny_data):
    X, y = tiny_data
    images, labels = odd_examples()
    a = finetune(trained, images, labels, X, y, replay=200, epochs=2, seed=3)
    b = finetune(trained, images, labels, X, y, replay=200, epochs=2, seed=3)
    np.testing.assert_array_equal(a.weights_[0], b.weights_[0])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"labels": np.array([11])}, "digits 0-9"),
        ({"images": np.zeros((1, 5, 5))}, "28x28"),
        ({"images": np.full((1, 28, 28), 3.0)}, r"\[0, 1\]"),
        ({"share": 1.5}, "share"),
    ],
)
def test_finetune_refuses_bad_input(trained, tiny_data, kwargs, message):
    X, y = tiny_data
    args = {"images": np.zeros((1, 28, 28), np.float32), "labels": np.array([1])}
    args.update({k: v for k, v in kwargs.items() if k in args})
    extra = {k: v for k, v in kwargs.items() if k not in args}
    with pytest.raises(ValueError, match=message):
        finetune(trained, args["images"], args["labels"], X, y, **extra)


def test_finetune_needs_a_trained_model(tiny_data):
    X, y = tiny_data
    with pytest.raises(ValueError, match="trained model"):
        finetune(presets.build("fast"), X[:1], y[:1], X, y)
