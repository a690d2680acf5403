"""The article's math, and nothing else: activations, outputs, their costs, the labels.

This module imports only NumPy. Everything the network computes that is a
formula of the article is here, written through the arrays it acts on::

    a = φ(z)                      an activation, applied in place
    φ'(z), from a = φ(z)          its derivative, as backpropagation needs it
    J = Σᵢ loss(z_out⁽ⁱ⁾, y⁽ⁱ⁾)    the data part of the cost, from the output's z

The model (:mod:`digitnet.model`) chains them into the forward and backward
passes; the training loop (:mod:`digitnet.train`) sums the cost over epochs.
"""

from __future__ import annotations

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
_SIGMOID_CONSTANTS = {
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


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "relu": (relu, relu_derivative),
    "tanh": (tanh, tanh_derivative),
}


# --------------------------------------------------------------------------
# Cost, computed from the output layer's z for numerical stability
# --------------------------------------------------------------------------
def data_loss(z_out: np.ndarray, y: np.ndarray, output: str) -> float:
    """Σᵢ of the per-example loss, from the output pre-activations ``z_out``.

    For sigmoid outputs, −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y·z,
    summed over the ten outputs; for softmax, log Σⱼ e^(zⱼ) − z_y. Both forms are
    the article's cost, written so that they stay finite when the unit saturates.
    """
    z = z_out.astype(np.float64, copy=False)
    rows = np.arange(len(y))
    if output == "sigmoid":
        softplus = np.logaddexp(0.0, z)
        return float(softplus.sum() - z[rows, y].sum())
    zmax = z.max(axis=1, keepdims=True)
    logsumexp = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
    return float((logsumexp - z[rows, y]).sum())


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
