"""Changing the learning rate (and momentum) while a run goes on: Trainer.change."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from digitnet import MLP, Trainer
from digitnet.train import CHANGES_KEY
from digitnet.weights import load_model, save_model


def quick_model(**kw):
    params = dict(hidden=16, eta=0.01, epochs=4, batch_size=50, precision="float64", seed=3)
    params.update(kw)
    return MLP(**params)


def test_a_change_is_taken_up_before_the_next_minibatch_and_recorded(tiny_data):
    X, y = tiny_data  # 600 images, batch 50: 12 minibatches per epoch
    model = quick_model(optimizer="momentum", momentum=0.9)
    trainer = Trainer(model, X, y, callback_every=1, overlap_eval=False)
    steps_seen = []

    def callback(p):
        steps_seen.append((p.epoch, p.batch, model.optimizer_.eta, model.optimizer_.momentum))
        if p.kind == "batch" and (p.epoch, p.batch) == (1, 3):
            trainer.change(eta=0.002, momentum=0.5)
            assert trainer.pending_change == {"eta": 0.002, "momentum": 0.5}

    trainer.callback = callback
    trainer.run()
    # batch 4 of epoch 2 already ran with the new values; batch 3's report, the old ones
    assert (1, 3, 0.01, 0.9) in steps_seen and (1, 4, 0.002, 0.5) in steps_seen
    assert trainer.pending_change is None
    (change,) = model.metadata_[CHANGES_KEY]
    assert change == {
        "epoch": pytest.approx(1 + 3 / 12),
        "step": 15,
        "eta_before": 0.01,
        "eta": 0.002,
        "momentum_before": 0.9,
        "momentum": 0.5,
    }
    # the history: epochs 1 ended with the old course, 2 to 4 with the new one
    assert [(h["eta"], h["momentum"]) for h in model.history_] == [(0.01, 0.9)] + [(0.002, 0.5)] * 3


def test_a_changed_run_equals_one_stopped_changed_by_hand_and_resumed(tiny_data):
    """The hand-over changes nothing but η: the same weights as doing it by hand."""
    X, y = tiny_data
    changed = quick_model(optimizer="nesterov", epochs=3)
    trainer = Trainer(changed, X, y, callback_every=1)
    trainer.callback = lambda p: (p.epoch, p.batch) == (1, 5) and trainer.change(eta=0.003)
    trainer.run()

    by_hand = quick_model(optimizer="nesterov", epochs=3)
    t2 = Trainer(by_hand, X, y, callback_every=1, callback=lambda p: (p.epoch, p.batch) == (1, 5))
    t2.run()
    assert t2.stopped
    by_hand.optimizer_.eta = 0.003
    t2.callback = None
    t2.run()
    for a, b in zip(changed.weights_, by_hand.weights_):
        np.testing.assert_array_equal(a, b)


def test_changes_from_another_thread_while_training(tiny_data):
    X, y = tiny_data
    model = quick_model(epochs=30, batch_size=10)  # 60 minibatches an epoch
    trainer = Trainer(model, X, y, callback_every=1, overlap_eval=False)
    asked = [0.01 * 0.9**k for k in range(1, 41)]
    started = threading.Event()
    trainer.callback = lambda p: started.set()
    done = threading.Event()

    def changer():
        started.wait(10)
        for eta in asked:
            trainer.change(eta=eta)
            time.sleep(0.002)
        done.set()

    thread = threading.Thread(target=changer)
    thread.start()
    trainer.run()
    thread.join()
    assert done.is_set()
    changes = model.metadata_.get(CHANGES_KEY, [])
    if trainer.pending_change:  # the last one came after the last minibatch
        changes = [*changes, {"eta": trainer.pending_change["eta"]}]
    etas = [c["eta"] for c in changes]
    # Some requests are replaced by later ones before the loop takes them up; those taken
    # up come in order, each its own record, and the last one asked for is the last taken.
    assert etas == sorted(etas, reverse=True) and etas[-1] == asked[-1]
    assert set(etas) <= set(asked) and len(etas) >= 2
    steps = [c["step"] for c in model.metadata_[CHANGES_KEY]]
    assert steps == sorted(set(steps))  # at most one record between two minibatches
    for before, after in zip(model.metadata_[CHANGES_KEY], model.metadata_[CHANGES_KEY][1:]):
        assert after["eta_before"] == before["eta"]


def test_wrong_changes_are_refused_where_they_are_asked(tiny_data):
    X, y = tiny_data
    trainer = Trainer(quick_model(optimizer="sgd"), X, y)
    with pytest.raises(ValueError, match="eta must be a number > 0"):
        trainer.change(eta=0)
    with pytest.raises(ValueError, match="eta must be a number > 0"):
        trainer.change(eta=float("nan"))
    with pytest.raises(ValueError, match="eta must be a number > 0"):
        trainer.change(eta="0.1")
    with pytest.raises(ValueError, match="sgd optimizer has no momentum"):
        trainer.change(momentum=0.5)
    adam = Trainer(quick_model(optimizer="adam"), X, y)
    with pytest.raises(ValueError, match="adam optimizer has no momentum"):
        adam.change(momentum=0.5)
    nesterov = Trainer(quick_model(optimizer="nesterov"), X, y)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\)"):
        nesterov.change(momentum=1.0)
    nesterov.change()  # nothing asked: nothing to do
    assert trainer.pending_change is None and nesterov.pending_change is None


def test_changes_are_saved_with_the_weights_and_a_loaded_model_keeps_its_course(
    tiny_data, tmp_path
):
    X, y = tiny_data
    model = quick_model(optimizer="momentum", epochs=2)
    trainer = Trainer(model, X, y, callback_every=1)
    trainer.callback = lambda p: (
        (p.epoch, p.batch) == (0, 6) and trainer.change(eta=0.004, momentum=0.6)
    )
    trainer.run()
    path = save_model(model, tmp_path / "changed.npz", dtype="float64")
    loaded = load_model(path)
    assert loaded.metadata_[CHANGES_KEY] == model.metadata_[CHANGES_KEY]
    assert [h["momentum"] for h in loaded.history_] == [0.6, 0.6]
    # Trained further, it goes on with the changed course, not the starting η.
    loaded.optimizer_ = None
    more = Trainer(loaded, X, y, epochs=1)
    assert (more.model.optimizer_.eta, more.model.optimizer_.momentum) == (0.004, 0.6)
