"""Watching a run learn: what the worker records at each epoch's end, and which hidden units
the page shows. No Streamlit here (the page is :mod:`digitnet.app.live`).

- :class:`Readings`: how the network being trained reads a few images after every
  epoch: the visitor's drawing (as the Draw tab reads it: the drawing and six
  distorted copies, averaged, :func:`digitnet.tta.predict_proba`) and a few fixed MNIST
  validation digits (:data:`VALIDATION_DIGITS`). The worker records them at the end of
  every epoch (a forward pass of a dozen rows: well under a millisecond), so no epoch is
  missed even when the page refreshes less often than epochs end; the page reads a copy.
- :func:`fixed_sample`, :func:`most_changed`, :func:`most_active`: which of the first
  hidden layer's units to picture.
- :func:`frame`: when the page draws the units' pictures again: at every epoch's end, and
  every :data:`FRAME_BATCHES` minibatches or so within long epochs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .. import tta
from ..model import MLP

#: A few digits of the 5,000 validation digits (the last 5,000 of MNIST's training set, as
#: :func:`digitnet.presets.split` makes them): ``(index, digit, kind)``. The "clear" ones
#: are read with probability 1.000 both by the Train tab's default run (``fast``, 3 epochs,
#: seed 1) and by the shipped weights. The "hard" ones are readable digits that default run
#: reads *wrong*, with the right digit its second choice, while the shipped weights (more
#: epochs, distorted digits) read them right: a 7 crossed on its stem that it reads as a 1,
#: a 3 with a flat top read as a 5, a 9 open at the top read as a 4. A run gets the clear
#: ones in its first epoch; the hard ones late, or not at all.
VALIDATION_DIGITS: tuple[tuple[int, int, str], ...] = (
    (56, 0, "clear"),
    (609, 1, "clear"),
    (4121, 6, "clear"),
    (1066, 7, "hard"),
    (2457, 3, "hard"),
    (3236, 9, "hard"),
)

UNITS_SHOWN = 16  #: pictures in the live grid (4 × 4)
FRAME_BATCHES = 250  #: in long epochs, a new picture every this many minibatches or so


# ---------------------------------------------------------------- per-epoch readings
@dataclass(frozen=True)
class ReadingsView:
    """A copy of what :class:`Readings` has recorded.

    ``digits``: the validation digits' ``(index, digit, kind)``; ``images`` their
    pixels (k, 28, 28) uint8; ``epochs`` the epochs read (0 = the starting weights) and
    ``probs`` (len(epochs), k, 10). ``drawing`` is the drawing read (28×28 floats), or
    None; ``drawing_epochs`` and ``drawing_probs`` (n, 10) its readings, from when it
    was drawn (the weights of earlier epochs are gone by then): the first one where the
    run was then (2.4: 40% into the third epoch), then every epoch's end.
    """

    digits: tuple[tuple[int, int, str], ...]
    images: np.ndarray
    epochs: tuple[int, ...]
    probs: np.ndarray
    drawing: np.ndarray | None
    drawing_epochs: tuple[float, ...]
    drawing_probs: np.ndarray


class Readings:
    """The readings of one run, written by its worker thread and read by its page.

    Parameters
    ----------
    X_valid, y_valid : ndarray
        The validation set; :data:`VALIDATION_DIGITS` are taken from it (a smaller set,
        as in tests, gives its first few digits instead).
    """

    def __init__(self, X_valid: np.ndarray, y_valid: np.ndarray) -> None:
        n = len(X_valid)
        chosen = [d for d in VALIDATION_DIGITS if d[0] < n and int(y_valid[d[0]]) == d[1]]
        if len(chosen) < len(VALIDATION_DIGITS):  # not MNIST's validation split
            chosen = [(i, int(y_valid[i]), "") for i in range(min(n, len(VALIDATION_DIGITS)))]
        self.digits = tuple(chosen)
        ids = [i for i, _, _ in chosen]
        self.images = np.asarray(X_valid[ids]).reshape(len(ids), 28, 28).copy()
        self._lock = threading.Lock()
        self._epochs: list[int] = []
        self._probs: list[np.ndarray] = []
        self._drawing: np.ndarray | None = None
        self._drawing_epochs: list[float] = []
        self._drawing_probs: list[np.ndarray] = []

    def record(self, epoch: int, model: MLP) -> None:
        """The worker, at the end of ``epoch`` (0: the starting weights): read them all."""
        with self._lock:
            if self._epochs and epoch <= self._epochs[-1]:
                return  # already read (e.g. the end of a stopped run, published again)
            probs = model.predict_proba(self.images) if len(self.images) else np.zeros((0, 10))
            self._epochs.append(int(epoch))
            self._probs.append(probs.astype(np.float32))
            if self._drawing is not None and (
                not self._drawing_epochs or epoch > self._drawing_epochs[-1]
            ):
                self._read_drawing(epoch, model)

    def set_drawing(self, image: np.ndarray | None, now: tuple[float, MLP] | None = None) -> None:
        """The page: the drawing on the Draw tab now (None: nothing drawn).

        A new drawing is read at once with ``now``, ``(epochs done, weights)`` (the copy
        the job last published), then at every epoch's end; the readings of the previous
        drawing are dropped.
        """
        with self._lock:
            if image is None:
                self._drawing = None
                self._drawing_epochs, self._drawing_probs = [], []
                return
            image = np.asarray(image, np.float32).reshape(28, 28)
            if self._drawing is not None and np.array_equal(image, self._drawing):
                return
            self._drawing = image.copy()
            self._drawing_epochs, self._drawing_probs = [], []
            if now is not None:
                self._read_drawing(*now)

    def _read_drawing(self, epoch: float, model: MLP) -> None:
        self._drawing_epochs.append(round(float(epoch), 4))
        self._drawing_probs.append(tta.predict_proba(model, self._drawing)[0].astype(np.float32))

    def view(self) -> ReadingsView:
        with self._lock:
            k = len(self.digits)
            return ReadingsView(
                self.digits,
                self.images,
                tuple(self._epochs),
                np.array(self._probs, np.float32).reshape(len(self._epochs), k, 10),
                None if self._drawing is None else self._drawing.copy(),
                tuple(self._drawing_epochs),
                np.array(self._drawing_probs, np.float32).reshape(-1, 10),
            )


# ---------------------------------------------------------------- which units to picture
def fixed_sample(n_units: int, k: int = UNITS_SHOWN, seed: int = 0) -> np.ndarray:
    """``k`` of the ``n_units`` first-layer units, drawn once (the same for every run of a
    network of that size, so that runs can be watched side by side), in unit order."""
    k = min(k, n_units)
    return np.sort(np.random.default_rng(seed).choice(n_units, size=k, replace=False))


def most_changed(W: np.ndarray, W_start: np.ndarray, k: int = UNITS_SHOWN) -> np.ndarray:
    """The ``k`` units whose incoming weights moved the most since the run started (the
    Euclidean distance between their columns of ``W⁽⁰⁾`` now and then), most first."""
    moved = np.linalg.norm(W.astype(np.float64) - W_start, axis=0)
    return np.argsort(-moved, kind="stable")[:k]


def most_active(model: MLP, image: np.ndarray, k: int = UNITS_SHOWN) -> np.ndarray:
    """The ``k`` first-layer units most active for ``image`` (28×28), most first."""
    a = model.forward(model.prepare(np.asarray(image).reshape(1, -1)))[1][0]
    return np.argsort(-a, kind="stable")[:k]


def frames_per_epoch(n_batches: int) -> int:
    """How many pictures an epoch of ``n_batches`` minibatches gets: 1, or one per
    :data:`FRAME_BATCHES` minibatches or so."""
    return max(1, round(n_batches / FRAME_BATCHES))


def frame(epoch: float, n_batches: int) -> int:
    """The number of the picture that weights after ``epoch`` epochs (2.4: 40% into the
    third) belong to: it changes at every epoch's end, and within long epochs."""
    per = frames_per_epoch(n_batches)
    return int(np.floor(epoch * per + 1e-9))
