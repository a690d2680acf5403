"""The training loop: callbacks, stopping, resuming, divergence, early stopping."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from digitnet import MLP, Trainer, TrainingDiverged


def quick_model(**kw):
    params = dict(hidden=16, eta=0.01, epochs=4, batch_size=50, precision="float64")
    params.update(kw)
    return MLP(**params)


def test_callback_is_called_per_epoch_and_every_n_minibatches(tiny_data):
    X, y = tiny_data  # 600 images, batch 50 -> 12 minibatches per epoch
    seen = []
    callback = lambda p: seen.append((p.kind, p.epoch, p.batch))  # noqa: E731
    Trainer(
        quick_model(epochs=2), X, y, callback=callback, callback_every=5, overlap_eval=False
    ).run()
    assert seen == [
        ("batch", 0, 5),
        ("batch", 0, 10),
        ("epoch", 1, 0),
        ("batch", 1, 5),
        ("batch", 1, 10),
        ("epoch", 2, 0),
    ]


def test_callback_returning_true_stops_and_keeps_last_step(tiny_data):
    X, y = tiny_data
    model = quick_model(epochs=10)
    before = []

    def stop_after_7_batches(p):
        before.append(p.model.weights_[0].copy())
        return p.kind == "batch" and p.epoch == 1 and p.batch == 7

    trainer = Trainer(model, X, y, callback=stop_after_7_batches, callback_every=1)
    trainer.run()
    assert trainer.stopped and not trainer.done
    assert model.epochs_trained_ == 1 and trainer.batch == 7
    np.testing.assert_array_equal(model.weights_[0], before[-1])  # nothing after the stop


def test_resume_after_stop_equals_an_uninterrupted_run(tiny_data):
    X, y = tiny_data
    straight = quick_model(epochs=3).fit(X, y)
    model = quick_model(epochs=3)
    trainer = Trainer(
        model, X, y, callback=lambda p: p.epoch == 1 and p.batch == 4, callback_every=2
    )
    trainer.run()
    assert trainer.stopped and model.epochs_trained_ == 1
    trainer.callback = None
    trainer.run()  # resume
    assert trainer.done and model.epochs_trained_ == 3
    for a, b in zip(straight.weights_, model.weights_):
        np.testing.assert_array_equal(a, b)


def test_stop_event_from_another_thread_stops_within_a_minibatch(tiny_data):
    X, y = tiny_data
    stop = threading.Event()
    batches = []

    def cb(p):
        batches.append(p.batch)
        if len(batches) == 3:
            stop.set()  # as a Stop button would, from another thread

    model = quick_model(epochs=50)
    trainer = Trainer(model, X, y, callback=cb, callback_every=1, stop_event=stop)
    trainer.run()
    assert trainer.stopped and trainer.batch == 3  # the set came after batch 3: no 4th
    assert not stop.is_set()  # cleared, so run() can resume


def test_diverging_run_raises_and_keeps_last_good_weights(tiny_data):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (600, 784), dtype=np.uint8), rng.integers(0, 10, 600)
    model = MLP(
        hidden=16,
        activation="relu",
        output="softmax",
        eta=1.0,
        init_scale=1.0,
        epochs=20,
        batch_size=50,
    )
    with pytest.raises(TrainingDiverged, match=r"diverged .* smaller learning rate"):
        model.fit(X, y)
    assert all(np.isfinite(W).all() for W in model.weights_)
    assert all(np.isfinite(b).all() for b in model.biases_)
    assert all(np.isfinite(h["cost"]) for h in model.history_)


def test_history_has_the_articles_three_series(tiny_data):
    X, y = tiny_data
    model = quick_model(epochs=3).fit(X[:500], y[:500], validation_data=(X[500:], y[500:]))
    assert [h["epoch"] for h in model.history_] == [1, 2, 3]
    for h in model.history_:
        assert {"cost", "train_acc", "valid_acc", "elapsed"} <= set(h)
        assert 0 <= h["train_acc"] <= 1 and 0 <= h["valid_acc"] <= 1
    # "full" train metrics are the model's own score on the training set
    assert model.history_[-1]["train_acc"] == pytest.approx(model.score(X[:500], y[:500]))


def test_running_metrics_track_full_metrics(tiny_data):
    X, y = tiny_data
    model = quick_model(epochs=8, train_metrics="running", optimizer="adam", eta=0.005)
    model.fit(X, y)
    assert abs(model.history_[-1]["train_acc"] - model.score(X, y)) < 0.08


def test_early_stopping_restores_the_best_epoch(tiny_data):
    X, y = tiny_data
    model = quick_model(epochs=60, early_stopping=True, patience=2, optimizer="adam", eta=0.05)
    model.fit(X[:400], y[:400], validation_data=(X[400:], y[400:]))
    best = max(h["valid_acc"] for h in model.history_)
    assert model.epochs_trained_ < 60
    assert model.score(X[400:], y[400:]) == pytest.approx(best)
    with pytest.raises(ValueError, match="early_stopping needs validation_data"):
        quick_model(early_stopping=True).fit(X, y)


def test_overlapped_evaluation_gives_the_same_history_in_order(tiny_data):
    X, y = tiny_data
    runs = {}
    for overlap in (False, True):
        model = quick_model(epochs=5)
        epochs_seen = []
        trainer = Trainer(
            model,
            X[:500],
            y[:500],
            (X[500:], y[500:]),
            overlap_eval=overlap,
            callback=lambda p, seen=epochs_seen: (
                p.kind == "epoch" and seen.append((p.epoch, p.history[-1]["epoch"]))
            ),
        )
        trainer.run()
        assert trainer.done and epochs_seen == [(e, e) for e in range(1, 6)]
        runs[overlap] = model
    strip = lambda h: {k: v for k, v in h.items() if k != "elapsed"}  # noqa: E731
    assert [strip(h) for h in runs[True].history_] == [strip(h) for h in runs[False].history_]
    for a, b in zip(runs[True].weights_, runs[False].weights_):
        np.testing.assert_array_equal(a, b)
