"""digitnet.explain: hidden units' contributions, incoming weights, the gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import MLP
from digitnet.explain import gradient_check, hidden_contributions, incoming_weights


def small(hidden=(12,), activation="sigmoid", output="sigmoid", l2=0.01, scaling="symmetric"):
    model = MLP(hidden=list(hidden), activation=activation, output=output, l2=l2,
                input_scaling=scaling, init_scale=0.3, seed=3)  # fmt: skip
    return model.initialize()


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), rng.integers(0, 10, 6)


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_contributions_add_up_to_the_output_units_z(batch, output):
    model = small(activation="relu", output=output, scaling="unit")
    image = batch[0][0]
    c = hidden_contributions(model, image)
    z = model.logits(model.prepare(image[None]))[0]
    assert c.target == int(np.argmax(z)) == int(np.argmax(c.probabilities))
    assert c.contributions.sum() + c.bias == pytest.approx(c.logit, abs=1e-9)
    assert c.logit == pytest.approx(float(z[c.target]), rel=1e-5)
    np.testing.assert_allclose(c.probabilities, model.predict_proba(image)[0], rtol=1e-5)
    np.testing.assert_allclose(c.contributions, c.activations * c.weights)
    assert c.layer == 1 and len(c.activations) == 12


def test_contributions_for_another_digit_and_the_top_units(batch):
    model = small()
    c = hidden_contributions(model, batch[0][1] / 255.0, target=4)
    assert c.target == 4
    np.testing.assert_allclose(c.weights, model.weights_[-1][:, 4])
    up, down = c.top(3), c.top(3, sign=-1)
    assert len(up) <= 3 and np.all(c.contributions[up] > 0)
    assert np.all(np.diff(c.contributions[up]) <= 0)  # strongest first
    assert np.all(c.contributions[down] < 0) and np.all(np.diff(c.contributions[down]) >= 0)
    if len(up) == 3:
        assert c.contributions[up[-1]] >= np.sort(c.contributions)[-3]


def test_contributions_of_a_deep_network_are_the_last_hidden_layers(batch):
    model = small(hidden=(16, 8), activation="tanh")
    c = hidden_contributions(model, batch[0][0])
    assert c.layer == 2 and len(c.activations) == 8
    assert c.contributions.sum() + c.bias == pytest.approx(c.logit, abs=1e-9)


def test_contributions_refuse_bad_input(batch):
    model = small()
    with pytest.raises(ValueError, match="one 28x28 image"):
        hidden_contributions(model, batch[0][:2])
    with pytest.raises(ValueError, match="target must be a digit"):
        hidden_contributions(model, batch[0][0], target=10)
    with pytest.raises(ValueError, match="no weights yet"):
        hidden_contributions(MLP(), batch[0][0])


def test_incoming_weights_are_the_first_layers_columns():
    model = small(hidden=(5,))
    pics = incoming_weights(model, [4, 0])
    assert pics.shape == (2, 28, 28)
    np.testing.assert_array_equal(pics[0].ravel(), model.weights_[0][:, 4])
    np.testing.assert_array_equal(pics[1].ravel(), model.weights_[0][:, 0])
    assert incoming_weights(model).shape == (5, 28, 28)
    with pytest.raises(ValueError, match="between 0 and 4"):
        incoming_weights(model, [5])


@pytest.mark.parametrize(
    "activation,output,hidden",
    [("sigmoid", "sigmoid", (10,)), ("relu", "softmax", (10,)), ("tanh", "softmax", (8, 6))],
)
def test_gradient_check_agrees_with_backprop(batch, activation, output, hidden):
    model = small(hidden=hidden, activation=activation, output=output)
    model.weights_ = [W.astype(np.float32) for W in model.weights_]  # float32, as trained
    before = [W.copy() for W in model.weights_]
    rows = gradient_check(model, *batch, per_layer=3, seed=2)
    assert len(rows) == len(model.weights_) * 2 * 3
    assert {(r.layer, r.param) for r in rows} == {
        (layer, p) for layer in range(len(model.weights_)) for p in "Wb"
    }
    worst = max(r.relative_error for r in rows)
    assert worst < 1e-5, [(r.layer, r.param, r.relative_error) for r in rows]
    assert all(r.analytic != 0 for r in rows)  # weights the batch moves
    for W, W0 in zip(model.weights_, before):
        np.testing.assert_array_equal(W, W0)  # the model is not changed
        assert W.dtype == np.float32


def test_gradient_check_catches_the_articles_code_cost(batch):
    """The cost with λ·Σ‖W‖² (no ½) does not match the λW of the update: the check says so."""
    model = small(l2=0.0)
    ok = gradient_check(model, *batch, l2=0.5)
    assert max(r.relative_error for r in ok) < 1e-5
    off = gradient_check(model, *batch, l2=0.5, cost_l2_factor=1.0)
    assert max(r.relative_error for r in off if r.param == "W") > 1e-3
    assert max(r.relative_error for r in off if r.param == "b") < 1e-5  # biases: no L2
    # The same parameters in both checks, and in one without λ: the rows compare.
    plain = gradient_check(model, *batch)
    assert [(r.layer, r.param, r.index) for r in ok] == [(r.layer, r.param, r.index) for r in off]
    assert [(r.layer, r.param, r.index) for r in ok] == [(r.layer, r.param, r.index) for r in plain]
