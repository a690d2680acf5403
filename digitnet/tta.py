"""Test-time augmentation: read a digit as it is, and slightly turned, scaled and sheared.

A network trained on randomly distorted digits (the ``best`` preset) has learnt
that a digit turned by a few degrees is the same digit, but it still answers
each input on its own, and a drawing that sits near a border between two
digits can fall on either side of it. Reading the drawing as it is and in a few
small distortions of the kinds it was trained on -- turned 10° either way,
scaled by ±10%, sheared by ±0.2 -- and averaging the seven sets of
probabilities gives a steadier answer. On the pen-drawn digits (1,000 drawings
by 30 writers) it read 0.3 to 0.8 points more of them right, for each of the
four networks it was tried with; on MNIST's test digits it changes nothing
that matters (benchmarks/RESULTS.md, "drawings").

The distortions are fixed (nothing random), about the centre (14, 14) where
MNIST puts a digit's centre of mass, so :func:`predict_proba` is a
deterministic function of the image, as cheap as one forward pass of a batch of
seven.

Example
-------
>>> import digitnet
>>> from digitnet import tta
>>> from digitnet.preprocess import canvas_to_mnist
>>> probs = tta.predict_proba(digitnet.load_model(), canvas_to_mnist(canvas))  # doctest: +SKIP
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import numpy as np

from .functions import N_CLASSES
from .geometry import MNIST_CENTER, MNIST_SIZE, N_PIXELS, bilinear_sample

#: The distortions a digit is also read with: (rotation in degrees, scale, shear),
#: each a move the ``best`` preset's training made (rotate 12°, scale 12%, shear 0.2),
#: both ways.
DISTORTIONS: tuple[tuple[float, float, float], ...] = (
    (-10.0, 1.0, 0.0),
    (10.0, 1.0, 0.0),
    (0.0, 0.9, 0.0),
    (0.0, 1.1, 0.0),
    (0.0, 1.0, -0.2),
    (0.0, 1.0, 0.2),
)


#: Small batches are padded with blank rows to a multiple of 4: OpenBLAS's float32
#: matrix product takes 0.26 ms for 4 or 8 rows times the shipped first layer
#: (784×1024) on one core here, but 0.45-0.48 ms for 3 or 7 (its kernels work on
#: blocks of 4 rows), so one drawing's 7 rows cost less as 8.
ROW_MULTIPLE = 4
CHUNK = 1024  #: images read at a time (with their copies: 7,168 rows, 22 MB)


def _as_rows(images: np.ndarray) -> np.ndarray:
    """``images`` as (N, 784) rows, whatever the accepted shape; its dtype is kept."""
    x = np.asarray(images)
    one = x.shape in ((MNIST_SIZE, MNIST_SIZE), (N_PIXELS,))
    many = (x.ndim == 3 and x.shape[1:] == (MNIST_SIZE, MNIST_SIZE)) or (
        x.ndim == 2 and x.shape[1] == N_PIXELS
    )
    if not (one or many):
        raise ValueError(
            f"images must be shaped (28, 28), (784,), (N, 28, 28) or (N, 784), got {x.shape}"
        )
    return x.reshape(-1, N_PIXELS)


@cache
def _grid(distortions: tuple[tuple[float, float, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel of each variant reads the digit: (x, y), float32 (K, 784)."""
    ys, xs = np.mgrid[0:MNIST_SIZE, 0:MNIST_SIZE].astype(np.float64)
    u, v = xs.ravel() - MNIST_CENTER, ys.ravel() - MNIST_CENTER
    src_x, src_y = [], []
    for degrees, scale, shear in distortions:
        a = np.deg2rad(degrees)
        rotate = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        forward = rotate @ np.array([[1.0, shear], [0.0, 1.0]]) * scale  # digit → output
        back = np.linalg.inv(forward)  # output pixel → where it reads the digit
        src_x.append(back[0, 0] * u + back[0, 1] * v + MNIST_CENTER)
        src_y.append(back[1, 0] * u + back[1, 1] * v + MNIST_CENTER)
    out = np.array(src_x, np.float32), np.array(src_y, np.float32)
    for a in out:
        a.flags.writeable = False
    return out


def variants(
    images: np.ndarray, distortions: tuple[tuple[float, float, float], ...] = DISTORTIONS
) -> np.ndarray:
    """Each image as it is, then in each of the ``distortions``.

    Parameters
    ----------
    images : ndarray
        One digit (28, 28) or (784,), or several (N, 28, 28) or (N, 784); uint8
        0..255 or floats in [0, 1].
    distortions : tuple of (degrees, scale, shear)
        Rotation (counter-clockwise on screen is negative), scale factor, and
        horizontal shear, applied about the centre (14, 14).

    Returns
    -------
    ndarray
        float32 (N, 1 + K, 784) in [0, 1]: for each image, the image itself and
        its K distortions.
    """
    x = _as_rows(images)
    n = len(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) * np.float32(1.0 / 255.0)
    else:
        x = x.astype(np.float32)
    k = len(distortions)
    out = np.empty((n, 1 + k, N_PIXELS), np.float32)
    out[:, 0] = x
    if k and n:
        grid_x, grid_y = _grid(tuple(distortions))
        repeated = np.repeat(x.reshape(n, MNIST_SIZE, MNIST_SIZE), k, axis=0)
        src_x = np.tile(grid_x, (n, 1))  # bilinear_sample overwrites them: fresh copies
        src_y = np.tile(grid_y, (n, 1))
        out[:, 1:] = bilinear_sample(repeated, src_x, src_y).reshape(n, k, N_PIXELS)
    return out


class Classifier(Protocol):
    """Anything that gives class probabilities, as :meth:`digitnet.model.MLP.predict_proba`."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def predict_proba(
    model: Classifier,
    images: np.ndarray,
    distortions: tuple[tuple[float, float, float], ...] = DISTORTIONS,
) -> np.ndarray:
    """The model's probabilities for each image, averaged over it and its distortions.

    Parameters
    ----------
    model : MLP
        Any trained model with ``predict_proba``.
    images : ndarray
        As for :func:`variants`.
    distortions : tuple of (degrees, scale, shear)
        ``()`` reads the images only as they are.

    Returns
    -------
    ndarray
        (N, 10): each row sums to 1.
    """
    x = _as_rows(images)
    out = []
    if not len(x):
        return np.zeros((0, N_CLASSES), np.float32)
    for start in range(0, len(x), CHUNK):  # bounded memory for large sets
        batch = variants(x[start : start + CHUNK], distortions)
        n, m = batch.shape[:2]
        rows = batch.reshape(n * m, N_PIXELS)
        if len(rows) < 64 and len(rows) % ROW_MULTIPLE:
            blank = np.zeros((-len(rows) % ROW_MULTIPLE, N_PIXELS), np.float32)
            rows = np.concatenate([rows, blank])
        out.append(model.predict_proba(rows)[: n * m].reshape(n, m, -1).mean(axis=1))
    probs = np.concatenate(out)
    return probs / probs.sum(axis=1, keepdims=True)


def predict(
    model: Classifier,
    images: np.ndarray,
    distortions: tuple[tuple[float, float, float], ...] = DISTORTIONS,
) -> np.ndarray:
    """The digit each image is read as, from :func:`predict_proba`."""
    return predict_proba(model, images, distortions).argmax(axis=1)
