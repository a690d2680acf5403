"""A training run's memory budget (issue 13, item 3): the estimate made from the settings
alone is an upper bound of what a real run takes (measured with tracemalloc), and not a
loose one; runs over the budget are refused with the figure."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np
import pytest

from digitnet import budget
from digitnet.model import MLP, data_loss
from digitnet.train import Trainer, evaluate_rows


def measured_peak(model: MLP, n: int = 9000) -> int:
    """tracemalloc's peak over one epoch of ``model`` on random digits (data excluded)."""
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        Trainer(model, X, y, (X[:500], y[:500]), overlap_eval=False).run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden=100, batch_size=100, precision="float64"),  # the article's
        dict(
            hidden=[256, 128],
            batch_size=128,
            optimizer="nesterov",
            activation="relu",
            augment={"rotate": 12, "elastic": 1.5},
        ),
        dict(hidden=600, batch_size=600, precision="float64", optimizer="adam"),
        dict(hidden=[200, 200, 200], batch_size=1500, optimizer="adam", early_stopping=True),
        dict(hidden=32, batch_size=2000, activation="tanh"),
    ],
)
def test_the_estimate_bounds_a_real_run_closely(params):
    model = MLP(epochs=1, eta=1e-4, **params)
    estimate = budget.run_memory(model, copies=0).total
    peak = measured_peak(model)
    assert peak <= estimate <= 1.6 * peak, (budget.mb(peak), budget.run_memory(model).describe())


def test_the_audits_run_is_refused_with_its_figure():
    """batch 60000 × hidden 3000 × float64 took 4.4 GB per minibatch on main."""
    model = MLP(hidden=3000, batch_size=60_000, precision="float64")
    with pytest.raises(budget.BudgetError) as info:
        budget.check_run(model, budget.app_run_memory_bytes({}))
    message = str(info.value)
    assert re.search(r"about [4-9]\.\d GB of memory", message), message
    assert "a minibatch " in message and "more than the 160 MB allowed" in message
    assert "DIGITNET_RUN_MEMORY_MB" in message and "\n" not in message


def test_the_presets_fit_the_apps_budget():
    from digitnet.presets import PRESETS, build

    for name in PRESETS:
        need = budget.run_memory(build(name))
        assert need.total < budget.app_run_memory_bytes({}), (name, need.describe())


def test_settings_come_from_the_environment_and_bad_values_fall_back():
    env = {
        "DIGITNET_RUN_MEMORY_MB": "300",
        "DIGITNET_RUN_MINUTES": "0.5",
        "DIGITNET_MAX_MODEL_MB": "5",
        "DIGITNET_MAX_EVALUATIONS": "2",
    }
    assert budget.app_run_memory_bytes(env) == 300_000_000
    assert budget.cli_run_memory_bytes(env) == 300_000_000
    assert budget.run_seconds(env) == 30
    assert budget.max_model_bytes(env) == 5_000_000
    assert budget.max_evaluations(env) == 2
    bad = dict.fromkeys(env, "lots")
    assert budget.app_run_memory_bytes(bad) == budget.APP_RUN_MEMORY_MB * 1_000_000
    assert budget.run_seconds({"DIGITNET_RUN_MINUTES": "-1"}) == 60 * budget.DEFAULT_RUN_MINUTES
    assert budget.max_evaluations({"DIGITNET_MAX_EVALUATIONS": "inf"}) == 1
    assert budget.cli_run_memory_bytes({}) == budget.physical_memory() // 2


def test_wide_networks_evaluate_in_smaller_chunks_with_the_same_result(monkeypatch):
    assert budget.eval_rows(MLP(hidden=100).layer_sizes, 4) == budget.MAX_EVAL_ROWS
    wide = MLP(hidden=4000, precision="float64").layer_sizes
    rows = budget.eval_rows(wide, 8)
    assert rows < 2000 and rows * (784 * 2 + 4010) * 8 <= budget.EVAL_BYTES
    monkeypatch.setattr(budget, "EVAL_BYTES", 1_000_000)  # 70 rows a chunk for 784-200-10
    rng = np.random.default_rng(1)
    X, y = rng.integers(0, 256, (1000, 784), dtype=np.uint8), rng.integers(0, 10, 1000)
    model = MLP(hidden=200, precision="float64").initialize()
    assert budget.eval_rows(model.layer_sizes, 8) == 70
    loss, correct = evaluate_rows(model, X, y)  # in chunks
    z = model.logits(model.prepare(X))  # at once
    assert correct == int((z.argmax(axis=1) == y).sum())
    assert loss == pytest.approx(data_loss(z, y, model.output), rel=1e-9)
