"""Tests for digitnet.presets: the named recipes and the article's split."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import MLP, presets


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_preset_builds_a_valid_untrained_model_and_is_described(name):
    model = presets.build(name)
    assert isinstance(model, MLP) and not model.is_fitted
    assert model.metadata_["preset"] == name
    for key, value in presets.PRESETS[name].items():
        if key == "hidden":
            assert model.hidden_layers == tuple(np.atleast_1d(value))
        else:
            assert getattr(model, key) == value, key
    assert presets.DESCRIPTIONS[name]
    assert name in presets.STYLED_DIGITS and name in presets.PEN_STROKE_COPIES


def test_seed_is_the_articles_network():
    model = presets.build("seed")
    assert model.layer_sizes == (784, 100, 10)
    assert (model.activation, model.output, model.optimizer) == ("sigmoid", "sigmoid", "sgd")
    assert (model.eta, model.l2, model.batch_size, model.epochs) == (0.0005, 0.01, 100, 100)


def test_overrides_apply_and_none_keeps_the_preset():
    model = presets.build("fast", epochs=7, eta=None, precision="float64")
    assert model.epochs == 7 and model.eta == presets.PRESETS["fast"]["eta"]
    assert model.dtype == np.float64


def test_preset_params_is_a_copy_and_unknown_names_are_refused():
    params = presets.preset_params("seed")
    params["eta"] = 1.0
    assert presets.PRESETS["seed"]["eta"] == 0.0005
    with pytest.raises(ValueError, match="unknown preset 'huge'; choose one of seed, fast"):
        presets.preset_params("huge")


def test_split_is_the_articles_55000_and_5000_and_keeps_the_ratio_when_smaller():
    X, y = np.zeros((60_000, 1), np.uint8), np.arange(60_000)
    (X_train, _), (X_valid, y_valid) = presets.split(X, y)
    assert len(X_train) == 55_000 and len(X_valid) == 5_000 and y_valid[0] == 55_000
    (X_train, _), (X_valid, _) = presets.split(X[:1200], y[:1200])
    assert (len(X_train), len(X_valid)) == (1100, 100)


def test_a_preset_that_trains_on_pen_strokes_asks_for_them():
    X, y = np.zeros((120, 784), np.uint8), np.zeros(120, np.int64)  # no 1, 7 or 9 to style
    with pytest.raises(ValueError, match="pen_strokes="):
        presets.training_set("best", X, y)
    (X_train, _), valid = presets.training_set("fast", X, y)
    assert len(X_train) + len(valid[0]) == 120  # fast adds nothing
    X_styled, y_styled = presets.with_styled_digits(X, y, 0.5)  # no 1, 7 or 9: nothing to add
    assert X_styled.shape == (120, 784) and len(y_styled) == 120
