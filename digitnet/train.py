"""The training loop: epochs of shuffled minibatches, per-epoch history, callbacks.

One epoch, as in the article::

    shuffle the training indices (the model's RandomState)
    for each minibatch:    forward → backward → optimizer step
    after the epoch:       cost, training accuracy, validation accuracy

:class:`Trainer` holds the loop's position (epoch, minibatch, the epoch's
order, the optimizer), so a run that was stopped -- by a callback returning
``True`` or by a ``threading.Event`` -- resumes where it left off when
:meth:`Trainer.run` is called again. Images stay uint8 in memory and are
converted one minibatch at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import TrainingDiverged
from .model import MLP, N_CLASSES, N_INPUTS, check_labels, data_loss
from .optimizers import make_optimizer

EVAL_CHUNK = 8192  # rows per forward pass when scoring whole data sets


@dataclass
class Progress:
    """What a callback is told.

    Attributes
    ----------
    kind : {"batch", "epoch"}
        Called after ``callback_every`` minibatches, or at the end of an epoch.
    epoch : int
        Epochs completed so far (counting the one just finished for ``"epoch"``).
    epochs : int
        Epochs the run is going for.
    batch, n_batches : int
        Minibatches done in the current epoch, and per epoch.
    history : list of dict
        :attr:`digitnet.model.MLP.history_` so far.
    elapsed : float
        Seconds spent training (callbacks excluded).
    model : MLP
        The model being trained (its weights change in place: copy to keep them).
    """

    kind: str
    epoch: int
    epochs: int
    batch: int
    n_batches: int
    history: list
    elapsed: float
    model: MLP

    @property
    def fraction(self) -> float:
        """How much of the run is done, 0..1."""
        done = self.epoch + (self.batch / self.n_batches if self.kind == "batch" else 0)
        return min(1.0, done / max(1, self.epochs))


class Trainer:
    """Trains an :class:`~digitnet.model.MLP` epoch by epoch; can be stopped and resumed.

    Parameters
    ----------
    model : MLP
        Trained in place. Initialised first if it has no weights.
    X, y : ndarray
        Training images (uint8 or floats in [0, 1]) and labels 0..9.
    validation_data : (X_valid, y_valid), optional
    epochs : int, optional
        Epochs to run (default: ``model.epochs``).
    callback : callable, optional
        ``callback(progress) -> bool | None``, after every epoch and every
        ``callback_every`` minibatches; returning ``True`` stops training.
    callback_every : int, optional
    stop_event : threading.Event, optional
        Checked before each minibatch: set it (from any thread) to stop.
    """

    def __init__(
        self,
        model: MLP,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        epochs: int | None = None,
        callback: Callable[[Progress], bool | None] | None = None,
        callback_every: int | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.model = model
        self.X = _as_rows(X, "training images")
        self.y = check_labels(y, len(self.X))
        if len(self.X) == 0:
            raise ValueError("the training set is empty")
        self.valid = None
        if validation_data is not None and len(validation_data[0]):
            Xv, yv = validation_data
            Xv = _as_rows(Xv, "validation images")
            self.valid = (Xv, check_labels(yv, len(Xv)))
        if model.early_stopping and self.valid is None:
            raise ValueError("early_stopping needs validation_data")
        if epochs is not None and (
            isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1
        ):
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if callback_every is not None and (
            not isinstance(callback_every, (int, np.integer)) or callback_every < 1
        ):
            raise ValueError(f"callback_every must be a positive integer, got {callback_every!r}")
        if not model.is_fitted:
            model.initialize()
        self.callback = callback
        self.callback_every = callback_every
        self.stop_event = stop_event or threading.Event()
        self.n_batches = max(1, len(self.X) // model.batch_size)  # the article drops the rest
        self.run_epochs = int(epochs if epochs is not None else model.epochs)
        self.target_epoch = model.epochs_trained_ + self.run_epochs
        if model.optimizer_ is None:
            model.optimizer_ = make_optimizer(
                model.optimizer,
                model.eta,
                momentum=model.momentum,
                beta1=model.beta1,
                beta2=model.beta2,
                schedule=model.schedule,
                warmup=model.warmup,
            )
            model.optimizer_.total_steps = self.run_epochs * self.n_batches
        self.batch = 0  # minibatches done in the current epoch
        self.order: np.ndarray | None = None
        self.elapsed = model.history_[-1]["elapsed"] if model.history_ else 0.0
        self.stopped = False
        self.one_hot = np.eye(N_CLASSES, dtype=model.dtype)
        self._augmenter = None
        if model.augment:
            from .augment import Augmenter

            self._augmenter = Augmenter(model.augment, seed=model.seed)
        self._good = self._snapshot()  # weights of the last epoch with a finite cost
        self._best: tuple[float, list, list, int] | None = None  # for early stopping
        self._since_best = 0
        self._running = [0.0, 0, 0]  # loss sum, correct, seen (train_metrics="running")

    # ------------------------------------------------------------ the loop
    @property
    def done(self) -> bool:
        """True once the run has made all its epochs (or early stopping ended it)."""
        return self.model.epochs_trained_ >= self.target_epoch

    def run(self) -> MLP:
        """Train until all epochs are done or a stop is asked for; call again to resume."""
        model = self.model
        self.stopped = False
        # overflow shows up as NaN/inf in the cost, which _diverged reports: no warnings
        with (
            blas_threads(model.threads, model.batch_size, model.layer_sizes),
            np.errstate(over="ignore", invalid="ignore"),
        ):
            while not self.done and not self.stopped:
                if self._run_epoch():
                    self._end_epoch()
        return model

    def stop(self) -> None:
        """Ask the loop to stop before its next minibatch (thread-safe)."""
        self.stop_event.set()

    def _run_epoch(self) -> bool:
        """Run the rest of the current epoch; False if it was interrupted."""
        model, mb = self.model, self.model.batch_size
        opt = model.optimizer_
        params = [*model.weights_, *model.biases_]
        if self.batch == 0:  # a new epoch: a new order, as the article's shuffle
            self.order = np.arange(len(self.X))
            if model.shuffle:
                model.random_state_.shuffle(self.order)
            self._running = [0.0, 0, 0]
        t0 = time.perf_counter()
        try:
            for b in range(self.batch, self.n_batches):
                if self.stop_event.is_set():
                    self.stop_event.clear()
                    self.stopped = True
                    return False
                idx = self.order[b * mb : (b + 1) * mb]
                yb = self.y[idx]
                activations = model.forward(self._inputs(idx))
                grad_W, grad_b = model.backward(activations, self.one_hot[yb])
                if not (np.isfinite(grad_b[-1]).all() and np.isfinite(grad_W[-1]).all()):
                    self._diverged(f"minibatch {b + 1} of epoch {model.epochs_trained_ + 1}")
                opt.step(params, [*grad_W, *grad_b])
                if model.train_metrics == "running":
                    self._accumulate(activations[-1], yb)
                self.batch = b + 1
                if self.callback_every and self.batch % self.callback_every == 0:
                    self.elapsed += time.perf_counter() - t0
                    self._notify("batch")
                    t0 = time.perf_counter()
                    if self.stopped:
                        return False
        finally:
            self.elapsed += time.perf_counter() - t0
        return True

    def _inputs(self, idx: np.ndarray) -> np.ndarray:
        images = self.X[idx]
        if self._augmenter is not None:
            images = self._augmenter(images)  # floats in [0, 1]
        return self.model.prepare(images)

    def _accumulate(self, out: np.ndarray, yb: np.ndarray) -> None:
        rows = np.arange(len(yb))
        eps = np.finfo(out.dtype).tiny
        if self.model.output == "softmax":
            loss = -np.log(np.maximum(out[rows, yb], eps)).sum()
        else:
            p = np.clip(out, eps, 1 - np.finfo(out.dtype).epsneg)
            loss = -np.log1p(-p).sum() - np.log(p[rows, yb]).sum() + np.log1p(-p[rows, yb]).sum()
        self._running[0] += float(loss)
        self._running[1] += int((out.argmax(axis=1) == yb).sum())
        self._running[2] += len(yb)

    def _end_epoch(self) -> None:
        model = self.model
        t0 = time.perf_counter()
        if model.train_metrics == "full":
            loss_sum, correct = evaluate_rows(model, self.X, self.y)
            n = len(self.X)
        else:
            loss_sum, correct, n = self._running
        cost = loss_sum / max(1, n) * len(self.X) + model.l2_term()
        if not np.isfinite(cost) or not all(np.isfinite(W).all() for W in model.weights_):
            self._diverged(f"the end of epoch {model.epochs_trained_ + 1}")
        valid_acc = None
        if self.valid is not None:
            valid_acc = evaluate_rows(model, *self.valid)[1] / len(self.valid[0])
        model.epochs_trained_ += 1
        self.batch = 0
        self.elapsed += time.perf_counter() - t0
        model.history_.append(
            {
                "epoch": model.epochs_trained_,
                "cost": cost,
                "loss": loss_sum / max(1, n),
                "train_acc": correct / max(1, n),
                "valid_acc": valid_acc,
                "elapsed": self.elapsed,
                "eta": model.optimizer_.current_eta(),
            }
        )
        self._good = self._snapshot()
        if model.early_stopping:
            self._early_stopping(valid_acc)
        self._notify("epoch")

    def _early_stopping(self, valid_acc: float) -> None:
        model = self.model
        if self._best is None or valid_acc > self._best[0]:
            self._best = (valid_acc, *self._snapshot(), model.epochs_trained_)
            self._since_best = 0
            return
        self._since_best += 1
        if self._since_best >= model.patience or self.done:
            _, W, b, epoch = self._best
            model.weights_[:], model.biases_[:] = W, b
            model.history_[-1]["restored_best_epoch"] = epoch
            self.target_epoch = model.epochs_trained_  # done
            model.optimizer_ = None

    def _notify(self, kind: str) -> None:
        if self.callback is None:
            return
        progress = Progress(
            kind,
            self.model.epochs_trained_,
            self.target_epoch,
            self.batch,
            self.n_batches,
            self.model.history_,
            self.elapsed,
            self.model,
        )
        if self.callback(progress):
            self.stopped = True

    # ------------------------------------------------------------ divergence
    def _snapshot(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [W.copy() for W in self.model.weights_], [b.copy() for b in self.model.biases_]

    def _diverged(self, where: str) -> None:
        model = self.model
        W, b = self._good
        for dst, src in zip([*model.weights_, *model.biases_], [*W, *b]):
            dst[...] = src  # in place: the optimizer holds these arrays
        self.stopped = True
        raise TrainingDiverged(
            f"training diverged at {where}: the cost became NaN or infinite. The model keeps "
            f"its weights from the end of epoch {model.epochs_trained_} (the last finite cost). "
            f"Try a smaller learning rate than eta={model.eta:g}."
        )


def evaluate_rows(model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Summed data loss and number of correct predictions over a whole set, in chunks."""
    loss, correct = 0.0, 0
    for start in range(0, len(X), EVAL_CHUNK):
        z = model.logits(model.prepare(X[start : start + EVAL_CHUNK]))
        yc = y[start : start + EVAL_CHUNK]
        loss += data_loss(z, yc, model.output)
        correct += int((z.argmax(axis=1) == yc).sum())
    return loss, correct


def _as_rows(X: np.ndarray, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (28, 28):
        return X.reshape(len(X), N_INPUTS)
    if X.ndim == 2 and X.shape[1] == N_INPUTS:
        return X
    raise ValueError(f"{what} must be shaped (N, 28, 28) or (N, 784), got {X.shape}")


# ------------------------------------------------------------ BLAS threads
@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(threads: int | None, batch_rows: int, layer_sizes: tuple[int, ...]):
    """Limit the BLAS thread pool for matrix products of ``batch_rows`` rows.

    Small minibatches run faster on one thread: splitting a (100×784)·(784×100)
    product between two cores costs more in synchronisation than it saves
    (``benchmarks/RESULTS.md`` has the figures). ``threads`` overrides the choice.
    """
    if threads is None:
        work = batch_rows * max(layer_sizes[1:-1], default=1)
        threads = 1 if work <= SINGLE_THREAD_WORK else None
    if threads is None:
        return _controller().limit(limits=None, user_api="blas")
    return _controller().limit(limits=threads, user_api="blas")


SINGLE_THREAD_WORK = 1024 * 1024  # rows × widest hidden layer; see blas_threads
