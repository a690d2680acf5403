"""One visitor's training run in a worker thread, and the server-wide cap on runs.

A Streamlit script must never block for long: a visitor clicks, the script runs
top to bottom and returns. Training takes seconds to minutes, so it runs in a
thread of its own, one per visitor, and the page only *reads* how it is doing:

- :class:`TrainJob` owns the worker thread. The thread runs
  :class:`digitnet.train.Trainer` and, through the Trainer's callback, writes
  its progress under a lock. The page calls :meth:`TrainJob.snapshot` (a
  consistent copy) on every refresh, and :meth:`TrainJob.published` for a copy
  of the weights to draw with. The worker mutates its weight arrays in place,
  so it publishes *copies*, never the arrays it trains.
- :class:`Slots` caps the number of runs training at once on the server (each
  takes a CPU core); a run over the cap waits for a slot.
- A run also stops on its own when its visitor is gone: the page closed
  (``alive()`` says so for :data:`SESSION_GRACE_S` seconds) or no heartbeat
  came for :data:`HEARTBEAT_TIMEOUT_S` seconds. It then drops its model, so
  the memory is freed even though Streamlit keeps a closed session's state
  for a while.
- A run holds a slot for at most its wall-clock budget
  (:func:`digitnet.budget.run_seconds`, ``DIGITNET_RUN_MINUTES``), Resume
  included: then it stops for good (state ``timeout``), keeping its network,
  so that one visitor cannot hold a training slot for hours.

Nothing here imports Streamlit: this module runs (and is tested) without it.
The app keeps one :class:`Slots` per server (``st.cache_resource``) and one
:class:`TrainJob` per visitor (``st.session_state``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .. import budget
from ..errors import TrainingDiverged
from ..model import MLP
from ..presets import split
from ..train import CHANGES_KEY, EVAL_CHUNK, Progress, Trainer
from .watch import Readings, ReadingsView

log = logging.getLogger("digitnet.app.jobs")


def log_to_stderr() -> None:
    """Print the workers' log lines on stderr, once (the app calls it at startup: Streamlit
    does not configure the loggers of other packages, and importing this module must not)."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s digitnet.jobs %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


MAX_RUNS_ENV = "DIGITNET_MAX_TRAINING_RUNS"
DEFAULT_MAX_RUNS = 2  #: concurrent runs per server: one per core of a 2-core host

#: A page that has been disconnected this long ends its run (a reconnect within it does not).
SESSION_GRACE_S = budget.setting("DIGITNET_SESSION_GRACE_S", 5.0, minimum=0)
#: Backstop: with no heartbeat from the page for this long, the run ends. Longer than
#: the once-a-minute timers browsers allow hidden tabs.
HEARTBEAT_TIMEOUT_S = budget.setting("DIGITNET_HEARTBEAT_TIMEOUT_S", 90.0, minimum=1)
CALLBACKS_PER_EPOCH = 50  #: progress reports per epoch (each also checks for a stop)
PUBLISH_EVERY_S = 0.5  #: at most this often a weight copy for the Draw tab (and every epoch)
ALIVE_EVERY_S = 0.5  #: how often the worker asks whether its page is still open
MAX_RUNS_KEPT = 12  #: runs of a session kept for comparison (their histories only)
#: The finished runs' weights a session keeps, newest first, to set two runs side by side
#: (each read the drawing); older runs keep their history, test accuracy and confusion.
KEPT_WEIGHTS_BYTES = 8_000_000
#: Weight copies a job holds besides its trainer's, for the run memory budget: the one
#: published for the Draw tab, the next one being made, and the first layer's weights at
#: the start in float16 (for the units that moved most), counted as a whole copy.
COPIES_HELD = 3

ACTIVE_STATES = ("waiting", "running")


def max_training_runs(environ: dict | None = None) -> int:
    """The server-wide cap: ``DIGITNET_MAX_TRAINING_RUNS`` if it is a positive integer."""
    value = (os.environ if environ is None else environ).get(MAX_RUNS_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_RUNS
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        log.warning("%s=%r is not a positive integer; using %d", MAX_RUNS_ENV, value, 2)
        return DEFAULT_MAX_RUNS
    return n


# ---------------------------------------------------------------- data
@dataclass(frozen=True)
class TrainingData:
    """MNIST as the runs use it: the article's 55,000 / 5,000 split, and the test set.

    The arrays are uint8 and read-only, shared by every run on the server.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def from_mnist(cls, train: tuple, test: tuple) -> TrainingData:
        """From ``load_mnist("train")`` and ``load_mnist("test")``."""
        (X_train, y_train), (X_valid, y_valid) = split(*train)
        return cls(X_train, y_train, X_valid, y_valid, *test)


# ---------------------------------------------------------------- the cap
class Slots:
    """At most ``n`` runs train at once in this process.

    Keep one per server (``st.cache_resource``): built at the top level of the
    app script, it would be rebuilt on every rerun and cap nothing.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"the number of training slots must be >= 1, got {n}")
        self.n = n
        self._sem = threading.BoundedSemaphore(n)
        self._lock = threading.Lock()
        self._holders: list[str] = []  # a list: several AppTest sessions share one id

    def acquire(self, who: str, timeout: float) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds; False if none came free."""
        if not self._sem.acquire(timeout=timeout):
            return False
        with self._lock:
            self._holders.append(who)
        return True

    def release(self, who: str) -> None:
        with self._lock:
            self._holders.remove(who)
        self._sem.release()

    def in_use(self) -> int:
        with self._lock:
            return len(self._holders)


# ---------------------------------------------------------------- what the page reads
@dataclass
class RunRecord:
    """One run of a session, for the run table and the comparison chart.

    ``history`` is :attr:`MLP.history_` (one dict per epoch), copied.
    """

    number: int
    preset: str
    label: str
    params: dict
    epochs: int
    history: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  #: η/μ changed mid-run (Trainer.change)
    state: str = "waiting"
    test_acc: float | None = None
    message: str = ""
    confusion: np.ndarray | None = None  #: on the MNIST test set (10×10), once done
    model: MLP | None = None  #: its final weights (float32), while the session keeps them


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job's state, taken under its lock.

    ``state`` is one of: ``idle`` (no run yet), ``waiting`` (for a slot),
    ``running``, ``stopped`` (by the visitor; can resume), ``done``,
    ``diverged`` (NaN cost; the last good weights are kept), ``failed``
    (an unexpected error, in ``message``), ``ended`` (the page went away),
    ``timeout`` (its wall-clock budget is spent; the network is kept).
    """

    state: str = "idle"
    run: int = 0
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    n_batches: int = 1
    fraction: float = 0.0
    elapsed: float = 0.0
    history: tuple = ()
    test_acc: float | None = None
    message: str = ""
    slots_in_use: int = 0
    slots_cap: int = 0
    changes: tuple = ()  #: the run's changes of course so far (Trainer.change's records)

    @property
    def active(self) -> bool:
        """Waiting for a slot or training: the page keeps refreshing."""
        return self.state in ACTIVE_STATES

    @property
    def can_resume(self) -> bool:
        return self.state == "stopped" and self.epoch < self.epochs

    @property
    def epoch_float(self) -> float:
        """Epochs done, counting the current epoch's minibatches: 2.4 = 40% into epoch 3."""
        return self.fraction * self.epochs

    @property
    def seconds_left(self) -> float | None:
        """Seconds left, extrapolated from the time taken so far; None before any progress."""
        if self.state != "running" or self.fraction <= 0 or self.fraction >= 1:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction


@dataclass(frozen=True)
class Published:
    """A copy of a run's weights, safe to predict with while the run goes on."""

    model: MLP
    run: int
    preset: str
    epoch: float  # epochs done when copied (2.4 = 40% into the third)
    epochs: int


def test_confusion(model: MLP, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The confusion matrix (rows: true digit, columns: read) of ``model`` on ``X``, read in
    chunks small enough for the run's memory budget (:func:`digitnet.budget.eval_rows`)."""
    rows = min(EVAL_CHUNK, budget.eval_rows(model.layer_sizes, model.dtype.itemsize))
    # chunk by chunk from the uint8 images, as evaluate_rows: MLP.predict would first scale
    # the whole set to floats (63 MB for MNIST's test set in float64) and take twice as long
    read = [
        model.logits(model.prepare(X[start : start + rows])).argmax(axis=1)
        for start in range(0, len(X), rows)
    ]
    return np.bincount(np.asarray(y) * 10 + np.concatenate(read), minlength=100).reshape(10, 10)


# ---------------------------------------------------------------- the job
class TrainJob:
    """One visitor's training: at most one run at a time, in a worker thread.

    Parameters
    ----------
    owner : str
        The visitor's session id (names the thread, counts in :class:`Slots`).
    slots : Slots
        The server-wide cap.
    alive : callable, optional
        ``alive() -> bool``: is the visitor's page still connected? Called from
        the worker thread, so it must be thread-safe. Default: always True.
    time_limit : float, optional
        Seconds a run may hold a slot, Resume included; default
        :func:`digitnet.budget.run_seconds` (``DIGITNET_RUN_MINUTES``).
    """

    def __init__(
        self,
        owner: str,
        slots: Slots,
        alive: Callable[[], bool] | None = None,
        time_limit: float | None = None,
    ) -> None:
        self.owner = owner
        self.slots = slots
        self.alive = alive or (lambda: True)
        self.time_limit = budget.run_seconds() if time_limit is None else time_limit
        self._held = 0.0  # seconds the current run has held a slot before this stint
        self._held_since: float | None = None
        self.heartbeat = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()  # the Trainer checks it before every minibatch
        self._thread: threading.Thread | None = None
        self._trainer: Trainer | None = None
        self._data: TrainingData | None = None
        self._runs: list[RunRecord] = []
        self._snap = Snapshot()
        self._published: Published | None = None
        self._last_publish = 0.0
        self._gone_since: float | None = None
        self._last_alive_check = 0.0
        self._quit: str | None = None  # why the worker was told to stop, if not by Stop
        self._readings: Readings | None = None  # the run's per-epoch readings
        self._drawing: np.ndarray | None = None  # the visitor's drawing, as last told
        self._start_W0: np.ndarray | None = None  # the first layer's weights at the start

    # ------------------------------------------------ called by the page
    def start(self, model: MLP, data: TrainingData, *, preset: str, label: str) -> None:
        """Start a new run of ``model`` (stopping any current one) and return at once.

        ``label`` names the run in charts; it is prefixed with the run's number.

        Raises ValueError (from the Trainer) if the data does not suit the model,
        e.g. ``early_stopping`` without validation data.
        """
        self.stop()
        trainer = Trainer(
            model,
            data.X_train,
            data.y_train,
            (data.X_valid, data.y_valid),
            callback=self._on_progress,
            callback_every=max(1, len(data.X_train) // model.batch_size // CALLBACKS_PER_EPOCH),
            stop_event=self._stop,
            overlap_eval=False,  # one core per run: the cap counts cores
        )
        number = (self._runs[-1].number if self._runs else 0) + 1
        record = RunRecord(
            number, preset, f"#{number} {label}", model.get_params(), trainer.run_epochs
        )
        with self._lock:
            self._trainer, self._data = trainer, data
            self._held = 0.0
            self._runs = [*self._runs, record][-MAX_RUNS_KEPT:]
            self._snap = Snapshot(
                "waiting",
                run=number,
                epochs=trainer.run_epochs,
                n_batches=trainer.n_batches,
                slots_cap=self.slots.n,
            )
            # the freshly initialised weights: the Draw tab can try them right away
            self._published = Published(model.copy(), number, preset, 0.0, trainer.run_epochs)
            # float16: enough to rank the units that moved most (a quarter of a float64 copy)
            self._start_W0 = model.weights_[0].astype(np.float16)
            self._readings = Readings(data.X_valid, data.y_valid)
            self._readings.record(0, self._published.model)
            self._readings.set_drawing(self._drawing, (0.0, self._published.model))
        self._launch()

    def stop(self, wait: float = 5.0) -> None:
        """Stop the run before its next minibatch and wait (at most ``wait`` s) for it.

        The partial model is kept, and published for the Draw tab.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)

    def resume(self) -> None:
        """Continue a stopped run where it left off (same weights, optimizer, epoch)."""
        if self.is_alive() or not self.snapshot().can_resume:
            return
        with self._lock:
            self._snap = replace(self._snap, state="waiting", message="")
        self._launch()

    def change_course(self, *, eta: float | None = None, momentum: float | None = None) -> None:
        """Change η (and μ) of the current run for the rest of it, from its next minibatch
        (:meth:`digitnet.train.Trainer.change`: raises ValueError for a wrong value, and
        if there is no run that can still train)."""
        with self._lock:
            trainer, state = self._trainer, self._snap.state
        if trainer is None or trainer.done or state not in (*ACTIVE_STATES, "stopped"):
            raise ValueError("there is no run going on to change")
        trainer.change(eta=eta, momentum=momentum)

    def pending_change(self) -> dict | None:
        """A change asked for and not yet taken up (the run is between two minibatches)."""
        with self._lock:
            trainer = self._trainer
        return None if trainer is None else trainer.pending_change

    def course(self) -> dict:
        """The current run's η (before its schedule) and μ (if its optimizer has one)."""
        with self._lock:
            trainer = self._trainer
        opt = trainer.model.optimizer_ if trainer is not None else None
        if opt is None:
            return {}
        pending = trainer.pending_change or {}
        course = {"eta": pending.get("eta", opt.eta)}
        if hasattr(opt, "momentum"):
            course["momentum"] = pending.get("momentum", opt.momentum)
        return course

    def set_drawing(self, image: np.ndarray | None) -> None:
        """The visitor's drawing (28×28, as the network sees it) or None: read after every
        epoch of the current run, and of the runs to come."""
        with self._lock:
            self._drawing = None if image is None else np.array(image, np.float32)
            readings, pub = self._readings, self._published
        if readings is not None:
            readings.set_drawing(self._drawing, None if pub is None else (pub.epoch, pub.model))

    def readings(self) -> ReadingsView | None:
        """What the current run read after each epoch (None before any run)."""
        with self._lock:
            readings = self._readings
        return None if readings is None else readings.view()

    def start_weights(self) -> np.ndarray | None:
        """The first layer's weights when the current run started (read-only)."""
        with self._lock:
            return self._start_W0

    def beat(self) -> None:
        """The page is still there (called on every refresh)."""
        self.heartbeat = time.monotonic()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return replace(self._snap, slots_in_use=self.slots.in_use(), slots_cap=self.slots.n)

    def published(self) -> Published | None:
        """The latest weight copy of the current run, or None before any run."""
        with self._lock:
            return self._published

    def runs(self) -> list[RunRecord]:
        """Copies of this session's runs, oldest first."""
        with self._lock:
            return [replace(r, history=[dict(h) for h in r.history]) for r in self._runs]

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop and forget everything (the models): frees the memory."""
        self.stop()
        with self._lock:
            self._trainer = self._data = self._published = None
            self._readings = self._start_W0 = None
            for run in self._runs:
                run.model = None

    def _keep_weights(self) -> None:
        """Drop the weights of the oldest finished runs beyond :data:`KEPT_WEIGHTS_BYTES`
        (under the lock)."""
        kept = 0
        for run in reversed(self._runs):
            if run.model is None:
                continue
            size = sum(a.nbytes for a in (*run.model.weights_, *run.model.biases_))
            if kept + size > KEPT_WEIGHTS_BYTES and kept:
                run.model = None
            else:
                kept += size

    # ------------------------------------------------ the worker thread
    def _launch(self) -> None:
        if self.is_alive():
            return
        self._stop.clear()
        self._quit = None
        self._gone_since = None
        self.beat()
        self._thread = threading.Thread(
            target=self._work, name=f"train-{self.owner[:8]}", daemon=True
        )
        self._thread.start()

    def _work(self) -> None:
        _name_os_thread(f"train-{self.owner[:8]}")
        t0 = time.monotonic()
        log.info("worker start owner=%s run=%d", self.owner[:8], self._snap.run)
        while not self.slots.acquire(self.owner, timeout=0.25):  # wait for a free slot
            reason = "stop" if self._stop.is_set() else self._quit_reason()
            if reason:
                self._finish(reason, t0)
                return
        reason = None
        self._held_since = time.monotonic()
        try:
            with self._lock:
                self._snap = replace(self._snap, state="running")
            trainer = self._trainer
            trainer.run()
            if self._quit:
                reason = self._quit
            elif not trainer.done:
                reason = "stop"
            else:
                data = self._data
                confusion = test_confusion(trainer.model, data.X_test, data.y_test)
                test_acc = float(np.trace(confusion) / confusion.sum())
                trainer.model.metadata_["metrics"] = {"mnist_test_accuracy": test_acc}
                with self._lock:
                    self._snap = replace(self._snap, test_acc=test_acc)
                    self._runs[-1].confusion = confusion
        except TrainingDiverged as e:
            reason = "diverged"
            with self._lock:
                self._snap = replace(self._snap, message=str(e))
        except Exception as e:  # never let the thread die silently
            log.exception("worker failed")
            reason = "failed"
            with self._lock:
                self._snap = replace(self._snap, message=f"{type(e).__name__}: {e}")
        finally:
            self._held += time.monotonic() - self._held_since
            self._held_since = None
            self.slots.release(self.owner)
            self._finish(reason, t0)

    def _on_progress(self, p: Progress) -> bool:
        """The Trainer's callback (worker thread): record progress; True asks it to stop."""
        now = time.monotonic()
        publish = p.kind == "epoch" or now - self._last_publish >= PUBLISH_EVERY_S
        copy = p.model.copy() if publish else None  # outside the lock: ~1 ms
        readings = self._readings
        if p.kind == "epoch" and readings is not None:  # every epoch: a dozen rows, < 1 ms
            readings.record(p.epoch, copy)
        changes = tuple(p.model.metadata_.get(CHANGES_KEY, ()))
        with self._lock:
            snap = replace(
                self._snap,
                epoch=p.epoch,
                epochs=p.epochs,
                batch=p.batch if p.kind == "batch" else 0,
                n_batches=p.n_batches,
                fraction=p.fraction,
                elapsed=p.elapsed,
                changes=changes,
            )
            self._runs[-1].changes = list(changes)
            if p.kind == "epoch":
                history = tuple(dict(h) for h in p.history)
                snap = replace(snap, history=history)
                self._runs[-1].history = list(history)
            self._snap = snap
            if copy is not None:
                self._published = Published(
                    copy, snap.run, self._runs[-1].preset, snap.epoch_float, p.epochs
                )
                self._last_publish = now
        self._quit = self._quit_reason()
        return self._quit is not None

    def _quit_reason(self) -> str | None:
        """Why the run should end although nobody pressed Stop, or None."""
        now = time.monotonic()
        if now - self._last_alive_check >= ALIVE_EVERY_S:
            self._last_alive_check = now
            if self.alive():
                self._gone_since = None
            elif self._gone_since is None:
                self._gone_since = now
        if self._gone_since is not None and now - self._gone_since > SESSION_GRACE_S:
            return "session-ended"
        if now - self.heartbeat > HEARTBEAT_TIMEOUT_S:
            return "no-heartbeat"
        since = self._held_since
        if since is not None and self._held + now - since > self.time_limit:
            return "timeout"
        return None

    def _finish(self, reason: str | None, t0: float) -> None:
        state = {
            None: "done",
            "stop": "stopped",
            "diverged": "diverged",
            "failed": "failed",
            "timeout": "timeout",
        }.get(reason, "ended")
        with self._lock:
            message = self._snap.message
            if state == "ended":
                message = "The page was closed, so the run was stopped."
            elif state == "timeout":
                message = (
                    f"This run reached this server's limit of {_duration(self.time_limit)} of "
                    f"training per run ({budget.RUN_MINUTES_ENV}), so it stopped after "
                    f"{self._snap.epoch_float:.1f} of {self._snap.epochs} epochs, keeping its "
                    "network. Start a new run to train more."
                )
            self._snap = replace(self._snap, state=state, message=message)
            if self._runs:
                self._runs[-1].state = state
                self._runs[-1].test_acc = self._snap.test_acc
                self._runs[-1].message = message
            trainer = self._trainer
            if trainer is not None and state != "ended":
                # the final weights (stopped, done, or the last good ones if diverged)
                self._published = Published(
                    trainer.model.copy(),
                    self._snap.run,
                    self._runs[-1].preset,
                    self._snap.epoch_float,
                    self._snap.epochs,
                )
                if state == "done":
                    self._runs[-1].model = trainer.model.copy("float32")
                    self._keep_weights()
            if state == "ended":  # nobody will look again: free the memory now
                self._trainer = self._data = self._published = None
                self._readings = self._start_W0 = None
        log.info(
            "worker exit owner=%s run=%d reason=%s epoch=%d after=%.2fs",
            self.owner[:8],
            self._snap.run,
            reason or "finished",
            self._snap.epoch,
            time.monotonic() - t0,
        )


def _name_os_thread(name: str) -> None:
    """Linux: name the worker's OS thread, so it shows in ``ps -T`` and ``top -H``."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}" if minutes >= 1 else f"{seconds:g} s"
