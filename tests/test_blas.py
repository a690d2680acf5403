"""Tests for digitnet.blas: BLAS thread limits that overlapping threads cannot leave behind."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from digitnet import MLP, blas
from digitnet.weights import load_model, save_model

BASELINE = 2  #: the process's own limit during these tests (neither 1 nor 3)

if blas.current() is None:
    pytest.skip("no BLAS library that threadpoolctl can control", allow_module_level=True)


@pytest.fixture
def baseline():
    """The process at BASELINE threads, as threadpoolctl's own context sets and restores it."""
    with threadpool_limits(limits=BASELINE, user_api="blas"):
        assert blas.current() == BASELINE
        yield BASELINE


def in_thread(enter: threading.Event, leave: threading.Event, threads: int) -> threading.Thread:
    """A thread that holds ``blas.limit(threads)`` from ``enter`` being set until ``leave`` is."""

    def hold() -> None:
        with blas.limit(threads):
            enter.set()
            assert leave.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert enter.wait(10)
    return thread


@pytest.mark.parametrize("first_out", ["first in", "last in"])
def test_overlapping_limits_restore_the_process_limit_in_any_order(baseline, first_out):
    events = {k: (threading.Event(), threading.Event()) for k in ("a", "b")}
    a = in_thread(*events["a"], threads=1)
    assert blas.current() == 1
    b = in_thread(*events["b"], threads=3)
    assert blas.current() == 1  # the smallest limit asked for wins while both hold
    first, second = ("a", "b") if first_out == "first in" else ("b", "a")
    threads = {"a": a, "b": b}
    events[first][1].set()
    threads[first].join(10)
    assert blas.current() == (3 if first == "a" else 1)  # one left: its own limit
    events[second][1].set()
    threads[second].join(10)
    assert blas.current() == baseline


def test_nested_limits_and_errors_restore(baseline):
    with blas.limit(1):
        with blas.limit(1), blas.limit(4):
            assert blas.current() == 1
        with pytest.raises(RuntimeError), blas.limit(1):
            raise RuntimeError("an exception inside the block")
        assert blas.current() == 1
    assert blas.current() == baseline


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "2"])
def test_a_limit_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        blas.limit(bad).__enter__()


def test_small_products_get_one_thread_large_ones_the_process_limit(baseline):
    with blas.blas_threads(None, 100, (784, 100, 10)):
        assert blas.current() == 1
    with blas.blas_threads(None, 60_000, (784, 100, 10)):
        assert blas.current() == baseline
    with blas.blas_threads(3, 100, (784, 100, 10)):
        assert blas.current() == 3
    assert blas.current() == baseline


class HeldMLP(MLP):
    """An MLP whose forward pass, once ``entered`` is set, waits for ``release``."""

    entered: threading.Event
    release: threading.Event

    def forward(self, X):
        self.entered.set()
        assert self.release.wait(10)
        return super().forward(X)


def test_a_prediction_overlapping_a_training_run_leaves_the_limit_as_it_was(baseline, tiny_data):
    """The case of issue 13: a prediction with its own thread count starts while a training
    run (one BLAS thread) goes on, and ends after it. Before, the prediction restored the
    training run's limit on its way out, and the process stayed there for good."""
    X, y = tiny_data
    trainer = MLP(hidden=16, epochs=3, batch_size=50, eta=0.01)
    predictor = HeldMLP(hidden=16, threads=3).initialize()
    predictor.entered, predictor.release = threading.Event(), threading.Event()
    seen: dict[str, int | None] = {}
    predicting = threading.Thread(target=predictor.predict_proba, args=(X,))

    def start_the_prediction_mid_run(progress) -> None:
        if progress.kind == "batch" and progress.epoch == 1 and progress.batch == 2:
            seen["training alone"] = blas.current()
            predicting.start()
            assert predictor.entered.wait(10)
            seen["both"] = blas.current()

    training = threading.Thread(
        target=trainer.fit,
        args=(X, y),
        kwargs={"callback": start_the_prediction_mid_run, "callback_every": 1},
    )
    training.start()
    training.join(30)
    assert not training.is_alive() and trainer.epochs_trained_ == 3
    seen["prediction alone"] = blas.current()
    predictor.release.set()
    predicting.join(10)
    assert seen == {"training alone": 1, "both": 1, "prediction alone": 3}
    assert blas.current() == baseline  # back to the process's own limit


def test_thread_counts_never_come_from_a_weights_file(tmp_path, tiny_data):
    X, y = tiny_data
    model = MLP(hidden=8, epochs=1, threads=4).fit(X, y)
    path = save_model(model, tmp_path / "threads.npz")
    with np.load(path) as npz:
        assert json.loads(str(npz["metadata"]))["hyperparameters"]["threads"] == 4
    loaded = load_model(path)
    assert loaded.threads is None
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
