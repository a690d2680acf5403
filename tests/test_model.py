"""The network itself: gradients, inputs, parameters, the scikit-learn API."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from digitnet import MLP


def small_model(activation="sigmoid", output="sigmoid", l2=0.01, hidden=(7,), seed=3):
    model = MLP(
        hidden=list(hidden),
        activation=activation,
        output=output,
        l2=l2,
        precision="float64",
        init="xavier",
        seed=seed,
    )
    return model.initialize()


def numerical_gradient(model, X, y, param, index, eps=1e-6):
    old = param[index]
    param[index] = old + eps
    plus = model.cost(X, y)
    param[index] = old - eps
    minus = model.cost(X, y)
    param[index] = old
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize(
    "activation,output,l2",
    list(itertools.product(["sigmoid", "relu", "tanh"], ["sigmoid", "softmax"], [0.0, 0.1])),
)
@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
def test_backward_matches_finite_differences(activation, output, l2, hidden):
    rng = np.random.default_rng(0)
    model = small_model(activation, output, l2, hidden)
    X = model.prepare(rng.integers(0, 256, (5, 784), dtype=np.uint8))
    y = rng.integers(0, 10, 5)
    grad_W, grad_b = model.backward(model.forward(X.copy()), np.eye(10)[y])
    worst = 0.0
    for params, grads in ((model.weights_, grad_W), (model.biases_, grad_b)):
        for p, g in zip(params, grads):
            for _ in range(12):
                index = tuple(rng.integers(0, n) for n in p.shape)
                num = numerical_gradient(model, X, y, p, index)
                err = abs(num - g[index]) / max(1e-8, abs(num) + abs(g[index]))
                worst = max(worst, err)
    assert worst < 1e-5, f"relative error {worst:.2e}"


def test_cost_is_the_articles_bce_plus_half_lambda_l2():
    rng = np.random.default_rng(1)
    model = small_model(l2=0.5)
    X = model.prepare(rng.integers(0, 256, (4, 784), dtype=np.uint8))
    y = rng.integers(0, 10, 4)
    a = model.forward(X.copy())[-1]
    Y = np.eye(10)[y]
    bce = -np.sum(Y * np.log(a) + (1 - Y) * np.log(1 - a))
    l2 = 0.5 * 0.5 * sum(np.sum(W**2) for W in model.weights_)
    assert model.cost(X, y) == pytest.approx(bce + l2, rel=1e-10)


def test_input_formats_give_identical_predictions():
    rng = np.random.default_rng(2)
    model = small_model()
    u8 = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    as_float = u8.astype(np.float32) / 255
    expected = model.predict_proba(u8)
    np.testing.assert_allclose(model.predict_proba(u8.reshape(3, 784)), expected)
    np.testing.assert_allclose(model.predict_proba(as_float), expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict_proba(u8[0]), expected[:1])  # one image
    assert model.predict(u8).shape == (3,)


def test_input_scaling_belongs_to_the_model():
    x = np.array([[0, 255, 51]], dtype=np.uint8)
    x = np.pad(x, ((0, 0), (0, 781)))
    sym = MLP(input_scaling="symmetric", precision="float64").prepare(x)
    unit = MLP(input_scaling="unit", precision="float64").prepare(x)
    assert sym[0, :3].tolist() == [-1.0, 1.0, ((51 / 255.0) - 0.5) * 2]  # the article's formula
    assert unit[0, :3].tolist() == [0.0, 1.0, 51 / 255.0]


@pytest.mark.parametrize(
    "bad,message",
    [
        (np.zeros((2, 27, 27), np.uint8), "shaped"),
        (np.zeros((2, 785), np.uint8), "shaped"),
        (np.full((2, 784), 2.0), r"\[0, 1\]"),
        (np.full((2, 784), np.nan), r"\[0, 1\]"),
        (np.array([["a"] * 784]), "uint8"),
    ],
)
def test_bad_images_are_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        small_model().predict(bad)


@pytest.mark.parametrize(
    "params,message",
    [
        ({"eta": 0}, "eta must be > 0"),
        ({"eta": -1}, "eta must be > 0"),
        ({"eta": float("nan")}, "eta must be a number"),
        ({"hidden": 0}, "between 1 and"),
        ({"hidden": []}, "at least one hidden layer"),
        ({"hidden": "wide"}, "hidden must be an int"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"epochs": 10**9}, "epochs must be <="),
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"l2": -0.1}, "l2 must be >= 0"),
        ({"activation": "swish"}, "activation must be one of"),
        ({"output": "linear"}, "output must be one of"),
        ({"optimizer": "newton"}, "optimizer must be one of"),
        ({"momentum": 1.0}, "momentum must be <="),
        ({"precision": "float16"}, "precision must be one of"),
        ({"seed": -1}, "seed must be >= 0"),
    ],
)
def test_nonsense_hyperparameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        MLP(**params)


@pytest.mark.parametrize(
    "labels,message",
    [
        (np.full(600, 10), "digits 0-9"),
        (np.full(600, -1), "digits 0-9"),
        (np.zeros(599, int), "600 images but 599 labels"),
        (np.full(600, 0.5), "integers"),
    ],
)
def test_wrong_labels_are_refused(tiny_data, labels, message):
    X, _ = tiny_data
    with pytest.raises(ValueError, match=message):
        MLP(epochs=1).fit(X, labels)


def test_fit_learns_and_scores(tiny_data):
    X, y = tiny_data
    model = MLP(
        hidden=32,
        activation="relu",
        output="softmax",
        optimizer="adam",
        eta=0.01,
        epochs=15,
        batch_size=50,
        input_scaling="unit",
        init="he",
    )
    model.fit(X[:500], y[:500], validation_data=(X[500:], y[500:]))
    assert model.score(X[500:], y[500:]) > 0.9
    assert len(model.history_) == 15
    first, last = model.history_[0], model.history_[-1]
    assert last["cost"] < first["cost"]
    assert last["elapsed"] > first["elapsed"] > 0
    probs = model.predict_proba(X[:5])
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert (probs.argmax(axis=1) == model.predict(X[:5])).all()


def test_sigmoid_output_probabilities_sum_to_one(tiny_data):
    X, _ = tiny_data
    probs = small_model().predict_proba(X[:4])
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)


def test_training_is_deterministic_for_a_seed(tiny_data):
    X, y = tiny_data
    runs = [MLP(epochs=3, seed=7, eta=0.01).fit(X, y) for _ in range(2)]
    for a, b in zip(runs[0].weights_, runs[1].weights_):
        np.testing.assert_array_equal(a, b)
    other = MLP(epochs=3, seed=8, eta=0.01).fit(X, y)
    assert not np.array_equal(runs[0].weights_[0], other.weights_[0])


def test_partial_fit_continues_where_fit_stopped(tiny_data):
    X, y = tiny_data
    once = MLP(epochs=4, seed=2, eta=0.01, precision="float64").fit(X, y)
    twice = MLP(epochs=2, seed=2, eta=0.01, precision="float64").fit(X, y)
    twice.partial_fit(X, y, epochs=2)
    assert twice.epochs_trained_ == 4
    for a, b in zip(once.weights_, twice.weights_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_float32_and_float64_agree(tiny_data):
    X, y = tiny_data
    m32 = MLP(epochs=3, precision="float32", eta=0.002).fit(X, y)
    m64 = MLP(epochs=3, precision="float64", eta=0.002).fit(X, y)
    assert m32.weights_[0].dtype == np.float32 and m64.weights_[0].dtype == np.float64
    for a, b in zip(m32.weights_, m64.weights_):
        np.testing.assert_allclose(a, b, atol=2e-4)
    assert (m32.predict(X) == m64.predict(X)).mean() > 0.99


def test_unfitted_model_says_so():
    with pytest.raises(ValueError, match="no weights yet"):
        MLP().predict(np.zeros((1, 784), np.uint8))


def test_get_and_set_params_round_trip():
    model = MLP(hidden=(64, 32), eta=0.1)
    params = model.get_params()
    assert params["hidden"] == [64, 32] and params["eta"] == 0.1
    assert MLP(**params).get_params() == params
    with pytest.raises(ValueError, match="unknown parameter"):
        model.set_params(learning_rate=1)
    with pytest.raises(ValueError, match="eta must be > 0"):
        model.set_params(eta=0)
    assert repr(MLP(hidden=50)) == "MLP(hidden=50)"


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("scaling", ["symmetric", "unit"])
def test_few_and_many_images_are_scaled_bitwise_alike(precision, scaling):
    """A few images go through a lookup table, many through arithmetic: same bits."""
    pixels = np.arange(256 * 20, dtype=np.int64).reshape(20, 256) % 256
    images = np.pad(pixels, ((0, 0), (0, 784 - 256))).astype(np.uint8)
    model = MLP(precision=precision, input_scaling=scaling)
    many, few = model.prepare(images), model.prepare(images[:3])
    np.testing.assert_array_equal(few, many[:3])
    assert few.dtype == many.dtype == np.dtype(precision)


def test_copy_is_independent_and_keeps_everything_but_the_optimizer(tiny_data):
    X, y = tiny_data
    model = MLP(hidden=8, epochs=2, eta=0.01, optimizer="adam").fit(X, y)
    model.metadata_["preset"] = "mine"
    twin = model.copy()
    assert twin.get_params() == model.get_params() and twin.epochs_trained_ == 2
    assert twin.history_ == model.history_ and twin.metadata_ == model.metadata_
    assert twin.optimizer_ is None and model.optimizer_ is not None
    np.testing.assert_array_equal(twin.predict_proba(X[:50]), model.predict_proba(X[:50]))
    twin.weights_[0][:] = 0  # nothing is shared
    twin.history_[0]["cost"] = -1.0
    twin.metadata_["preset"] = "other"
    assert model.weights_[0].any() and model.history_[0]["cost"] > 0
    assert model.metadata_["preset"] == "mine"
    assert twin.random_state_.randint(1000) == model.random_state_.randint(1000)  # same stream


def test_copy_in_another_precision_computes_the_same(tiny_data):
    X, y = tiny_data
    model = MLP(hidden=8, epochs=1, eta=0.01).fit(X, y)
    twin = model.copy("float64")
    assert twin.dtype == np.float64 and all(W.dtype == np.float64 for W in twin.weights_)
    assert model.dtype == np.float32 and model.weights_[0].dtype == np.float32
    np.testing.assert_allclose(twin.predict_proba(X), model.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_copy_with_other_weights_uses_them(tiny_data):
    X, y = tiny_data
    model = MLP(hidden=8, epochs=1).fit(X, y)
    W = [np.zeros_like(w) for w in model.weights_]
    b = [np.zeros_like(v) for v in model.biases_]
    twin = model.copy(weights=(W, b))
    np.testing.assert_allclose(twin.predict_proba(X[:3]), 0.1)  # zero weights: all equal
    assert twin.weights_[0] is W[0] and model.weights_[0].any()  # given, not copied again
    assert model.copy("float64", weights=(W, b)).weights_[0].dtype == np.float64
