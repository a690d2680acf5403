"""How much memory a training run takes at its peak, and the limits a host sets.

A training run holds, besides the (shared, read-only) training images:

- the weights, the copy of the last good epoch's weights (kept in case the
  cost diverges), the copy taken at each epoch's end, the best epoch's copy
  (early stopping), and in the app the copies published for the Draw tab;
- the optimizer's state: nothing for SGD, a velocity per weight for momentum
  and Nesterov, two moments per weight for Adam, and its temporaries;
- a minibatch: its images (distorted first, with ``augment``), every layer's
  activations, the errors δ and φ' of the backward pass, the gradients;
- the evaluation of whole data sets, a chunk of rows at a time
  (:func:`eval_rows`): the chunk's inputs and two layers' activations.

:func:`run_memory` adds these up from the settings alone, before anything is
allocated, and :func:`check_run` refuses a run over the budget with the
figure. ``tests/test_budget.py`` checks the estimate against the peak that
``tracemalloc`` measures for real runs.

The limits a host can change, by environment variable (read when used):

- :data:`RUN_MEMORY_ENV` (``DIGITNET_RUN_MEMORY_MB``): a run's peak memory, MB.
  Default: :data:`APP_RUN_MEMORY_MB` in the app; on the command line, half the
  machine's memory.
- :data:`RUN_MINUTES_ENV` (``DIGITNET_RUN_MINUTES``): the app's wall-clock budget
  for a run, holding a training slot (:data:`DEFAULT_RUN_MINUTES`).
- :data:`MODEL_MB_ENV` (``DIGITNET_MAX_MODEL_MB``): the largest uploaded network,
  in memory once loaded (:data:`DEFAULT_MODEL_MB`).
- :data:`EVALUATIONS_ENV` (``DIGITNET_MAX_EVALUATIONS``): test-set evaluations
  the app runs at once (:data:`DEFAULT_EVALUATIONS`; others wait).

NumPy only, no Streamlit.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DigitnetError
from .geometry import N_PIXELS as N_INPUTS
from .optimizers import OPTIMIZERS

if TYPE_CHECKING:  # the model imports the training loop, which checks its budget here
    from .model import MLP

log = logging.getLogger("digitnet.budget")

RUN_MEMORY_ENV = "DIGITNET_RUN_MEMORY_MB"
RUN_MINUTES_ENV = "DIGITNET_RUN_MINUTES"
MODEL_MB_ENV = "DIGITNET_MAX_MODEL_MB"
EVALUATIONS_ENV = "DIGITNET_MAX_EVALUATIONS"

#: A run's peak in the app, MB. Two runs at once (one per core of a 2-core host) and the
#: server itself (about 250 MB with MNIST) fit in Community Cloud's 690 MB.
APP_RUN_MEMORY_MB = 160
#: Minutes of training a run may take in the app (Resume counts on): the `best` preset
#: takes about 3 on one core.
DEFAULT_RUN_MINUTES = 15
#: The largest uploaded network in memory once loaded, MB: anything the app itself
#: trains (at most 2.5 million weights, float64: 20 MB) can be uploaded back.
DEFAULT_MODEL_MB = 20
DEFAULT_EVALUATIONS = 1  #: test-set evaluations at once on the server

#: Memory for one chunk of an evaluation (inputs and activations). Networks up to
#: about 2,000 units per row take whole chunks of :data:`MAX_EVAL_ROWS` rows.
EVAL_BYTES = 64_000_000
MAX_EVAL_ROWS = 8192
MIN_EVAL_ROWS = 64
#: A distorted minibatch's working arrays, bytes per image (measured: the source
#: coordinates, the elastic field and the sampled images, float32, several at once).
AUGMENT_BYTES_PER_IMAGE = 14 * N_INPUTS * 4


class BudgetError(DigitnetError, ValueError):
    """A training run's settings need more memory than the host allows."""


# ---------------------------------------------------------------- settings
def setting(
    name: str, default: float, *, minimum: float, environ: Mapping[str, str] | None = None
) -> float:
    """A positive number from the environment, or ``default`` (a bad value is logged)."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        log.warning("%s=%r is not a number >= %g; using %g", name, raw, minimum, default)
        return default
    return value


def app_run_memory_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The app's per-run memory budget, bytes."""
    return int(setting(RUN_MEMORY_ENV, APP_RUN_MEMORY_MB, minimum=1, environ=environ) * 1e6)


def cli_run_memory_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The command line's per-run budget: the variable if set, else half the machine's memory."""
    return int(setting(RUN_MEMORY_ENV, physical_memory() / 2e6, minimum=1, environ=environ) * 1e6)


def physical_memory() -> int:
    """This machine's memory in bytes (4 GB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 4_000_000_000


def run_seconds(environ: Mapping[str, str] | None = None) -> float:
    """The app's wall-clock budget for one run, seconds."""
    return 60 * setting(RUN_MINUTES_ENV, DEFAULT_RUN_MINUTES, minimum=0.01, environ=environ)


def max_model_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The largest uploaded network in memory once loaded, bytes."""
    return int(setting(MODEL_MB_ENV, DEFAULT_MODEL_MB, minimum=0.001, environ=environ) * 1e6)


def max_evaluations(environ: Mapping[str, str] | None = None) -> int:
    """How many test-set evaluations the app runs at once."""
    return int(setting(EVALUATIONS_ENV, DEFAULT_EVALUATIONS, minimum=1, environ=environ))


# ---------------------------------------------------------------- the estimate
def eval_rows(layer_sizes: Sequence[int], itemsize: int) -> int:
    """Rows per chunk when evaluating a whole data set: :data:`EVAL_BYTES` of activations."""
    row = (sum(layer_sizes) + N_INPUTS) * itemsize
    return int(min(MAX_EVAL_ROWS, max(MIN_EVAL_ROWS, EVAL_BYTES // row)))


@dataclass(frozen=True)
class RunMemory:
    """A run's peak memory, bytes, by part (see the module's docstring)."""

    weights: int  # the weights and the copies kept by the trainer and the app
    optimizer: int  # the optimizer's state
    minibatch: int  # a minibatch at its largest moment: inputs, activations, errors, gradients
    evaluation: int  # a chunk of an evaluation, and the copy of the weights it measures
    overlap: bool  # evaluation runs beside training (the command line's second core)

    @property
    def total(self) -> int:
        work = (
            self.minibatch + self.evaluation
            if self.overlap
            else max(self.minibatch, self.evaluation)
        )
        return self.weights + self.optimizer + work

    def describe(self) -> str:
        """``"weights and their copies 12 MB, optimizer 5 MB, a minibatch 4,100 MB, ..."``."""
        parts = [
            ("weights and their copies", self.weights),
            ("optimizer", self.optimizer),
            ("a minibatch", self.minibatch),
            ("an evaluation chunk", self.evaluation),
        ]
        return ", ".join(f"{what} {mb(n)}" for what, n in parts)


def mb(n_bytes: float) -> str:
    """``"4.4 GB"``, ``"160 MB"``, ``"0.5 MB"``."""
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:.1f} GB"
    return f"{n_bytes / 1e6:,.0f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e6:.1f} MB"


def run_memory(model: MLP, *, copies: int = 2, overlap: bool = False) -> RunMemory:
    """The peak memory of training ``model`` as its hyperparameters say.

    The largest of four moments of a run: the forward pass (the last minibatch's
    activations and gradients are still held until the new ones replace them),
    the backward pass (δ, δWᵀ and φ' at the widest layer), the optimizer's step
    (its temporaries), and an evaluation chunk at an epoch's end.

    Parameters
    ----------
    model : MLP
        Its hyperparameters are read; it needs no weights.
    copies : int
        Copies of the weights held outside the trainer: 3 in the app
        (:data:`digitnet.app.jobs.COPIES_HELD`: the copy published for the Draw tab,
        the next one, the first layer at the start), 0 on the command line.
    overlap : bool
        The epoch's evaluation runs on a second core while the next epoch trains.
    """
    sizes = model.layer_sizes
    s = model.dtype.itemsize
    matrices = [a * b for a, b in zip(sizes, sizes[1:])]
    p = (sum(matrices) + sum(sizes[1:])) * s  # one copy of the weights and biases
    largest = max(matrices) * s
    widest = max(sizes[1:])
    batch = model.batch_size
    # the weights, the last good epoch's copy, the best epoch's (early stopping), the app's
    weights = (2 + (1 if model.early_stopping else 0) + copies) * p
    rule = OPTIMIZERS[model.optimizer]  # its states and temporaries
    optimizer = rule.states * p
    # the minibatch's uint8 images, its inputs and every layer's activations
    activations = batch * (N_INPUTS * (1 + s) + sum(sizes[1:]) * s)
    augment = AUGMENT_BYTES_PER_IMAGE * batch if model.augment else 0
    forward = p + 2 * activations + augment
    backward = p + activations + 3 * batch * widest * s + largest
    step = p + activations + rule.temporaries * largest
    rows = eval_rows(sizes, s)
    evaluation = p + rows * (N_INPUTS * (1 + s) + sum(sizes[1:]) * s)
    return RunMemory(
        int(weights), int(optimizer), int(max(forward, backward, step)), int(evaluation), overlap
    )


def check_run(model: MLP, budget_bytes: int, *, copies: int = 2, overlap: bool = False,
              setting_name: str = RUN_MEMORY_ENV) -> RunMemory:  # fmt: skip
    """Refuse (:class:`BudgetError`) a run whose peak would be over ``budget_bytes``."""
    need = run_memory(model, copies=copies, overlap=overlap)
    if need.total > budget_bytes:
        raise BudgetError(
            f"this run would take about {mb(need.total)} of memory at its peak "
            f"({need.describe()}), more than the {mb(budget_bytes)} allowed per run "
            f"({setting_name}); try a smaller minibatch, fewer or smaller hidden layers, "
            "or float32"
        )
    return need
