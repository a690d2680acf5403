"""The article's math, and nothing else: activations, outputs, their costs, the labels.

This module imports only NumPy. Everything the network computes that is a
formula of the article is here, written through the arrays it acts on::

    a = φ(z)                      an activation, applied in place
    φ'(z), from a = φ(z)          its derivative, as backpropagation needs it
    J = Σᵢ loss(z_out⁽ⁱ⁾, y⁽ⁱ⁾)    the data part of the cost, from the output's z

The model (:mod:`digitnet.model`) chains them into the forward and backward
passes; the training loop (:mod:`digitnet.train`) sums the cost over epochs.

Each choice is written once, in a registry that the model's validation, the
command line, the app's Train tab and its How it works tab all read:
:data:`ACTIVATIONS` (a hidden unit's φ with its φ') and :data:`OUTPUTS` (an
output layer's φ with its loss and its error δ_out). Adding one here adds it
everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

N_CLASSES = 10  #: digits 0..9: the output layer's units


# --------------------------------------------------------------------------
# Activations φ and their derivatives φ', written through a = φ(z)
# --------------------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    """φ(z) = 1 / (1 + e^(−z)), in place on ``z`` (clipped, as the article, against overflow)."""
    limit, one = _SIGMOID_CONSTANTS[z.dtype.char]  # the article clips z to ±250
    np.maximum(z, -limit, out=z)  # np.clip(z, -limit, limit), without its overhead
    np.minimum(z, limit, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.add(z, one, out=z)
    return np.reciprocal(z, out=z)  # 1 / (1 + e^(−z))


#: Clip limit and 1, as scalars of each float type (faster than Python floats on
#: small arrays). e^80 still fits in float32.
_SIGMOID_CONSTANTS: dict[str, tuple[np.floating[Any], np.floating[Any]]] = {
    "d": (np.float64(250.0), np.float64(1.0)),
    "f": (np.float32(80.0), np.float32(1.0)),
    "e": (np.float16(11.0), np.float16(1.0)),
}


def sigmoid_derivative(a: np.ndarray) -> np.ndarray:
    """φ'(z) = φ(z)(1 − φ(z)) = a(1 − a)."""
    return a * (1.0 - a)


def relu(z: np.ndarray) -> np.ndarray:
    """φ(z) = max(0, z), in place."""
    return np.maximum(z, 0.0, out=z)


def relu_derivative(a: np.ndarray) -> np.ndarray:
    """φ'(z) = 1 where z > 0, else 0 -- and z > 0 exactly where a > 0."""
    return (a > 0).astype(a.dtype)


def tanh(z: np.ndarray) -> np.ndarray:
    """φ(z) = tanh(z), in place."""
    return np.tanh(z, out=z)


def tanh_derivative(a: np.ndarray) -> np.ndarray:
    """φ'(z) = 1 − tanh²(z) = 1 − a²."""
    return 1.0 - a * a


def softmax(z: np.ndarray) -> np.ndarray:
    """aₖ = e^(zₖ) / Σⱼ e^(zⱼ), in place, shifted by max(z) so that exp never overflows."""
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass(frozen=True)
class Activation:
    """A hidden unit's activation: φ (in place on z) and its derivative φ' (from a = φ(z))."""

    name: str
    label: str  #: as people write it
    phi: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    latex: str  #: φ and φ', as the How it works tab shows them


#: The hidden activations digitnet offers, by name.
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "sigmoid",
            "sigmoid",
            sigmoid,
            sigmoid_derivative,
            r"\begin{gathered} \phi(z) = \frac{1}{1 + e^{-z}} \\ \phi'(z) = a\,(1 - a) "
            r"\end{gathered}",
        ),
        Activation(
            "relu",
            "ReLU",
            relu,
            relu_derivative,
            r"\begin{gathered} \phi(z) = \max(0, z) \\ \phi'(z) = \begin{cases} 1 & z > 0 "
            r"\\ 0 & z \le 0 \end{cases} \end{gathered}",
        ),
        Activation(
            "tanh",
            "tanh",
            tanh,
            tanh_derivative,
            r"\begin{gathered} \phi(z) = \tanh z = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}} "
            r"\\ \phi'(z) = 1 - \tanh^2 z = 1 - a^2 \end{gathered}",
        ),
    )
}


# --------------------------------------------------------------------------
# Outputs and their costs, computed from the output layer's z for stability
# --------------------------------------------------------------------------
def sigmoid_cross_entropy(z_out: np.ndarray, y: np.ndarray) -> float:
    """Σᵢ Σₖ −[yₖ log σ(zₖ) + (1−yₖ) log(1−σ(zₖ))], from the output's z.

    −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y·z: the article's cost,
    written so that it stays finite when a unit saturates. ``y`` holds digits.
    """
    z = _floats(z_out)
    softplus = np.logaddexp(z.dtype.type(0.0), z)
    return float(softplus.sum(dtype=np.float64) - z[np.arange(len(y)), y].sum(dtype=np.float64))


def softmax_cross_entropy(z_out: np.ndarray, y: np.ndarray) -> float:
    """Σᵢ −log aᵢ,yᵢ for softmax outputs a, from the output's z: log Σⱼ e^(zⱼ) − z_y."""
    z = _floats(z_out)
    zmax = row_max(z)
    logsumexp = np.log(row_sum(np.exp(z - zmax[:, None]))) + zmax
    return float((logsumexp - z[np.arange(len(y)), y]).sum(dtype=np.float64))


def _floats(z: np.ndarray) -> np.ndarray:
    """z in its own precision if float32 or float64 (float64's exp is several times
    slower, and the loss of a float32 network is no more precise than float32)."""
    return z if z.dtype in (np.float32, np.float64) else z.astype(np.float64)


def row_max(a: np.ndarray) -> np.ndarray:
    """The largest value of each row of ``a`` (n, k), for a few columns k.

    k column-wise maxima: ``a.max(axis=1)`` visits each short row on its own and is
    about ten times slower for the ten outputs.
    """
    out = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        np.maximum(out, a[:, k], out=out)
    return out


def row_sum(a: np.ndarray) -> np.ndarray:
    """The sum of each row of ``a`` (n, k): one matrix-vector product, for the same reason."""
    return a @ np.ones(a.shape[1], a.dtype)


def output_error(a_out: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """δ_out = ∂J/∂z_out = a_out − y, for sigmoid outputs with binary cross-entropy and
    for softmax outputs with cross-entropy alike (``Y`` one-hot)."""
    return a_out - Y


def normalized(a_out: np.ndarray) -> np.ndarray:
    """Ten independent sigmoid outputs as probabilities: divided by their sum, in place.

    σ(z) > 0 for the clipped z, so the sum is never 0.
    """
    a_out /= a_out.sum(axis=-1, keepdims=True)
    return a_out


def as_is(a_out: np.ndarray) -> np.ndarray:
    """Softmax outputs already are probabilities."""
    return a_out


@dataclass(frozen=True)
class Output:
    """An output layer: its activation, its loss (from z) and the error it sends back."""

    name: str
    label: str
    activation: Callable[[np.ndarray], np.ndarray]  #: in place on z_out
    loss: Callable[[np.ndarray, np.ndarray], float]  #: Σᵢ loss(z_out⁽ⁱ⁾, y⁽ⁱ⁾), y digits
    error: Callable[[np.ndarray, np.ndarray], np.ndarray]  #: δ_out from a_out and one-hot Y
    probabilities: Callable[[np.ndarray], np.ndarray]  #: a_out as rows summing to 1
    latex: str  #: the output's φ and the cost J, as the How it works tab shows them


#: The output layers digitnet offers, by name.
OUTPUTS: dict[str, Output] = {
    o.name: o
    for o in (
        Output(
            "sigmoid",
            "sigmoid outputs, binary cross-entropy (the article's)",
            sigmoid,
            sigmoid_cross_entropy,
            output_error,
            normalized,
            r"\begin{gathered} a_k = \frac{1}{1 + e^{-z_k}} \\ J(W) = -\sum_i \sum_k "
            r"\Big[ y_k \log a_k + (1 - y_k) \log(1 - a_k) \Big] + \frac{\lambda}{2} "
            r"\sum_l \big\lVert W^{(l)} \big\rVert^2 \end{gathered}",
        ),
        Output(
            "softmax",
            "softmax outputs, cross-entropy",
            softmax,
            softmax_cross_entropy,
            output_error,
            as_is,
            r"\begin{gathered} a_k = \frac{e^{z_k}}{\sum_{j} e^{z_j}} \\ "
            r"J(W) = -\sum_i \log a^{(i)}_{y^{(i)}} + \frac{\lambda}{2} \sum_l "
            r"\big\lVert W^{(l)} \big\rVert^2 \end{gathered}",
        ),
    )
}


def data_loss(z_out: np.ndarray, y: np.ndarray, output: str) -> float:
    """Σᵢ of the per-example loss of output layer ``output``, from its pre-activations z."""
    return OUTPUTS[output].loss(z_out, y)


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------
def check_labels(y: np.ndarray, n: int | None = None) -> np.ndarray:
    """Validate integer labels 0..9 (and their count); return them as int64."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array of digits 0-9, got shape {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(f"labels must be integers 0-9, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        raise ValueError(f"labels must be digits 0-9, got values {y.min()}..{y.max()}")
    if n is not None and len(y) != n:
        raise ValueError(f"got {n} images but {len(y)} labels")
    return y.astype(np.int64)
