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

The course can be changed while a run goes on: :meth:`Trainer.change` (from any
thread) hands a new learning rate η, and momentum μ where the optimizer uses one,
to the loop, which takes it up between two minibatches. Each change is recorded
in ``model.metadata_["changes"]`` (saved with the weights) with where it took
effect, and every epoch's history entry carries the η (and μ) it ended with.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .blas import blas_threads
from .errors import TrainingDiverged
from .functions import N_CLASSES, check_labels, data_loss
from .geometry import MNIST_SIZE, N_PIXELS
from .optimizers import Optimizer, make_optimizer

if TYPE_CHECKING:  # the model calls the loop (MLP.fit); the loop only drives the model
    from .model import MLP

EVAL_CHUNK = 8192  # rows per forward pass when scoring whole data sets
CHANGES_KEY = "changes"  #: where a model's mid-run changes are kept, in ``metadata_``

#: How the per-epoch cost and training accuracy are measured (:class:`~digitnet.model.MLP`'s
#: ``train_metrics``): a pass over the whole training set after the epoch (the article),
#: or the running sums of the epoch's minibatches.
TRAIN_METRICS = ("full", "running")

#: A copy of a model's weights and biases: ``(W, b)``, one array per layer each.
Weights = tuple[list[np.ndarray], list[np.ndarray]]


@dataclass
class RunningSums:
    """An epoch's minibatches so far, for ``train_metrics="running"``.

    Each minibatch's output z and labels are kept until :data:`SUM_EVERY` of them
    are there, then the loss and the right answers of all of them are summed at
    once: the cost's own formula (:data:`digitnet.functions.OUTPUTS`), without its
    dozen NumPy calls on every small minibatch.
    """

    output: str  #: the output layer, whose loss is summed
    loss: float = 0.0  #: Σ of the data loss
    correct: int = 0  #: images read right
    seen: int = 0  #: images
    unsummed: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def add(self, z_out: np.ndarray, y: np.ndarray) -> None:
        self.unsummed.append((z_out, y))
        if len(self.unsummed) >= SUM_EVERY:
            self.sum()

    def sum(self) -> RunningSums:
        """Sum what is kept (and return self)."""
        if self.unsummed:
            z = np.concatenate([z for z, _ in self.unsummed])
            y = np.concatenate([y for _, y in self.unsummed])
            self.loss += data_loss(z, y, self.output)
            self.correct += int((z.argmax(axis=1) == y).sum())
            self.seen += len(y)
            self.unsummed = []
        return self


SUM_EVERY = 32  #: minibatches whose running metrics are summed together


class PendingEpoch(NamedTuple):
    """An epoch whose cost and accuracies are being measured in the background."""

    epoch: int
    job: Future[dict[str, Any]]
    weights: Weights  #: the weights at the epoch's end
    rates: dict[str, float]  #: η (and μ, if the optimizer has one) at the epoch's end


class BestEpoch(NamedTuple):
    """For early stopping: the epoch with the best validation accuracy so far."""

    valid_acc: float
    weights: Weights
    epoch: int


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
    weights : tuple of lists, or None
        For ``"epoch"``: a copy ``(W, b)`` of the weights at the end of that epoch
        (the model itself may already be further on, see ``overlap_eval``).
    """

    kind: str
    epoch: int
    epochs: int
    batch: int
    n_batches: int
    history: list[dict[str, Any]]
    elapsed: float
    model: MLP
    weights: Weights | None = None

    def snapshot(self) -> MLP:
        """A copy of the model with the weights of this epoch's end (or of now)."""
        if self.weights is None:
            return self.model.copy()
        W, b = self.weights  # the trainer keeps these: the copy gets copies
        return self.model.copy(weights=([w.copy() for w in W], [v.copy() for v in b]))

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
    overlap_eval : bool, optional
        Measure each epoch in a background thread while the next one trains
        (default: when ``train_metrics="full"`` and the machine has 2+ cores).
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
        overlap_eval: bool | None = None,
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
            optimizer = make_optimizer(
                model.optimizer,
                model.eta,
                momentum=model.momentum,
                beta1=model.beta1,
                beta2=model.beta2,
                schedule=model.schedule,
                warmup=model.warmup,
            )
            optimizer.total_steps = self.run_epochs * self.n_batches
            model.optimizer_ = optimizer
            for change in model.metadata_.get(CHANGES_KEY, ()):  # a loaded, changed model
                _apply(optimizer, change)
        self._change_lock = threading.Lock()
        self._change: dict[str, float] | None = None  # asked by change(), taken up by the loop
        self.batch = 0  # minibatches done in the current epoch
        self.order: np.ndarray | None = None
        self.elapsed = model.history_[-1]["elapsed"] if model.history_ else 0.0
        self.stopped = False
        self.one_hot = np.eye(N_CLASSES, dtype=model.dtype)
        self._augmenter = None
        if model.augment:
            from .augment import Augmenter

            self._augmenter = Augmenter(model.augment, seed=model.seed)
        if overlap_eval is None:  # the article's full pass is worth a second core
            overlap_eval = model.train_metrics == "full" and (os.cpu_count() or 1) >= 2
        self.overlap_eval = bool(overlap_eval)
        self._executor: ThreadPoolExecutor | None = None
        self._pending: PendingEpoch | None = None
        self._good = self._snapshot()  # weights of the last epoch with a finite cost
        self._best: BestEpoch | None = None
        self._since_best = 0
        self._running = RunningSums(model.output)

    # ------------------------------------------------------------ the loop
    @property
    def done(self) -> bool:
        """True once the run has made all its epochs (or early stopping ended it)."""
        return self.model.epochs_trained_ >= self.target_epoch and self._pending is None

    def run(self) -> MLP:
        """Train until all epochs are done or a stop is asked for; call again to resume."""
        model = self.model
        self.stopped = False
        # overflow shows up as NaN/inf in the cost, which _diverged reports: no warnings
        with (
            blas_threads(model.threads, model.batch_size, model.layer_sizes),
            np.errstate(over="ignore", invalid="ignore"),
        ):
            try:
                while model.epochs_trained_ < self.target_epoch and not self.stopped:
                    if self._run_epoch():
                        self._end_epoch()
                self._collect(wait=True)  # the last epoch's metrics
            finally:
                if self._executor is not None:
                    self._executor.shutdown(wait=True)
                    self._executor, self._pending = None, None
        return model

    def stop(self) -> None:
        """Ask the loop to stop before its next minibatch (thread-safe)."""
        self.stop_event.set()

    def change(self, *, eta: float | None = None, momentum: float | None = None) -> None:
        """Change the course for the rest of the run: η, and μ if the optimizer has one.

        Thread-safe: the values are checked here (ValueError if they are wrong) and
        handed to the loop, which takes them up before its next minibatch (or when a
        stopped run resumes); a second change before then replaces what the first
        asked for, field by field. The schedule, if any, goes on scaling the new η.
        """
        asked: dict[str, float] = {}
        if eta is not None:
            if not _real(eta) or not 0 < eta < math.inf:
                raise ValueError(f"eta must be a number > 0, got {eta!r}")
            asked["eta"] = float(eta)
        if momentum is not None:
            if not hasattr(self.model.optimizer_, "momentum"):
                raise ValueError(f"the {self.model.optimizer} optimizer has no momentum to change")
            if not _real(momentum) or not 0 <= momentum < 1:
                raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
            asked["momentum"] = float(momentum)
        if not asked:
            return
        with self._change_lock:
            self._change = {**(self._change or {}), **asked}

    @property
    def pending_change(self) -> dict[str, float] | None:
        """What :meth:`change` asked for and the loop has not taken up yet."""
        with self._change_lock:
            return None if self._change is None else dict(self._change)

    def _take_change(self) -> None:
        """Between two minibatches: apply what :meth:`change` asked for, and record it."""
        with self._change_lock:
            asked, self._change = self._change, None
        if not asked:
            return
        model, opt = self.model, self.model.optimizer_
        assert opt is not None  # set up by __init__
        record: dict[str, float] = {
            "epoch": round(model.epochs_trained_ + self.batch / self.n_batches, 6),
            "step": int(opt.t),
        }
        for name, value in asked.items():
            record[f"{name}_before"] = float(getattr(opt, name))
            record[name] = value
        _apply(opt, record)
        # a new list each time: copies of the model that share the old one never see it move
        model.metadata_[CHANGES_KEY] = [*model.metadata_.get(CHANGES_KEY, ()), record]

    def _run_epoch(self) -> bool:
        """Run the rest of the current epoch; False if it was interrupted."""
        model, mb = self.model, self.model.batch_size
        opt = model.optimizer_
        assert opt is not None and model.random_state_ is not None  # set up by __init__
        params = [*model.weights_, *model.biases_]
        running = model.train_metrics == "running"
        if self.batch == 0 or self.order is None:  # a new epoch: a new order, as the article's
            self.order = np.arange(len(self.X))
            if model.shuffle:
                model.random_state_.shuffle(self.order)
            self._running = RunningSums(model.output)
        order = self.order
        t0 = time.perf_counter()
        try:
            for b in range(self.batch, self.n_batches):
                if self.stop_event.is_set():
                    self.stop_event.clear()
                    self.stopped = True
                    return False
                if self._change is not None:  # asked for from another thread
                    self._take_change()
                idx = order[b * mb : (b + 1) * mb]
                yb = self.y[idx]
                activations, z_out = model.forward_pass(self._inputs(idx), keep_z_out=running)
                grad_W, grad_b = model.backward(activations, self.one_hot[yb])
                if not (np.isfinite(grad_b[-1]).all() and np.isfinite(grad_W[-1]).all()):
                    self._diverged(f"minibatch {b + 1} of epoch {model.epochs_trained_ + 1}")
                opt.step(params, [*grad_W, *grad_b])
                if z_out is not None:
                    self._running.add(z_out, yb)
                self.batch = b + 1
                if self._pending is not None and self._pending.job.done():
                    self.elapsed += time.perf_counter() - t0
                    self._collect()  # the previous epoch's metrics are ready
                    t0 = time.perf_counter()
                    if self.stopped or model.epochs_trained_ >= self.target_epoch:
                        return False
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

    # ------------------------------------------------------------ after each epoch
    def _end_epoch(self) -> None:
        """The epoch's minibatches are done: measure it, now or on the second core.

        With ``overlap_eval`` the article's full pass over the training set runs in
        a background thread on a copy of the weights while the next epoch trains
        (NumPy releases the GIL in its heavy loops); its history entry and epoch
        callback follow as soon as it is ready, always in order.
        """
        model = self.model
        self._collect(wait=True)  # at most one epoch in flight
        model.epochs_trained_ += 1
        self.batch = 0
        epoch, weights, running = (
            model.epochs_trained_,
            self._snapshot(),
            replace(self._running.sum()),
        )
        rates = self._rates()
        if self.overlap_eval and model.epochs_trained_ < self.target_epoch:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="digitnet-eval")
            job = self._executor.submit(self._measure, weights, running)
            self._pending = PendingEpoch(epoch, job, weights, rates)
        else:
            t0 = time.perf_counter()
            metrics = self._measure(weights, running)
            self.elapsed += time.perf_counter() - t0
            self._record(epoch, metrics, weights, rates)

    def _rates(self) -> dict[str, float]:
        """η as the epoch ends (after the schedule), and μ if the optimizer has one."""
        opt = self.model.optimizer_
        rates = {"eta": opt.current_eta() if opt else self.model.eta}
        momentum = getattr(opt, "momentum", None)
        if momentum is not None:
            rates["momentum"] = float(momentum)
        return rates

    def _collect(self, wait: bool = False) -> None:
        """Record the epoch measured in the background, if it is ready (or ``wait``)."""
        if self._pending is None:
            return
        epoch, job, weights, rates = self._pending
        if not wait and not job.done():
            return
        t0 = time.perf_counter()
        metrics = job.result()
        self.elapsed += time.perf_counter() - t0
        self._pending = None
        self._record(epoch, metrics, weights, rates)

    def _measure(self, weights: Weights, running: RunningSums) -> dict[str, Any]:
        """Cost and accuracies of the weights ``(W, b)`` (the model's are left alone)."""
        model = self.model.copy(weights=weights)  # the epoch's snapshot, not copied again
        if model.train_metrics == "full":
            loss_sum, correct = evaluate_rows(model, self.X, self.y)
            n = len(self.X)
        else:
            loss_sum, correct, n = running.loss, running.correct, running.seen
        valid_acc = None
        if self.valid is not None:
            valid_acc = evaluate_rows(model, *self.valid)[1] / len(self.valid[0])
        return {
            "cost": loss_sum / max(1, n) * len(self.X) + model.l2_term(),
            "loss": loss_sum / max(1, n),
            "train_acc": correct / max(1, n),
            "valid_acc": valid_acc,
        }

    def _record(
        self, epoch: int, metrics: dict[str, Any], weights: Weights, rates: dict[str, float]
    ) -> None:
        model = self.model
        if not np.isfinite(metrics["cost"]) or not all(np.isfinite(W).all() for W in weights[0]):
            self._diverged(f"the end of epoch {epoch}")
        model.history_.append({"epoch": epoch, **metrics, "elapsed": self.elapsed, **rates})
        self._good = weights
        if model.early_stopping:
            self._early_stopping(metrics["valid_acc"], epoch, weights)
        self._notify("epoch", epoch, weights)

    def _early_stopping(self, valid_acc: float, epoch: int, weights: Weights) -> None:
        model = self.model
        if self._best is None or valid_acc > self._best.valid_acc:
            self._best = BestEpoch(valid_acc, weights, epoch)
            self._since_best = 0
            return
        self._since_best += 1
        if self._since_best >= model.patience or epoch >= self.target_epoch:
            W, b = self._best.weights
            model.weights_[:] = [w.copy() for w in W]
            model.biases_[:] = [v.copy() for v in b]
            model.history_[-1]["restored_best_epoch"] = self._best.epoch
            self.target_epoch = model.epochs_trained_  # done: no more epochs
            self.batch = 0
            model.optimizer_ = None

    def _notify(self, kind: str, epoch: int | None = None, weights: Weights | None = None) -> None:
        if self.callback is None:
            return
        progress = Progress(
            kind,
            self.model.epochs_trained_ if epoch is None else epoch,
            self.target_epoch,
            self.batch if kind == "batch" else 0,
            self.n_batches,
            self.model.history_,
            self.elapsed,
            self.model,
            weights,
        )
        if self.callback(progress):
            self.stopped = True

    # ------------------------------------------------------------ divergence
    def _snapshot(self) -> Weights:
        return [W.copy() for W in self.model.weights_], [b.copy() for b in self.model.biases_]

    def _diverged(self, where: str) -> None:
        model = self.model
        self._collect(wait=True)  # was the epoch measured in the background still good?
        W, b = self._good
        for dst, src in zip([*model.weights_, *model.biases_], [*W, *b]):
            dst[...] = src  # in place: the optimizer holds these arrays
        self.stopped = True
        raise TrainingDiverged(
            f"training diverged at {where}: the cost became NaN or infinite. The model keeps "
            f"its weights from the end of epoch {len(model.history_)} (the last finite cost). "
            f"Try a smaller learning rate than eta={getattr(model.optimizer_, 'eta', model.eta):g}."
        )


def _real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _apply(optimizer: Optimizer, change: Mapping[str, Any]) -> None:
    """Set an optimizer's η and μ to those of a recorded change."""
    if "eta" in change:
        optimizer.eta = float(change["eta"])
    if "momentum" in change and hasattr(optimizer, "momentum"):
        optimizer.momentum = float(change["momentum"])


def evaluate_rows(model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Summed data loss and number of correct predictions over a whole set, in chunks
    (of :data:`EVAL_CHUNK` rows, fewer for wide networks: :func:`digitnet.budget.eval_rows`)."""
    from .budget import eval_rows

    loss, correct = 0.0, 0
    chunk = min(EVAL_CHUNK, eval_rows(model.layer_sizes, model.dtype.itemsize))
    for start in range(0, len(X), chunk):
        z = model.logits(model.prepare(X[start : start + chunk]))
        yc = y[start : start + chunk]
        loss += data_loss(z, yc, model.output)
        correct += int((z.argmax(axis=1) == yc).sum())
    return loss, correct


def _as_rows(X: np.ndarray, what: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 3 and X.shape[1:] == (MNIST_SIZE, MNIST_SIZE):
        return X.reshape(len(X), N_PIXELS)
    if X.ndim == 2 and X.shape[1] == N_PIXELS:
        return X
    raise ValueError(f"{what} must be shaped (N, 28, 28) or (N, 784), got {X.shape}")
