"""Tests for digitnet.optimizers: the update rules, the schedules and their registry."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.optimizers import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    Momentum,
    RMSprop,
    make_optimizer,
    schedule_factor,
)


def test_sgd_is_the_articles_update():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    SGD(0.1).step([w], [g])
    np.testing.assert_allclose(w, [1.0 - 0.05, -2.0 - 0.025])


def test_momentum_and_nesterov_updates():
    w, g = np.array([1.0]), np.array([1.0])
    opt = Momentum(0.1, momentum=0.5)
    opt.step([w], [g])  # v = -0.1, w = 0.9
    opt.step([w], [g])  # v = -0.05 - 0.1 = -0.15, w = 0.75
    assert w[0] == pytest.approx(0.75)
    w = np.array([1.0])
    opt = Momentum(0.1, momentum=0.5, nesterov=True)
    opt.step([w], [g])  # v = -0.1; w += 0.5*-0.1 - 0.1 = 0.85
    assert w[0] == pytest.approx(0.85)


def test_adam_first_step_moves_by_eta():
    w = np.array([1.0, 1.0])
    Adam(0.01).step([w], [np.array([3.0, -0.2])])
    np.testing.assert_allclose(w, [0.99, 1.01], rtol=1e-6)


def test_cosine_schedule_with_warmup():
    assert schedule_factor("constant", 5, 10) == 1.0
    assert schedule_factor("cosine", 0, 100) == 1.0
    assert schedule_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert schedule_factor("cosine", 100, 100) == pytest.approx(0.0)
    assert schedule_factor("cosine", 0, 100, warmup=0.1) == pytest.approx(0.1)
    assert schedule_factor("cosine", 10, 100, warmup=0.1) == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_is_built_with_its_own_settings_and_descends(name):
    settings = {"momentum": 0.5, "beta1": 0.8, "beta2": 0.9, "unused": 1.0}
    opt = make_optimizer(name, 0.05, schedule="cosine", warmup=0.1, **settings)
    assert opt.eta == 0.05 and opt.schedule == "cosine" and opt.warmup == 0.1
    for key in OPTIMIZERS[name].settings:
        assert getattr(opt, key) == settings[key]
    w = np.array([3.0, -2.0])  # minimise ½‖w‖², gradient w
    for _ in range(50):
        opt.step([w], [w.copy()])
    assert np.abs(w).max() < 2.0 and opt.t == 50


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="optimizer must be one of sgd, momentum"):
        make_optimizer("newton", 0.1)
    with pytest.raises(ValueError, match="schedule must be one of constant, cosine"):
        schedule_factor("linear", 1, 10)


def test_every_schedule_starts_near_eta_and_never_exceeds_it():
    for name in SCHEDULES:
        factors = [schedule_factor(name, t, 100) for t in range(100)]
        assert factors[0] == pytest.approx(1.0) and max(factors) <= 1.0 and min(factors) >= 0.0


def test_rmsprop_scales_each_step_by_the_root_of_its_squared_gradients():
    w = np.array([1.0, 1.0])
    opt = RMSprop(0.01, beta2=0.9)
    g = np.array([3.0, -0.2])
    opt.step([w], [g])  # s = 0.1·g², so the step is η·g/√(0.1·g²) = η·sign(g)/√0.1
    np.testing.assert_allclose(w, [1.0 - 0.01 / np.sqrt(0.1), 1.0 + 0.01 / np.sqrt(0.1)])
    opt.step([w], [g])  # s = 0.09·g² + 0.1·g² = 0.19·g²
    np.testing.assert_allclose(w[0], 1.0 - 0.01 / np.sqrt(0.1) - 0.01 / np.sqrt(0.19))
    assert OPTIMIZERS["rmsprop"].settings == ("beta2",)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_holds_the_buffers_it_declares(name):
    """digitnet.budget counts an optimizer's memory from its registry entry."""
    opt = make_optimizer(name, 0.01, momentum=0.9, beta1=0.9, beta2=0.9)
    w = np.ones(5)
    opt.step([w], [np.ones(5)])
    buffers = [v for v in vars(opt).values() if isinstance(v, dict) and v]
    assert len(buffers) == OPTIMIZERS[name].states
