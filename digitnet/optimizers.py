"""Update rules: how the weights move once backpropagation has given the gradient.

Each optimizer is a small class with one method, :meth:`Optimizer.step`, that
changes the parameters *in place* from their gradients. The gradients are those
of :meth:`digitnet.model.MLP.backward`: summed over the minibatch (not
averaged, as in the article) with the L2 term already added to the weights'.

=================  ===========================================================
``SGD``            w ← w − η·g                          (the article's rule)
``Momentum``       v ← μ·v − η·g;  w ← w + v            (Polyak momentum)
``Momentum(nesterov=True)``  v ← μ·v − η·g;  w ← w + μ·v − η·g
``Adam``           m ← β₁m + (1−β₁)g;  s ← β₂s + (1−β₂)g²;  w ← w − η·m̂ / (√ŝ + ε)
``RMSprop``        s ← β₂s + (1−β₂)g²;  w ← w − η·g / (√s + ε)
=================  ===========================================================

A learning-rate *schedule* scales η as training advances: ``constant`` keeps
it, ``cosine`` lowers it along half a cosine to zero at the last step (after an
optional linear warm-up).

Every update rule and every schedule is written once, in :data:`OPTIMIZERS`
and :data:`SCHEDULES`, which the model's validation, the command line and the
app's Train tab read: adding an optimizer here (its class and one registry
entry) offers it everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np


# --------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------
def constant(t: int, total: int, warmup: float = 0.0) -> float:
    """η all the way."""
    return 1.0


def cosine(t: int, total: int, warmup: float = 0.0) -> float:
    """η·½(1 + cos(π·progress)) after a linear warm-up over the fraction ``warmup``."""
    n_warm = int(warmup * total)
    if t < n_warm:
        return (t + 1) / n_warm
    progress = min(1.0, (t - n_warm) / max(1, total - n_warm))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


#: Learning-rate schedules by name: the factor η is scaled by at step t of total.
SCHEDULES: dict[str, Callable[[int, int, float], float]] = {
    "constant": constant,
    "cosine": cosine,
}


def schedule_factor(schedule: str, t: int, total: int, warmup: float = 0.0) -> float:
    """The factor by which a schedule scales η at step ``t`` of ``total``.

    Parameters
    ----------
    schedule : str
        A name in :data:`SCHEDULES`.
    t : int
        Number of updates already made (0 for the first one).
    total : int
        Number of updates the whole run will make (its end for ``cosine``).
    warmup : float
        Fraction of ``total`` over which η rises linearly from near 0 (cosine only).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if total <= 0:
        return 1.0
    return SCHEDULES[schedule](t, total, warmup)


class Optimizer:
    """Base class: keeps η, its schedule and the step count.

    Parameters
    ----------
    eta : float
        Learning rate η.
    schedule : {"constant", "cosine"}
    warmup : float
        Fraction of the run spent warming up (cosine schedule only).
    """

    def __init__(self, eta: float, schedule: str = "constant", warmup: float = 0.0) -> None:
        self.eta = float(eta)
        self.schedule = schedule
        self.warmup = float(warmup)
        self.t = 0  # updates made so far
        self.total_steps = 0  # set by the training loop, for the schedule

    def current_eta(self) -> float:
        """η for the next update, after the schedule."""
        return self.eta * schedule_factor(self.schedule, self.t, self.total_steps, self.warmup)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Move every parameter array in place, given its gradient."""
        eta = self.current_eta()
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(i, p, g, eta)
        self.t += 1

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, eta: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Plain minibatch gradient descent, ``w ← w − η·g``: the article's update rule."""

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, eta: float) -> None:
        p -= eta * g


class Momentum(Optimizer):
    """Gradient descent with (optionally Nesterov) momentum μ.

    ``v ← μ·v − η·g``, then ``w ← w + v``; with Nesterov's look-ahead,
    ``w ← w + μ·v − η·g``.
    """

    def __init__(
        self,
        eta: float,
        momentum: float = 0.9,
        nesterov: bool = False,
        schedule: str = "constant",
        warmup: float = 0.0,
    ) -> None:
        super().__init__(eta, schedule, warmup)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity: dict[int, np.ndarray] = {}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, eta: float) -> None:
        v = self.velocity.get(i)
        if v is None:
            v = self.velocity[i] = np.zeros_like(p)
        step = g * p.dtype.type(eta)  # η·g, one temporary
        v *= self.momentum
        v -= step
        if self.nesterov:
            step *= -1.0
            step += self.momentum * v
            p += step
        else:
            p += v


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with its bias correction folded into the step size:
    ``w ← w − η·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√s + ε)``."""

    def __init__(
        self,
        eta: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        schedule: str = "constant",
        warmup: float = 0.0,
    ) -> None:
        super().__init__(eta, schedule, warmup)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self.m: dict[int, np.ndarray] = {}
        self.s: dict[int, np.ndarray] = {}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, eta: float) -> None:
        if i not in self.m:
            self.m[i], self.s[i] = np.zeros_like(p), np.zeros_like(p)
        m, s = self.m[i], self.s[i]
        t = self.t + 1
        m *= self.beta1
        m += (1.0 - self.beta1) * g  # m ← β₁m + (1−β₁)g
        s *= self.beta2
        s += (1.0 - self.beta2) * (g * g)  # s ← β₂s + (1−β₂)g²
        lr = eta * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        denom = np.sqrt(s)
        denom += self.epsilon
        np.divide(m, denom, out=denom)
        denom *= lr
        p -= denom


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): each weight's step is divided by the root of a
    running average of its squared gradients, ``s ← β₂s + (1−β₂)g²``, then
    ``w ← w − η·g / (√s + ε)``. It is Adam without the momentum and the bias correction,
    so its decay rate is the model's ``beta2`` (0.9 is the usual choice for RMSprop)."""

    def __init__(
        self,
        eta: float = 1e-3,
        beta2: float = 0.9,
        epsilon: float = 1e-8,
        schedule: str = "constant",
        warmup: float = 0.0,
    ) -> None:
        super().__init__(eta, schedule, warmup)
        self.beta2, self.epsilon = float(beta2), float(epsilon)
        self.s: dict[int, np.ndarray] = {}

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, eta: float) -> None:
        s = self.s.get(i)
        if s is None:
            s = self.s[i] = np.zeros_like(p)
        s *= self.beta2
        s += (1.0 - self.beta2) * (g * g)  # s ← β₂s + (1−β₂)g²
        denom = np.sqrt(s)
        denom += self.epsilon
        np.divide(g, denom, out=denom)
        denom *= eta
        p -= denom  # w ← w − η·g / (√s + ε)


# --------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerChoice:
    """An update rule the model can be trained with.

    ``settings`` are the :class:`~digitnet.model.MLP` hyperparameters it takes
    besides η, the schedule and the warm-up (e.g. ``("momentum",)``), passed to
    ``make`` by name. ``states`` and ``temporaries`` are what it holds in memory
    (:mod:`digitnet.budget` counts them): arrays as large as the weights kept
    between steps, and arrays as large as a weight matrix made during a step.
    """

    name: str
    label: str
    make: Callable[..., Optimizer]
    settings: tuple[str, ...] = ()
    states: int = 0
    temporaries: int = 1


#: The update rules, by name.
OPTIMIZERS: dict[str, OptimizerChoice] = {
    o.name: o
    for o in (
        OptimizerChoice("sgd", "SGD", SGD),
        OptimizerChoice("momentum", "momentum", Momentum, ("momentum",), states=1),
        OptimizerChoice(
            "nesterov", "Nesterov", partial(Momentum, nesterov=True), ("momentum",), states=1
        ),
        OptimizerChoice("adam", "Adam", Adam, ("beta1", "beta2"), states=2, temporaries=3),
        OptimizerChoice("rmsprop", "RMSprop", RMSprop, ("beta2",), states=1, temporaries=3),
    )
}


def make_optimizer(
    name: str,
    eta: float,
    *,
    schedule: str = "constant",
    warmup: float = 0.0,
    **settings: float,
) -> Optimizer:
    """Build the optimizer ``name`` of :data:`OPTIMIZERS`.

    ``settings`` may hold any of the model's optimizer hyperparameters
    (``momentum``, ``beta1``, ``beta2``): each optimizer takes those it uses.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    choice = OPTIMIZERS[name]
    own = {key: settings[key] for key in choice.settings if key in settings}
    return choice.make(eta, schedule=schedule, warmup=warmup, **own)
