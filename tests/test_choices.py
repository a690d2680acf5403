"""Every list of choices is written once: the model, the command line, the Train tab and
How it works read the same registries, and every choice in them trains."""

from __future__ import annotations

import argparse
import inspect

import numpy as np
import pytest

from digitnet import MLP, cli, functions, optimizers
from digitnet.app import howitworks, i18n
from digitnet.model import PARAMETERS
from digitnet.presets import PRESETS

CHOICES = {name: p.choices for name, p in PARAMETERS.items() if p.choices is not None}


def test_the_table_has_a_row_for_every_hyperparameter_in_order():
    assert list(PARAMETERS) == list(inspect.signature(MLP).parameters)


def test_the_registries_are_the_models_choices():
    assert CHOICES["activation"] == tuple(functions.ACTIVATIONS)
    assert CHOICES["output"] == tuple(functions.OUTPUTS)
    assert CHOICES["optimizer"] == tuple(optimizers.OPTIMIZERS)
    assert CHOICES["schedule"] == tuple(optimizers.SCHEDULES)


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_the_model_accepts_each_choice_and_refuses_others(name):
    for choice in CHOICES[name]:
        assert getattr(MLP(**{name: choice}), name) == choice
    for wrong in ("nonsense", None, ["relu"], 3):
        with pytest.raises(ValueError, match=f"^{name} must be one of {', '.join(CHOICES[name])}"):
            MLP(**{name: wrong})


def train_options() -> dict[str, argparse.Action]:
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {a.dest: a for a in commands.choices["train"]._actions}


def test_the_command_line_offers_the_models_choices():
    options = train_options()
    offered = {dest: tuple(a.choices) for dest, a in options.items() if a.choices}
    assert offered.pop("preset") == tuple(PRESETS)
    assert offered.pop("store_dtype") == ("float16", "float32", "float64")
    assert offered and all(offered[dest] == CHOICES[dest] for dest in offered), offered


def test_the_train_tab_offers_the_models_choices(apps):
    at = apps("Train")
    for preset in PRESETS:
        at.segmented_control(key="preset").set_value(preset).run()
        for name, choices in CHOICES.items():
            box = at.selectbox(key=f"hp_{preset}_{name}")
            assert tuple(box.options) == choices, (preset, name)
            assert box.value == PRESETS[preset].get(name, getattr(MLP(), name))


def test_how_it_works_shows_every_activation_and_output_and_names_every_optimizer():
    shown = {f.uses for f in howitworks.OTHER_FORMULAS}
    article = {f.uses for f in howitworks.FORMULAS if f.uses}
    assert set(functions.ACTIVATIONS) <= shown | article
    assert set(functions.OUTPUTS) - {"sigmoid"} <= shown  # the article's is the cost J
    title = howitworks.others_title()  # in English, outside a page
    for entry in [*functions.ACTIVATIONS.values(), *functions.OUTPUTS.values()]:
        if entry.name != "sigmoid":
            assert entry.label in title or entry.name in title
    update = howitworks.FORMULAS[-1]
    text = i18n.translate("en", update.text, **update.text_fields())
    assert all(o.label in text for o in optimizers.OPTIMIZERS.values() if o.name != "sgd")


@pytest.mark.parametrize(
    "name,choice",
    [(n, c) for n in ("activation", "output", "optimizer", "schedule", "init") for c in CHOICES[n]],
)
def test_every_choice_trains(name, choice, tiny_data):
    X, y = tiny_data
    params = dict(hidden=32, epochs=8, batch_size=50, optimizer="adam", eta=0.01,
                  activation="relu", output="softmax", init="he", input_scaling="unit")  # fmt: skip
    params[name] = choice
    if name == "optimizer":  # summed gradients: plain and momentum steps need a smaller η
        params["eta"] = {"sgd": 0.01, "momentum": 0.002, "nesterov": 0.002}.get(choice, 0.01)
    model = MLP(**params).fit(X[:500], y[:500])
    assert all(np.isfinite(W).all() for W in model.weights_)
    assert model.history_[-1]["cost"] < model.history_[0]["cost"]
    assert model.score(X[500:], y[500:]) > 0.9
