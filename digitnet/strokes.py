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


def _round_corners(s: np.ndarray, sigma: float) -> np.ndarray:
    """The stroke smoothed along its length by a Gaussian of ``sigma`` (arc length): corners
    become curves. The ends stay where they were (the stroke is extended by its end points
    before smoothing), and the result is the same whichever way the stroke runs."""
    if sigma <= 0 or len(s) < 3:
        return s
    step = sigma / 4
    fine = _resample(s, step)
    reach = 12  # 3 sigma, at sigma / 4 a point
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) * step / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(fine[:1], reach, 0), fine, np.repeat(fine[-1:], reach, 0)])
    smooth = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in (0, 1)], axis=1)
    smooth[0], smooth[-1] = fine[0], fine[-1]
    return smooth


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
    restyled: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` renders of every digit, and ``restyled`` renders of every digit that
    :func:`restyle` redraws in another writer's style (:func:`restylable`), as the network
    will read them.

    Each render goes through :func:`digitnet.preprocess.preprocess_steps` with
    ``background="dark"`` -- the Draw tab's own call -- and its image is stored
    as uint8 (like MNIST's). Render ``c`` of digit ``i`` is seeded by
    ``(seed, c, writer, sample number)`` (restyled render ``r``: ``c = 100 + r``):
    the same digit gets the same renders whichever set it is part of.

    Parameters
    ----------
    restyled : int or None
        Restyled renders per restylable digit (:func:`restylable`); None: :data:`RESTYLED_COPIES`
        if ``copies`` is not 0, else none.

    Returns
    -------
    images : ndarray
        uint8 (copies × N + restyled × M, 28, 28): copy after copy, then the restyled
        renders of the M restylable digits, copy after copy.
    labels : ndarray
        int64, as many.
    """
    from .preprocess import preprocess_steps

    if restyled is None:
        restyled = RESTYLED_COPIES if copies else 0
    n = len(pen)
    chosen = np.array([i for i in range(n) if restylable(pen, i)], np.int64)
    jobs = [(c, i) for c in range(copies) for i in range(n)]
    jobs += [(100 + r, int(i)) for r in range(restyled) for i in chosen]
    images = np.zeros((len(jobs), 28, 28), np.uint8)
    labels = pen.labels[np.array([i for _, i in jobs], np.int64)]
    for k, (c, i) in enumerate(jobs):
        rng = np.random.default_rng([seed, c, int(pen.writers[i]), int(pen.sample_no[i])])
        if c < 100:
            canvas = render(pen, i, rng, style)
        else:
            canvas = draw(
                *vary(restyle(screen_strokes(pen, i), int(pen.labels[i]), rng), rng, style)
            )
        steps = preprocess_steps(canvas, background="dark")
        if steps.image is not None:
            images[k] = np.round(steps.image * 255)
        if progress is not None and ((k + 1) % 256 == 0 or k + 1 == len(jobs)):
            progress(k + 1, len(jobs))
    return images, labels


# --------------------------------------------------------------------------
# Styles: the same writers' digits as other writers write them
# --------------------------------------------------------------------------
#: The digits :func:`restyle` redraws, and how (the ranges are
#: :mod:`digitnet.augment`'s, which draws the same styles on MNIST's digits).
RESTYLED = {
    1: "the lead-in stroke redrawn: 0.3-1.2 of the height, steep enough to stay a 1's",
    7: "the crossbar redrawn (or added) from the middle down to low, long or short",
    9: "the loop made small and flat on a stretched tail, its top flat or the loop open",
}


def restyled_digits() -> str:
    """The digits :func:`restyle` redraws, in words for messages: "1s, 7s and 9s"."""
    names = [f"{d}s" for d in sorted(RESTYLED)]
    return ", ".join(names[:-1]) + " and " + names[-1]


#: The share of restyled 1s whose top is rounded into an arch (the lead-in turning into the
#: stem in a curve, not a corner), and the arch's size: the stroke smoothed along its length
#: by a Gaussian of this standard deviation (fraction of the height; 0.15 rounds the corner
#: off by about a tenth of the height -- more, and the 1 becomes a hook).
ARCH_SHARE = 0.5
ARCH_SIZE = (0.04, 0.15)
#: The share of restyled 9s whose loop's top is flat, and how deep the flat line cuts into
#: the loop (fraction of its height).
FLAT_TOP_SHARE = 1 / 3
FLAT_TOP_DEPTH = (0.1, 0.3)
#: The share of restyled 9s whose loop is left open, where (degrees about the loop's
#: centre, 90: its top, 180: its left) and how wide the gap (degrees).
OPEN_LOOP_SHARE = 1 / 3
OPEN_LOOP_AT = (100.0, 240.0)
OPEN_LOOP_GAP = (30.0, 70.0)
OPEN_LOOP_INK = 0.2
#: Restyled renders of every restylable pen-drawn digit that :func:`training_images` adds.
RESTYLED_COPIES = 4


def restylable(pen: PenStrokes, i: int) -> bool:
    """Whether :func:`restyle` changes digit ``i`` (one of :data:`RESTYLED`'s digits; a 1
    only if it is one stroke)."""
    label = int(pen.labels[i])
    return label in RESTYLED and (label != 1 or len(pen.strokes(i)) == 1)


def restyle(strokes: list[np.ndarray], label: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A digit's strokes (screen coordinates, y down) redrawn in another writer's style
    (:data:`RESTYLED`), or unchanged when it does not apply (other digits, a 1 of two
    strokes). The writer's own hand -- the stem, the loop, the pen's wobble -- is kept;
    only the feature that differs between writers is changed."""
    strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in strokes]
    if label == 1 and len(strokes) == 1:
        return [_one_with_lead_in(strokes[0], rng)]
    if label == 7:
        return _seven_with_bar(strokes, rng)
    if label == 9:
        return _nine_with_small_loop(strokes, rng)
    return strokes


def _one_with_lead_in(s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The stroke's arms from its top point: the longer is the stem, kept; the other (the
    lead-in, if any) is replaced by a straight one of :func:`digitnet.augment.lead_in`."""
    from .augment import lead_in

    top = int(np.argmin(s[:, 1]))
    arms = [s[: top + 1][::-1], s[top:]]  # both start at the top point
    stem = max(arms, key=lambda a: a[:, 1].max())
    height = max(float(stem[:, 1].max() - stem[0, 1]), 1e-6)
    dx, dy = stem[-1] - stem[0]
    length, angle = lead_in(math.degrees(math.atan2(dy, -dx)), rng)
    length *= height
    n = max(2, int(len(stem) * length / height))
    t = np.linspace(1.0, 0.0, n)[:, None]  # from the lead-in's end to the top point
    arm = stem[0] + t * length * np.array([-math.cos(angle), math.sin(angle)])
    one = np.concatenate([arm[:-1], stem])
    if rng.random() < ARCH_SHARE:  # the top rounded into an arch, as a fast hand draws it
        one = _round_corners(one, rng.uniform(*ARCH_SIZE) * height)
    return one


def _crossings(strokes: list[np.ndarray], y: float) -> np.ndarray:
    """The x where the strokes cross the horizontal line at ``y``."""
    xs = []
    for s in strokes:
        a, b = s[:-1], s[1:]
        hit = (a[:, 1] - y) * (b[:, 1] - y) <= 0
        hit &= a[:, 1] != b[:, 1]
        t = (y - a[hit, 1]) / (b[hit, 1] - a[hit, 1])
        xs.append(a[hit, 0] + t * (b[hit, 0] - a[hit, 0]))
    return np.concatenate(xs) if xs else np.zeros(0)


def _seven_with_bar(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Keep the stroke holding the top (the bar and the stem); drop any other (the writer's
    own crossbar) and draw a new crossbar through the stem."""
    from .augment import SEVEN_BAR_AT, SEVEN_BAR_HALF

    main = min(strokes, key=lambda s: float(s[:, 1].min()))
    lo, hi = _bounds([main])
    height = max(float(hi[1] - lo[1]), 1e-6)
    if height < 0.7 * float(np.ptp(np.concatenate(strokes)[:, 1])):
        return strokes  # the top stroke is not the stem (a bar drawn apart): leave it be
    y = lo[1] + rng.uniform(*SEVEN_BAR_AT) * height
    xs = _crossings([main], y)
    x = float(xs.mean()) if xs.size else float((lo[0] + hi[0]) / 2)
    half, tilt = rng.uniform(*SEVEN_BAR_HALF) * height, math.radians(rng.uniform(-10, 10))
    d = half * np.array([math.cos(tilt), math.sin(tilt)])
    bar = np.array([[x, y]]) + np.linspace(-1.0, 1.0, 9)[:, None] * d
    return [main, bar]


def _nine_with_small_loop(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Flatten the loop (the rows the strokes cross twice, in the upper 3/4) and stretch the
    tail below it, so that the loop ends up 1/5 to 1/2 of the digit's height."""
    from .augment import LOOP_SQUASH, TAIL_STRETCH

    lo, hi = _bounds(strokes)
    top, bottom = float(lo[1]), float(hi[1])
    levels = np.linspace(top, top + 0.75 * (bottom - top), 40)
    twice = [y for y in levels if len(_crossings(strokes, y)) >= 2]
    split = twice[-1] if twice else (top + bottom) / 2
    squash, stretch = rng.uniform(*LOOP_SQUASH), rng.uniform(*TAIL_STRETCH)

    def move(s: np.ndarray) -> np.ndarray:
        y = s[:, 1]
        new_y = np.where(y < split, top + (y - top) * squash, split_y + (y - split) * stretch)
        return np.stack([s[:, 0], new_y], axis=1)

    split_y = top + (split - top) * squash
    nine = [move(s) for s in strokes]
    form = rng.random()
    if form < FLAT_TOP_SHARE:  # the loop's top drawn as a flat line
        cut = top + rng.uniform(*FLAT_TOP_DEPTH) * (split_y - top)
        nine = [np.stack([s[:, 0], np.maximum(s[:, 1], cut)], axis=1) for s in nine]
    elif form < FLAT_TOP_SHARE + OPEN_LOOP_SHARE:  # the loop left open on its left
        nine = _open_loop(nine, top, split_y, rng)
    return nine


def _open_loop(
    strokes: list[np.ndarray], top: float, bottom: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """The strokes with a gap cut in the loop (the ink between ``top`` and ``bottom``) on its
    left side: at an angle of :data:`OPEN_LOOP_AT` degrees about the loop's centre (0: right,
    90: up), :data:`OPEN_LOOP_GAP` degrees wide. A stroke cut in two becomes two strokes."""
    h = max(bottom - top, 1e-6)
    fine = [_resample(s, h / 40) for s in strokes]
    in_loop = [s[:, 1] <= bottom for s in fine]
    loop = np.concatenate([s[m] for s, m in zip(fine, in_loop)] or [np.zeros((0, 2))])
    if len(loop) < 3:
        return strokes
    cx = float((loop[:, 0].min() + loop[:, 0].max()) / 2)
    cy = float((top + bottom) / 2)
    at, gap = math.radians(rng.uniform(*OPEN_LOOP_AT)), math.radians(rng.uniform(*OPEN_LOOP_GAP))
    angles = [np.arctan2(cy - s[:, 1], s[:, 0] - cx) for s in fine]
    offs = [np.abs((a - at + math.pi) % (2 * math.pi) - math.pi) for a in angles]
    # at most OPEN_LOOP_INK of the loop's ink goes: a wide gap in a flat loop leaves a 7
    loop_offs = np.sort(np.concatenate([o[m] for o, m in zip(offs, in_loop)]))
    gap = min(gap / 2, float(loop_offs[int(OPEN_LOOP_INK * (len(loop_offs) - 1))]))
    out = []
    for s, off, m in zip(fine, offs, in_loop):
        keep = ~((off < gap) & m)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        out += [s[a:b] for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]
    return out or strokes
