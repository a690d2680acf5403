"""The geometry of a digit image, shared by the preprocessing, the distortions and TTA.

NumPy only. An MNIST digit is a 28×28 field (:data:`MNIST_SIZE`) whose ink
fits a 20×20 box (:data:`MNIST_BOX`) placed so that its centre of mass is on
pixel (14, 14) (:data:`MNIST_CENTER`, row and column indices from 0). Here
are the operations that move or reshape ink in such a field:

- :func:`bilinear_sample`: read a batch of images at fractional positions
  (every rotation, scaling, shear and elastic bend is a map of where each output
  pixel reads its input);
- :func:`cross_filter` and :func:`grow`: grey dilation and erosion, to thicken
  or thin strokes (the distortions' ``thickness``, the canvas's stroke width);
- :func:`center_of_mass`: where MNIST puts a digit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

MNIST_SIZE = 28  #: side of an MNIST image, px
MNIST_BOX = 20  #: the longest side of an MNIST digit, px
MNIST_CENTER = 14.0  #: where MNIST puts the centre of mass (row and column index)
N_PIXELS = MNIST_SIZE * MNIST_SIZE  #: 784: the network's inputs

PAD = 2  #: black border added around each image by :func:`bilinear_sample`
FLOAT32_EXACT = 2**24  #: integers up to this are exact in float32

#: ``np.maximum`` (dilation: thicker strokes) or ``np.minimum`` (erosion: thinner).
MorphologyOp = Callable[..., np.ndarray]


# --------------------------------------------------------------------------
# Resampling
# --------------------------------------------------------------------------
def bilinear_sample(images: np.ndarray, src_x: np.ndarray, src_y: np.ndarray) -> np.ndarray:
    """Read ``images`` (B, H, W) at fractional positions, by bilinear interpolation.

    ``src_x`` and ``src_y`` are float32 (B, P): for each image, the P points to
    read (column, row). Positions outside the image read black. Returns (B, P)
    float32. ``src_x`` and ``src_y`` are overwritten.
    """
    n, h, w = images.shape
    hp, wp = h + 2 * PAD, w + 2 * PAD
    most = FLOAT32_EXACT // (hp * wp)  # images whose flat indices float32 holds exactly
    if n > most:
        return np.concatenate(
            [
                bilinear_sample(images[i : i + most], src_x[i : i + most], src_y[i : i + most])
                for i in range(0, n, most)
            ]
        )
    padded = np.zeros((n, hp, wp), np.float32)
    padded[:, PAD:-PAD, PAD:-PAD] = images
    flat = padded.ravel()
    # Padded coordinates, clipped into the black border: beyond the image reads 0.
    px = np.clip(src_x + np.float32(PAD), PAD - 1, w + PAD, out=src_x)
    py = np.clip(src_y + np.float32(PAD), PAD - 1, h + PAD, out=src_y)
    x0, y0 = np.floor(px), np.floor(py)
    px -= x0  # now the weight of the right neighbour
    py -= y0  # and of the lower neighbour
    # The flat index of each upper-left neighbour: image · hp·wp + row · wp + column
    # (exact in float32 below 2²⁴: larger batches are cut above). The other
    # three neighbours are 1, wp and wp + 1 further: read through shifted views.
    y0 *= np.float32(wp)
    y0 += x0
    y0 += np.arange(0, n * hp * wp, hp * wp, dtype=np.float32)[:, None]
    i00 = y0.astype(np.intp)
    v00, v01 = flat.take(i00, mode="clip"), flat[1:].take(i00, mode="clip")
    v10, v11 = flat[wp:].take(i00, mode="clip"), flat[wp + 1 :].take(i00, mode="clip")
    v01 -= v00
    v01 *= px
    v00 += v01  # the upper pair, interpolated along x
    v11 -= v10
    v11 *= px
    v10 += v11  # the lower pair
    v10 -= v00
    v10 *= py
    v00 += v10  # then along y
    return np.clip(v00, 0.0, 1.0, out=v00)


# --------------------------------------------------------------------------
# Thicker and thinner strokes: grey dilation and erosion
# --------------------------------------------------------------------------
def cross_filter(x: np.ndarray, op: MorphologyOp) -> np.ndarray:
    """``op`` (np.maximum or np.minimum) of each pixel and its 4 neighbours, for (B, H, W).

    Beyond the border counts as black (0), so erosion thins strokes that touch it.
    """
    n, h, w = x.shape
    padded = np.zeros((n, h + 2, w + 2), np.float32)
    padded[:, 1:-1, 1:-1] = x
    out = cross_filter_flat(padded.reshape(n, -1), op, w + 2)
    return out.reshape(n, h + 2, w + 2)[:, 1:-1, 1:-1]


def cross_filter_flat(flat: np.ndarray, op: MorphologyOp, row: int) -> np.ndarray:
    """:func:`cross_filter` on images with a black frame, flattened to (B, (H+2)·(W+2)).

    The four neighbours of a pixel are 1 and ``row`` (the padded width) places
    away in the flattened array: four shifted copies, over the whole batch at
    once. A shift crosses from one row (or image) to the next only through the
    black frame, which is what the border should read. The result's frame
    pixels are meaningless: crop them.
    """
    f = flat.ravel()
    out = f.copy()
    op(out[1:], f[:-1], out=out[1:])  # left neighbour
    op(out[:-1], f[1:], out=out[:-1])  # right
    op(out[row:], f[:-row], out=out[row:])  # above
    op(out[:-row], f[row:], out=out[:-row])  # below
    return out.reshape(flat.shape)  # (the frame itself is garbage now: crop it away)


def grow(image: np.ndarray, radius: float) -> np.ndarray:
    """Thicken (radius > 0) or thin (radius < 0) strokes by ``|radius|`` pixels on each side.

    Grey-level dilation (each pixel takes the maximum of its neighbourhood) or
    erosion (the minimum), by a disc approximated as an octagon: one pixel at a
    time, alternating the 4 neighbours (a "+") and the 8 neighbours (a 3×3
    square). A fractional radius blends the last step in proportion. The image
    is first padded with background, so that a thickened digit is not cut.
    """
    if abs(radius) < 1e-3:
        return image
    n_steps = math.ceil(abs(radius))
    op = np.maximum if radius > 0 else np.minimum
    pad = n_steps + 1
    out = np.zeros((image.shape[0] + 2 * pad, image.shape[1] + 2 * pad), np.float32)
    out[pad:-pad, pad:-pad] = image
    for i in range(n_steps):
        previous = out
        out = _neighbourhood(previous, op, square=i % 2 == 1)
        fraction = abs(radius) - i
        if fraction < 1.0:  # the last, partial step
            out = previous + np.float32(fraction) * (out - previous)
    return out


def _neighbourhood(a: np.ndarray, op: MorphologyOp, square: bool) -> np.ndarray:
    """``op`` (max or min) of each pixel and its 4 (or, if ``square``, 8) neighbours."""
    vertical = a.copy()
    op(vertical[1:], a[:-1], out=vertical[1:])  # the pixel above
    op(vertical[:-1], a[1:], out=vertical[:-1])  # the pixel below
    source = vertical if square else a  # a square is a vertical then a horizontal 3-px line
    out = vertical if not square else vertical.copy()
    op(out[:, 1:], source[:, :-1], out=out[:, 1:])  # the pixel on the left
    op(out[:, :-1], source[:, 1:], out=out[:, :-1])  # the pixel on the right
    return out


# --------------------------------------------------------------------------
# Where the ink is
# --------------------------------------------------------------------------
def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted mean (row, column) of an image, in pixel indices.

    An image with no ink has its centre of mass in the middle of the field.
    """
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = float(image.sum(axis=1) @ np.arange(image.shape[0], dtype=np.float32)) / total
    cols = float(image.sum(axis=0) @ np.arange(image.shape[1], dtype=np.float32)) / total
    return rows, cols
