"""Random distortions of training images: data augmentation.

People slant, stretch, rotate and thicken their digits in ways the 60,000
MNIST training digits only partly cover. Showing the network every training
digit slightly distorted, differently at every epoch, teaches it that these
changes do not change the digit -- the single most effective trick for an MLP
on MNIST (Simard, Steinkraus & Platt, 2003, reach 0.7% error with one hidden
layer of 800 units and elastic distortions).

:class:`Augmenter` distorts a whole minibatch at once, with NumPy and no loop
over the images:

1. An **affine map** per image, about the centre of the 28×28 field (pixel 14,
   14, where MNIST puts the centre of mass): a rotation, a scaling, a
   horizontal shear (slant) and a shift.
2. An optional **elastic** displacement: a smooth random field, interpolated
   from random offsets on a coarse 5×5 grid, that bends the strokes.
3. Every output pixel looks up where it comes from in the original image and
   reads it there by **bilinear interpolation** (indices into the flattened
   batch, so four gathers serve the whole batch). Outside the image is black.
4. An optional **stroke-thickness** change: each image is blended with its
   grey dilation (max over the pixel and its 4 neighbours: thicker strokes) or
   its grey erosion (min: thinner strokes).

The distortions are drawn from the Augmenter's own seeded
:class:`numpy.random.Generator`, so a run is reproducible.

One more kind of augmentation needs the labels, so it is made once, before
training, rather than per minibatch: :func:`handwriting_styles` draws extra
training digits in the conventions of continental-European handwriting
(MNIST's writers were American): a 1 with a long lead-in stroke, a crossed 7,
a 9 whose tail curls to the left or whose loop is small and flat on a long tail.

The spec
--------
A dict; every key is optional, and 0 (or a missing key) switches that
distortion off:

============  =============================================================
``rotate``    degrees: each image is rotated by U(−rotate, +rotate)
``scale``     fraction: each image is scaled by 1 + U(−scale, +scale)
``shear``     shear factor: x' = x + k·(y − 14) with k ~ U(−shear, +shear)
              (about 0.2 is an 11° slant)
``shift``     pixels: each image moves by U(−shift, +shift) in x and in y
``thickness`` strength in [0, 1]: each image is blended by u ~ U(−t, +t)
              with its dilation (u > 0, thicker) or erosion (u < 0, thinner)
``elastic``   pixels: standard deviation of the smooth random displacement
============  =============================================================

>>> aug = Augmenter({"rotate": 12, "scale": 0.12, "shear": 0.2, "shift": 2}, seed=1)
>>> batch = np.zeros((128, 784), np.uint8)
>>> aug(batch).shape, aug(batch).dtype
((128, 784), dtype('float32'))
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .blas import blas_threads
from .geometry import MNIST_CENTER, MNIST_SIZE, N_PIXELS, bilinear_sample, cross_filter_flat

ELASTIC_GRID = 5  #: the elastic field is interpolated from a 5×5 grid of random offsets

#: Each key's unit and the largest value accepted.
LIMITS = {
    "rotate": ("degrees", 180.0),
    "scale": ("fraction", 0.9),
    "shear": ("shear factor", 2.0),
    "shift": ("pixels", 14.0),
    "thickness": ("strength", 1.0),
    "elastic": ("pixels", 5.0),
}


def validate_augment(spec: dict[str, float]) -> None:
    """Check an augmentation spec; raise ValueError saying what is wrong.

    Parameters
    ----------
    spec : dict
        Keys among ``rotate``, ``scale``, ``shear``, ``shift``, ``thickness``,
        ``elastic`` (see the module's docstring); values non-negative numbers.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"augment must be a dict such as {{'rotate': 10}}, got {spec!r}")
    for key, value in spec.items():
        if key not in LIMITS:
            raise ValueError(f"unknown augmentation {key!r}; valid keys: {', '.join(LIMITS)}")
        unit, limit = LIMITS[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
        ):
            raise ValueError(f"augment[{key!r}] must be a number ({unit}), got {value!r}")
        if value < 0:
            raise ValueError(
                f"augment[{key!r}] must be >= 0 ({unit}): it is the size of a random "
                f"distortion in both directions, got {value!r}"
            )
        if value > limit:
            raise ValueError(f"augment[{key!r}] must be <= {limit:g} ({unit}), got {value!r}")


class Augmenter:
    """Distort minibatches of 28×28 images at random (see the module's docstring).

    Parameters
    ----------
    spec : dict
        Distortion sizes, e.g. ``{"rotate": 12, "scale": 0.12, "shear": 0.2,
        "shift": 2, "thickness": 0.5}``; validated by :func:`validate_augment`.
    seed : int or None
        Seeds the Augmenter's own :class:`numpy.random.Generator`.
    """

    def __init__(self, spec: dict[str, float], seed: int | None) -> None:
        validate_augment(spec)
        self.spec = {key: float(spec.get(key, 0.0)) for key in LIMITS}
        self.rng = np.random.default_rng(seed)
        # Output pixel coordinates relative to the centre, shape (784,).
        ys, xs = np.mgrid[0:MNIST_SIZE, 0:MNIST_SIZE].astype(np.float32)
        self._x = xs.ravel() - np.float32(MNIST_CENTER)
        self._y = ys.ravel() - np.float32(MNIST_CENTER)
        m = _interpolation_matrix(MNIST_SIZE, ELASTIC_GRID)  # (28, G)
        basis = np.einsum("ig,jh->ghij", m, m).reshape(ELASTIC_GRID**2, N_PIXELS)
        self._elastic_basis = basis * np.float32(1.0 / _field_std(m))  # unit std on average

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Distort a minibatch.

        Parameters
        ----------
        images : ndarray
            uint8 (B, 784) or (B, 28, 28), pixels 0..255 (floats in [0, 1] are accepted too).

        Returns
        -------
        ndarray
            float32 (B, 784) in [0, 1].
        """
        x = np.asarray(images)
        n = len(x)
        if x.size != n * N_PIXELS:
            raise ValueError(f"images must be shaped (B, 784) or (B, 28, 28), got {x.shape}")
        x = x.reshape(n, MNIST_SIZE, MNIST_SIZE)
        if x.dtype == np.uint8:
            x = x.astype(np.float32) * np.float32(1.0 / 255.0)
        else:
            x = x.astype(np.float32)
        if n == 0:
            return x.reshape(0, N_PIXELS)
        s = self.spec
        if any(s[k] for k in ("rotate", "scale", "shear", "shift", "elastic")):
            x = self._warp(x)
        if s["thickness"]:
            x = self._thickness(x)
        return x.reshape(n, N_PIXELS)

    # ------------------------------------------------------------ geometry
    def _warp(self, x: np.ndarray) -> np.ndarray:
        """Resample every image through its own random affine map (+ elastic field)."""
        n, s, rng = len(x), self.spec, self.rng
        angle = np.deg2rad(rng.uniform(-s["rotate"], s["rotate"], n))
        zoom = 1.0 + rng.uniform(-s["scale"], s["scale"], n)
        shear = rng.uniform(-s["shear"], s["shear"], n)
        shift = rng.uniform(-s["shift"], s["shift"], (2, n))

        # The forward map sends a point p (relative to the centre c) to
        # zoom · R(angle) · Shear · p + shift. Each output pixel q reads the input
        # at the inverse image of q: M · (q − shift) + c, M = Shear⁻¹ · R(−angle) / zoom,
        # i.e. at src = M·q + t with t = c − M·shift: a 2×3 matrix [M | t] per image.
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        m = np.empty((2, n, 3), np.float32)
        m[0, :, 0], m[0, :, 1] = cos + shear * sin, sin - shear * cos  # row 1 of M
        m[1, :, 0], m[1, :, 1] = -sin, cos  # row 2 (the shear moves x only)
        m[:, :, 2] = MNIST_CENTER - (m[:, :, 0] * shift[0] + m[:, :, 1] * shift[1])
        src = m[:, :, 0:1] * self._x  # (2, n, 784): x then y of every source position
        src += m[:, :, 1:2] * self._y
        src += m[:, :, 2:3]
        src_x, src_y = src[0], src[1]
        if s["elastic"]:
            dx, dy = self._elastic_field(n)
            src_x += np.float32(s["elastic"]) * dx
            src_y += np.float32(s["elastic"]) * dy
        return bilinear_sample(x, src_x, src_y).reshape(n, MNIST_SIZE, MNIST_SIZE)

    def _elastic_field(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Smooth random displacements (dx, dy), each (n, 784), of unit std on average."""
        # field = Σ over grid points (g, h) of offset[g, h] · m[:, g] ⊗ m[:, h]: one
        # product of the random offsets with the 25 precomputed smooth "bumps".
        offsets = self.rng.standard_normal((2 * n, ELASTIC_GRID**2)).astype(np.float32)
        with blas_threads(1, len(offsets), ()):  # one thread: too small a product to share
            field = offsets @ self._elastic_basis  # (2n, 784)
        return field[:n], field[n:]

    # ------------------------------------------------------------ strokes
    def _thickness(self, x: np.ndarray) -> np.ndarray:
        """Blend each image with its dilation (u > 0) or erosion (u < 0) by |u|."""
        n, h, w = x.shape
        u = self.rng.uniform(-self.spec["thickness"], self.spec["thickness"], (n, 1))
        u = u.astype(np.float32)
        padded = np.zeros((n, h + 2, w + 2), np.float32)  # a black frame: see cross_filter_flat
        padded[:, 1:-1, 1:-1] = x
        flat = padded.reshape(n, -1)
        thicker = cross_filter_flat(flat, np.maximum, w + 2)
        thicker -= flat
        thicker *= np.maximum(u, 0)
        thinner = cross_filter_flat(flat, np.minimum, w + 2)
        thinner -= flat
        thinner *= np.maximum(-u, 0)
        thicker += thinner
        thicker += flat
        return thicker.reshape(n, h + 2, w + 2)[:, 1:-1, 1:-1]


def _interpolation_matrix(size: int, grid: int) -> np.ndarray:
    """(size, grid) smooth weights spreading ``grid`` evenly spaced points over ``size`` pixels.

    Each pixel averages the grid points with Gaussian weights (σ = the grid
    spacing), normalised to sum to 1: a smooth interpolation.
    """
    points = np.linspace(0, size - 1, grid)
    spacing = points[1] - points[0]
    pixels = np.arange(size)[:, None]
    weights = np.exp(-0.5 * ((pixels - points[None, :]) / spacing) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights.astype(np.float32)


def _field_std(m: np.ndarray) -> float:
    """The root-mean-square, over pixels, of the std of ``m @ N(0, 1) @ m.T``."""
    row_var = (m**2).sum(axis=1)
    return float(np.sqrt(np.mean(np.outer(row_var, row_var))))


# --------------------------------------------------------------------------
# Handwriting conventions the American MNIST writers did not use
# --------------------------------------------------------------------------
#: The variants :func:`handwriting_styles` draws, by digit.
STYLES = {
    1: "a lead-in stroke from the top, down to the left, often on a slanted stem "
    "(and, one time in 3, a foot)",
    7: "a crossbar through the stem, from the middle down to low, long or short",
    9: "the tail curled to the left, or ending in a hook to the left, or a small (often "
    "flattened) loop on a long tail",
}
_ENLARGE = 10  #: variants are drawn on the digit enlarged 10×, then made MNIST-like again
#: A 1's lead-in stroke, as a fraction of the digit's height. Up to 1.2: the pen-drawn 1s
#: of the development writers have lead-ins from 0.4 to 1.1 of the stem's height (each
#: writer's median; one writer's reach 1.75); it stays a 1 because it slopes (LEAD_IN_ANGLE).
LEAD_IN_LENGTH = (0.3, 1.2)
#: ... its angle below the horizontal, degrees: never flatter than 20° (a flat top is a 7's;
#: the writers' lead-ins slope 21-83°, a writer's median 30-72°).
LEAD_IN_ANGLE = (20.0, 65.0)
#: The angle between the lead-in and the stem, degrees: at least 10 (else it lies on the
#: stem; the writers' medians are 11-43), at most 65 for the shortest lead-in down to 45 for
#: the longest: a long stroke at a wide angle to the stem is a 7's top bar.
LEAD_IN_APEX = (10.0, 65.0, 45.0)
#: The share of styled 1s written on a slanted stem, and that slant: the top's offset to
#: the right, as a fraction of the height (0.5 is 27° from the vertical). Fast writers slant
#: their 1s like that; MNIST's 1s rarely lean more than 15°.
SLANT_SHARE = 0.5
STEM_SLANT = (0.15, 0.5)
SEVEN_BAR_AT = (0.4, 0.75)  #: the 7's crossbar height, fraction of the height from the top
#: ... its half-length, fraction of the height: from just longer than the pen is wide to a
#: long bar. A low short bar is still a 7's: it crosses the stem, where a 2's base does not.
SEVEN_BAR_HALF = (0.12, 0.3)
TAIL_BEND = (0.15, 0.55)  #: how far left a 9's curled tail end moves, fraction of the height
HOOK_SHARE = 1 / 3  #: the share of styled 9s that end in a hook
CURL_SHARE = 1 / 3  #: ... with a curled tail (the rest: a small loop on a long tail)
HOOK_RADIUS = (0.12, 0.28)  #: the hook's radius, fraction of the 9's height
HOOK_TURN = (0.7, 1.15)  #: how far the hook turns, in half turns (1.0: it ends pointing up)
#: A small-loop 9: the tail (below the loop) is stretched by this factor, so that the loop
#: ends up 1/4 to 1/2 of the digit's height (a loop much smaller than that, on a stroke,
#: is a 7's curl) ...
TAIL_STRETCH = (1.3, 2.2)
#: ... and the loop flattened to this share of its height (a flat, oval loop; not less,
#: or its horizontal strokes thin out and it no longer reads as a closed loop).
LOOP_SQUASH = (0.6, 1.0)


def handwriting_styles(
    images: np.ndarray, labels: np.ndarray, fraction: float = 0.33, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Extra training digits in handwriting conventions that MNIST lacks.

    MNIST's digits were written by American Census employees and high-school
    students: their 1 is a bare stick, their 7 has no crossbar, their 9 a
    straight stem. Much of Europe (and elsewhere) writes a 1 with a long
    lead-in stroke, crosses the 7 so that it is not read as that 1, and curls
    the tail of the 9 or ends it in a hook -- and a network that never saw these
    reads the 1 as a 7 and the 9 as a 3. For a random ``fraction`` of the 1s, 7s
    and 9s this draws a new digit in that style (:data:`STYLES`): the digit is
    enlarged 10×, the stroke is added with the digit's own pen width (or the tail
    is bent), and
    :func:`digitnet.preprocess.canvas_to_mnist` (without stroke normalisation)
    makes it an MNIST image again. Lengths, angles and positions are random.

    This is done once before training (it needs the labels, which the
    minibatch :class:`Augmenter` does not see): append the result to the
    training set. It takes a few seconds per thousand digits.

    Parameters
    ----------
    images : ndarray
        uint8 (N, 28, 28) or (N, 784) MNIST-like training images.
    labels : ndarray
        (N,) digits.
    fraction : float
        Share of each styled digit's training images that get a variant, in [0, 1].
    seed : int or None
        Seeds the random choices.

    Returns
    -------
    images : ndarray
        uint8 (M, 28, 28): the new digits.
    labels : ndarray
        (M,) their labels, same dtype as ``labels``.
    """
    from .preprocess import canvas_to_mnist

    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
    images = np.asarray(images).reshape(len(images), MNIST_SIZE, MNIST_SIZE)
    labels = np.asarray(labels)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {images.dtype}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    picks = []
    for digit in STYLES:
        candidates = np.flatnonzero(labels == digit)
        picks.append(rng.choice(candidates, round(fraction * len(candidates)), replace=False))
    chosen = np.sort(np.concatenate(picks))
    out = np.empty((len(chosen), MNIST_SIZE, MNIST_SIZE), np.uint8)
    for k, i in enumerate(chosen):
        big = _STYLERS[int(labels[i])](_enlarge(images[i]), rng)
        out[k] = np.round(canvas_to_mnist(big, normalize_stroke=False) * 255)
    return out, labels[chosen]


def _enlarge(image: np.ndarray) -> np.ndarray:
    size = MNIST_SIZE * _ENLARGE
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def _geometry(big: np.ndarray) -> tuple[int, int, int, int, float]:
    """Top, bottom, left, right of the ink (rows and columns), and its pen width."""
    from .preprocess import stroke_width

    ink = big >= 0.3 * big.max()
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    crop = big[top : bottom + 1, left : right + 1].astype(np.float32) / 255
    return top, bottom, left, right, stroke_width(crop)


def _ink_x(big: np.ndarray, row: float, default: float) -> float:
    """The middle of the ink on a row (the stem's x), or ``default`` if the row is empty."""
    xs = np.flatnonzero(big[int(row)] >= 128)
    return float(xs.mean()) if xs.size else default


def _stroke(
    big: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], width: float
) -> np.ndarray:
    """Add a straight stroke with round ends from p0 to p1 (x, y)."""
    canvas = Image.fromarray(big)
    draw = ImageDraw.Draw(canvas)
    draw.line([p0, p1], fill=255, width=max(1, round(width)))
    r = width / 2
    for x, y in (p0, p1):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas)


def _remap(big: np.ndarray, src_x: np.ndarray, src_y: np.ndarray) -> np.ndarray:
    """The image read at ``(src_x, src_y)`` (float arrays of the output's shape), bilinearly;
    outside ``big`` reads black."""
    image = big[None].astype(np.float32) * np.float32(1.0 / 255.0)
    out = bilinear_sample(
        image,
        src_x.astype(np.float32).reshape(1, -1),
        src_y.astype(np.float32).reshape(1, -1),
    )
    return np.round(out.reshape(src_x.shape) * 255).astype(np.uint8)


def _slant(big: np.ndarray, top: int, bottom: int, slant: float) -> np.ndarray:
    """Shear so that the top moves right by ``slant`` × the height (the bottom stays)."""
    height = max(bottom - top, 1)
    grow = max(0, int(np.ceil(slant * height)))
    ys, xs = np.mgrid[0 : big.shape[0], 0 : big.shape[1] + grow].astype(np.float32)
    return _remap(big, xs - np.float32(slant) * (bottom - ys), ys)


def lead_in(stem: float, rng: np.random.Generator) -> tuple[float, float]:
    """A random 1's lead-in for a stem at ``stem`` degrees below the horizontal (90: upright,
    less: its top leans right): (length as a fraction of the height, angle below the
    horizontal in radians, pointing left), within :data:`LEAD_IN_LENGTH`,
    :data:`LEAD_IN_ANGLE` and :data:`LEAD_IN_APEX`."""
    fraction = rng.uniform(0.0, 1.0)
    length = LEAD_IN_LENGTH[0] + fraction * (LEAD_IN_LENGTH[1] - LEAD_IN_LENGTH[0])
    lo_apex, hi_short, hi_long = LEAD_IN_APEX
    widest = hi_short + fraction * (hi_long - hi_short)  # the widest apex for this length
    low = max(LEAD_IN_ANGLE[0], stem - widest)
    high = min(LEAD_IN_ANGLE[1], stem - lo_apex)
    return length, float(np.deg2rad(rng.uniform(low, max(low, high))))


def _one_with_lead_in(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A lead-in stroke from the top of the stem, down to the left; on half of them the
    stem is slanted first. The stroke's length and angle are drawn so that it stays a 1's
    lead-in: steep enough, and the longer it is, the closer it hugs the stem
    (:data:`LEAD_IN_APEX`)."""
    top, bottom, left, right, pen = _geometry(big)
    height = bottom - top
    # The stem's slant (top's offset to the right over the height), from the ink's ends.
    x_top = _ink_x(big, top + pen / 2, (left + right) / 2)
    x_bottom = _ink_x(big, bottom - pen / 2, (left + right) / 2)
    slant = (x_top - x_bottom) / max(height, 1)
    if rng.random() < SLANT_SHARE:
        target = rng.uniform(*STEM_SLANT)
        if target > slant:
            big = _slant(big, top, bottom, target - slant)
            slant, x_top = target, x_top + (target - slant) * height
    pen *= rng.uniform(0.85, 1.1)
    y0 = top + pen / 2
    x0 = _ink_x(big, y0, x_top)
    length, angle = lead_in(np.degrees(np.arctan2(1.0, slant)), rng)
    length *= height
    big = _stroke(big, (x0, y0), (x0 - length * np.cos(angle), y0 + length * np.sin(angle)), pen)
    if rng.random() < 1 / 3:  # a foot
        yb = bottom - pen / 2
        xb, half = _ink_x(big, yb, x0), rng.uniform(0.2, 0.4) * height
        big = _stroke(big, (xb - half, yb), (xb + half, yb), pen)
    return big


def _crossed_seven(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    top, bottom, left, right, pen = _geometry(big)
    pen *= rng.uniform(0.85, 1.1)
    height = bottom - top
    y = top + rng.uniform(*SEVEN_BAR_AT) * height
    x = _ink_x(big, y, (left + right) / 2)
    half, tilt = rng.uniform(*SEVEN_BAR_HALF) * height, np.deg2rad(rng.uniform(-10, 10))
    dx, dy = half * np.cos(tilt), half * np.sin(tilt)
    return _stroke(big, (x - dx, y - dy), (x + dx, y + dy), pen)


def _nine_with_curled_tail(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bend the tail left: below a row y₀ under the loop, each row moves left by c·t²,
    t going from 0 at y₀ to 1 at the bottom."""
    top, bottom, _, _, _ = _geometry(big)
    height = bottom - top
    y0 = top + rng.uniform(0.5, 0.7) * height
    bend = rng.uniform(*TAIL_BEND) * height
    ys, xs = np.mgrid[0 : big.shape[0], 0 : big.shape[1]].astype(np.float32)
    t = np.clip((ys - y0) / max(bottom - y0, 1.0), 0.0, None)
    return _remap(big, xs + np.float32(bend) * t * t, ys)  # read from the right: moves left


def _loop_bottom(big: np.ndarray, top: int, bottom: int) -> float:
    """The lowest row of a 9's loop: the last row, in the upper 3/4, crossing the ink twice
    (both sides of the loop); the middle of the digit if none does."""
    ink = big >= 128
    rows = range(top, top + int(0.75 * (bottom - top)))
    crossing = [r for r in rows if np.count_nonzero(np.diff(ink[r].astype(np.int8)) == 1) >= 2]
    return float(crossing[-1]) if crossing else (top + bottom) / 2


def _nine_with_small_loop(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stretch the tail down (rows below the loop) and flatten the loop: once the digit is
    rescaled, a small, flat loop on a long tail. The pen is widened as much as the digit grew,
    so that it keeps its width once the digit is rescaled to MNIST's 20 px."""
    top, bottom, _, _, pen = _geometry(big)
    split = min(_loop_bottom(big, top, bottom) + pen / 2, bottom - 1.0)
    squash, stretch = rng.uniform(*LOOP_SQUASH), rng.uniform(*TAIL_STRETCH)
    new_split = top + squash * (split - top)
    new_bottom = new_split + stretch * (bottom - split)
    rows = int(np.ceil(new_bottom)) + (big.shape[0] - bottom)  # the same margin below
    y = np.arange(rows, dtype=np.float32)
    src = np.where(
        y < top,
        y,
        np.where(y < new_split, top + (y - top) / squash, split + (y - new_split) / stretch),
    )
    ys, xs = np.meshgrid(src, np.arange(big.shape[1], dtype=np.float32), indexing="ij")
    grown = (new_bottom - top) / max(bottom - top, 1)
    return _dilate(_remap(big, xs, ys), round(pen * (grown - 1) / 2))


def _dilate(big: np.ndarray, radius: int) -> np.ndarray:
    """Grey dilation by a (2·radius + 1)² square: the pen ``2·radius`` px wider."""
    out = big.copy()
    for axis in (0, 1):
        src = out.copy()
        for d in range(1, radius + 1):
            lo = [slice(None)] * 2
            hi = [slice(None)] * 2
            lo[axis], hi[axis] = slice(0, -d), slice(d, None)
            np.maximum(out[tuple(lo)], src[tuple(hi)], out=out[tuple(lo)])
            np.maximum(out[tuple(hi)], src[tuple(lo)], out=out[tuple(hi)])
    return out


def _nine_with_hook(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Go on down from the stem's end and turn left (and up): a circular arc drawn with
    the digit's pen. The digit grows taller and its loop, once rescaled, smaller."""
    top, bottom, left, right, pen = _geometry(big)
    pen *= rng.uniform(0.85, 1.1)
    height = bottom - top
    pad = int(height)  # room below and to the left for the hook
    y_end = bottom - pen / 2
    x_end = _ink_x(big, y_end, (left + right) / 2)
    radius = rng.uniform(*HOOK_RADIUS) * height
    turn = np.pi * rng.uniform(*HOOK_TURN)
    cx, cy = x_end + pad - radius, y_end + pad  # the arc starts at the stem's end, heading down
    points = [(cx + radius * np.cos(t), cy + radius * np.sin(t)) for t in np.linspace(0, turn, 24)]
    canvas = Image.fromarray(np.pad(big, pad))
    draw = ImageDraw.Draw(canvas)
    draw.line(points, fill=255, width=max(1, round(pen)), joint="curve")
    r = pen / 2
    for x, y in (points[0], points[-1]):  # round ends
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas)


def _styled_nine(big: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    u = rng.random()
    if u < HOOK_SHARE:
        return _nine_with_hook(big, rng)
    if u < HOOK_SHARE + CURL_SHARE:
        return _nine_with_curled_tail(big, rng)
    return _nine_with_small_loop(big, rng)


_STYLERS = {1: _one_with_lead_in, 7: _crossed_seven, 9: _styled_nine}
