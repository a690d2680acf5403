"""Stroke-level augmentation: real pen strokes drawn on the app's canvas as visitors draw.

The pen-drawn digits' writers' file (:func:`digitnet.data.load_pen_strokes`)
records each digit as the pen's trajectory. Drawn onto a 280×280 canvas like the
app's -- white on black, round caps and joins, antialiased -- and turned into a
28×28 input by the app's own pipeline (:func:`digitnet.preprocess.preprocess_steps`
with ``background="dark"``, as the Draw tab calls it), they become training
digits the network reads exactly as it will read a visitor's drawing. Each
render varies what visitors vary (:class:`StrokeStyle`):

- the **pen**: 8 to 30 px wide on the 280 px canvas;
- the **size** and **position**: the digit 25% to 95% of the canvas tall
  (as tall as fits with a wide pen), anywhere on the canvas;
- the **shape**: turned, slanted (sheared) and stretched a little;
- the **hand**: each stroke shifted a little against the others (a 7's bar,
  a 4's stem), and a smooth random wobble over the whole digit;
- the **device**: the trajectory resampled at a random spacing, as a mouse,
  a finger or a pen reports points, and drawn either as straight segments
  between them (as the data set's tablet sampled it) or, like the app's
  canvas pen (fabric.js's pencil brush), as quadratic curves through the
  midpoints of successive points.

Nothing depends on the order of the strokes or on the direction they were
drawn in: the random choices are made per stroke in a canonical order (by
position), the wobble is a function of position, the resampling is symmetric,
and the strokes are painted as a union. :func:`training_images` renders many
digits; every render is seeded by ``(seed, copy, digit)``, so a set is
reproducible whatever subset of digits it is made from.

The rasteriser (:func:`draw`) is the data set's own (``render.py`` of
pendigits-dev: Pillow at 4× supersampling, a disc at every point, box-averaged
down), except that each segment is drawn from its left end (Pillow's wide lines
differ by a fraction of a pixel with the direction): a render at 18 px without
variation is that renderer's canvas to within edge pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .data import TABLET_SIDE, PenStrokes

CANVAS = 280  #: the app's canvas, px
SUPERSAMPLE = 4  #: strokes are drawn at 4× and box-averaged down: antialiasing
MARGIN = 2.0  #: px kept free between the ink and the canvas's edge
CURVE_STEPS = 6  #: points per quadratic curve when a stroke is drawn like the canvas pen


@dataclass(frozen=True)
class StrokeStyle:
    """The ranges a render's random choices are drawn from (uniformly).

    Lengths marked *h* are fractions of the digit's height.

    Attributes
    ----------
    pen : (float, float)
        Pen width, px on the 280 px canvas.
    height : (float, float)
        The digit's height, as a fraction of the canvas (capped so that it fits).
    rotate : float
        Degrees, either way.
    shear : float
        Horizontal shear (slant) factor, either way (0.25 is 14°).
    stretch : float
        The width is scaled by up to 1 ± ``stretch`` (log-uniform).
    stroke_shift : float
        Each stroke is shifted by a normal offset of this standard deviation (*h*).
    wobble : float
        Amplitude of the smooth random displacement of every point (*h*).
    spacing : (float, float)
        The trajectory is resampled at this spacing (*h*).
    smooth : float
        Probability of drawing it like the canvas pen (curves through midpoints);
        otherwise straight segments between the points.
    """

    pen: tuple[float, float] = (8.0, 30.0)
    height: tuple[float, float] = (0.25, 0.95)
    rotate: float = 12.0
    shear: float = 0.25
    stretch: float = 0.15
    stroke_shift: float = 0.03
    wobble: float = 0.015
    spacing: tuple[float, float] = (0.01, 0.06)
    smooth: float = 0.5


#: The style the ``best`` preset trains with.
STYLE = StrokeStyle()
#: No variation but the pen, size and position: the data set's own rendering.
PLAIN = StrokeStyle(
    rotate=0.0, shear=0.0, stretch=0.0, stroke_shift=0.0, wobble=0.0, spacing=(0.0, 0.0), smooth=0.0
)


def screen_strokes(pen: PenStrokes, i: int) -> list[np.ndarray]:
    """Digit ``i``'s strokes as float (n, 2) screen coordinates: x right, y *down*."""
    out = []
    for s in pen.strokes(i):
        a = s.astype(np.float64)
        a[:, 1] = TABLET_SIDE - a[:, 1]
        out.append(a)
    return out


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------
def vary(
    strokes: list[np.ndarray], rng: np.random.Generator, style: StrokeStyle = STYLE
) -> tuple[list[np.ndarray], float]:
    """A random variant of a digit, placed on the canvas: (strokes in canvas px, pen width).

    ``strokes`` are (n, 2) screen coordinates (y down), any scale.
    """
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes]
    order = sorted(range(len(strokes)), key=lambda k: _stroke_key(strokes[k]))
    lo, hi = _bounds(strokes)
    h = max(hi[1] - lo[1], hi[0] - lo[0], 1e-6)  # the scale of everything below
    center = (lo + hi) / 2

    # The hand: each stroke shifted (canonical order), then a smooth wobble of positions.
    shifts = rng.normal(0.0, style.stroke_shift * h, (len(strokes), 2))
    moved = list(strokes)
    for rank, idx in enumerate(order):
        moved[idx] = strokes[idx] + shifts[rank]
    if style.wobble:
        wobble = _wobble_field(rng, style.wobble * h, h)
        moved = [s + wobble(s - center) for s in moved]

    # The device: resampled (symmetric in the direction), drawn straight or like the canvas pen.
    smooth = rng.random() < style.smooth
    spacing = rng.uniform(*style.spacing) * h
    traced = [_resample(_midpoint_curve(s) if smooth else s, spacing) for s in moved]

    # The shape: turn, slant and stretch about the centre.
    a = math.radians(rng.uniform(-style.rotate, style.rotate))
    k = rng.uniform(-style.shear, style.shear)
    sx = math.exp(rng.uniform(-1, 1) * math.log1p(style.stretch))
    m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.array(
        [[sx, k], [0.0, 1.0]]
    )
    shaped = [(s - center) @ m.T for s in traced]

    # The pen, the size and the position.
    width = rng.uniform(*style.pen)
    return _place(shaped, rng, width, rng.uniform(*style.height)), width


def _stroke_key(s: np.ndarray) -> tuple[float, float, float, float]:
    """A key for the strokes' canonical order, the same whichever way a stroke was drawn."""
    lo, hi = s.min(axis=0), s.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _bounds(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate(strokes)
    return pts.min(axis=0), pts.max(axis=0)


def _wobble_field(
    rng: np.random.Generator, amplitude: float, size: float
) -> Callable[[np.ndarray], np.ndarray]:
    """A smooth random displacement: a sum of 4 plane waves (wavelengths 0.4-1.5 × ``size``)
    with random directions and phases, of about ``amplitude`` standard deviation."""
    n = 4
    angles = rng.uniform(0, 2 * math.pi, n)
    freq = 2 * math.pi / (size * rng.uniform(0.4, 1.5, n))
    waves = np.stack([np.cos(angles), np.sin(angles)], axis=1) * freq[:, None]  # (n, 2)
    phase = rng.uniform(0, 2 * math.pi, (n, 2))
    amp = rng.normal(0.0, amplitude, (n, 2)) * math.sqrt(2 / n)

    def field(p: np.ndarray) -> np.ndarray:
        arg = p @ waves.T  # (m, n)
        return (np.sin(arg[:, :, None] + phase) * amp).sum(axis=1)

    return field


def _midpoint_curve(s: np.ndarray, steps: int = CURVE_STEPS) -> np.ndarray:
    """The stroke as the canvas pen draws it (fabric.js's pencil brush): a straight line
    to the first midpoint, quadratic curves through successive midpoints with the
    points as control points, a straight line to the last point. Symmetric: the same
    curve whichever end it starts from."""
    if len(s) < 3:
        return s
    mids = (s[:-1] + s[1:]) / 2
    t = np.linspace(0.0, 1.0, steps + 1)[1:, None, None]  # (steps, 1, 1)
    p0, c, p1 = mids[:-1], s[1:-1], mids[1:]
    curves = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p1  # (steps, n-2, 2)
    body = curves.transpose(1, 0, 2).reshape(-1, 2)
    return np.concatenate([s[:1], mids[:1], body, s[-1:]])


def _resample(s: np.ndarray, spacing: float) -> np.ndarray:
    """Points at equal arc-length steps of about ``spacing`` (both ends kept: the same points
    whichever way the stroke runs); ``spacing`` <= 0 keeps the stroke as it is."""
    if spacing <= 0 or len(s) < 2:
        return s
    seg = np.hypot(*np.diff(s, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    length = arc[-1]
    if length <= 0:
        return s[:1]
    n = max(1, round(length / spacing))
    at = np.linspace(0.0, length, n + 1)
    return np.stack([np.interp(at, arc, s[:, 0]), np.interp(at, arc, s[:, 1])], axis=1)


def _place(
    strokes: list[np.ndarray],
    rng: np.random.Generator,
    width: float,
    height: float,
    canvas: int = CANVAS,
    margin: float = MARGIN,
) -> list[np.ndarray]:
    """Scale to ``height`` × the canvas (less if it would not fit with the pen) and put it at
    a random position with the whole pen inside the canvas (as ``render.place`` does)."""
    lo, hi = _bounds(strokes)
    w, h = np.maximum(hi - lo, 1e-6)
    room = canvas - width - 2 * margin  # the skeleton's room: the pen adds width/2 each side
    s = min(height * canvas / h, room / h, room / w)
    half = width / 2 + margin
    x0 = rng.uniform(half, max(half, canvas - half - w * s))
    y0 = rng.uniform(half, max(half, canvas - half - h * s))
    return [(p - lo) * s + (x0, y0) for p in strokes]


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------
def draw(strokes: list[np.ndarray], width: float, canvas: int = CANVAS) -> np.ndarray:
    """Paint strokes (canvas px) like the app's canvas: (canvas, canvas, 4) uint8 RGBA,
    white on opaque black, round caps and joins, antialiased.

    Drawn at :data:`SUPERSAMPLE` × the size -- every segment as a wide line plus a disc
    of the pen's diameter at every point (the round caps and joins) -- then every 4×4
    block is averaged (the area covered, as a browser's rasteriser computes it).
    Strokes are painted as a union, each segment from its left end: neither the
    strokes' order nor their direction changes a pixel.
    """
    ss = SUPERSAMPLE
    big = Image.new("L", (canvas * ss, canvas * ss), 0)
    pen = ImageDraw.Draw(big)
    line_width = max(1, round(width * ss))
    r = width * ss / 2
    for stroke in strokes:
        p = np.asarray(stroke, np.float64).reshape(-1, 2) * ss
        # Each segment from its leftmost (then topmost) end: Pillow's wide lines are not
        # quite symmetric, and the picture must not depend on the way a stroke was drawn.
        a, b = p[:-1], p[1:]
        swap = ((a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1])))[:, None]
        for x0, y0, x1, y1 in np.concatenate(
            [np.where(swap, b, a), np.where(swap, a, b)], axis=1
        ).tolist():
            pen.line([(x0, y0), (x1, y1)], fill=255, width=line_width)
        for x, y in p.tolist():
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    gray = np.asarray(big.reduce(ss), np.uint8)
    rgba = np.empty((canvas, canvas, 4), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255
    return rgba


def render(
    pen: PenStrokes, i: int, rng: np.random.Generator, style: StrokeStyle = STYLE
) -> np.ndarray:
    """Digit ``i`` of ``pen`` drawn on the canvas with random variation: RGBA uint8."""
    placed, width = vary(screen_strokes(pen, i), rng, style)
    return draw(placed, width)


def training_images(
    pen: PenStrokes,
    copies: int = 2,
    seed: int = 1,
    style: StrokeStyle = STYLE,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` renders of every digit, as the network will read them.

    Each render goes through :func:`digitnet.preprocess.preprocess_steps` with
    ``background="dark"`` -- the Draw tab's own call -- and its image is stored
    as uint8 (like MNIST's). Render ``c`` of digit ``i`` is seeded by
    ``(seed, c, writer, sample number)``: the same digit gets the same renders
    whichever set it is part of.

    Returns
    -------
    images : ndarray
        uint8 (copies × N, 28, 28), copy after copy.
    labels : ndarray
        int64 (copies × N,).
    """
    from .preprocess import preprocess_steps

    n = len(pen)
    images = np.zeros((copies * n, 28, 28), np.uint8)
    labels = np.tile(pen.labels, copies)
    done = 0
    for c in range(copies):
        for i in range(n):
            rng = np.random.default_rng([seed, c, int(pen.writers[i]), int(pen.sample_no[i])])
            steps = preprocess_steps(render(pen, i, rng, style), background="dark")
            if steps.image is not None:
                images[c * n + i] = np.round(steps.image * 255)
            done += 1
            if progress is not None and (done % 256 == 0 or done == copies * n):
                progress(done, copies * n)
    return images, labels
