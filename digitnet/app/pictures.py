"""The app's pictures (NumPy and Pillow only): the preprocessing steps shown under the
canvas; digits enlarged pixel by pixel, framed tiles, the hidden units' weights and
activations (the Explore tab, the drawings kept to teach).

:func:`digitnet.preprocess.preprocess_steps` keeps every intermediate image of
its procedure; :func:`step_pictures` turns them into four small RGB pictures of
the same size, with what each step found drawn on top:

1. the canvas, as ink levels;
2. the ink's bounding box (an amber frame);
3. the digit scaled so that its longest side is 20 px (nearest-neighbour
   enlargement: one square per pixel the network will see);
4. the 28×28 input, centred: a hollow circle where the centre of mass was before
   the shift, a red cross where it is now (on the field's centre, the faint
   cross-hair), and the shift between them.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from PIL import Image, ImageDraw

from ..geometry import MNIST_CENTER, MNIST_SIZE, center_of_mass
from ..preprocess import Steps
from .i18n import t

SIZE = 168  #: side of every picture, px (28 × 6: the 28×28 image in whole squares)
BOX = (255, 189, 69)  #: amber: the bounding box
MARK = (255, 75, 75)  #: red: the centre of mass
GUIDE = (90, 140, 200)  #: blue-grey: the centre of the field
#: The edge of a picture, so black on black still shows its extent. Grey: a picture with no
#: other colour is then sent as a grey PNG (:func:`data_url`), a third of the work.
FRAME = (72, 72, 72)


def step_alts() -> list[str]:
    """What each of the four pictures shows, for screen readers (their alt texts)."""
    return [t(f"pictures.alt.{i}") for i in range(1, 5)]


def step_pictures(steps: Steps, strokes: int | None = None) -> list[tuple[np.ndarray, str]]:
    """Four ``(picture, caption)`` pairs, pictures uint8 (SIZE, SIZE, 3); [] when empty.

    Their alt texts, in the same order: :func:`step_alts`.

    ``strokes``, the number of pen strokes, goes into the first caption.
    """
    if steps.image is None:
        return []
    x0, y0, x1, y1 = steps.bbox
    size = {"width": steps.ink.shape[1], "height": steps.ink.shape[0]}
    first = (
        t("pictures.canvas", **size)
        if strokes is None
        else t("pictures.canvas_strokes", **size, count=strokes)
    )
    ink = _ink_picture(steps.ink)  # the canvas at the pictures' size, for the first two
    return [
        (canvas_picture(steps.ink, ink), first),
        (
            bbox_picture(steps.ink, steps.bbox, ink),
            t("pictures.box", width=x1 - x0, height=y1 - y0),
        ),
        (scaled_picture(steps.scaled), t("pictures.scaled")),
        (centred_picture(steps.image, steps.center_of_mass), t("pictures.centred")),
    ]


def _ink_picture(ink: np.ndarray) -> Image.Image:
    """The ink levels as a SIZE × SIZE grey image."""
    return _to_image(ink).resize((SIZE, SIZE), Image.Resampling.BILINEAR)


def canvas_picture(ink: np.ndarray, resized: Image.Image | None = None) -> np.ndarray:
    """The ink levels (0 = black, 1 = white), resized to SIZE × SIZE (``resized``: that
    image, already made)."""
    return _framed(resized if resized is not None else _ink_picture(ink))


def bbox_picture(
    ink: np.ndarray, bbox: tuple[int, int, int, int], resized: Image.Image | None = None
) -> np.ndarray:
    """The ink with its bounding box ``(x0, y0, x1, y1)`` drawn in amber."""
    h, w = ink.shape
    img = (resized if resized is not None else _ink_picture(ink)).convert("RGB")
    x0, y0, x1, y1 = bbox
    sx, sy = SIZE / w, SIZE / h
    ImageDraw.Draw(img).rectangle(
        [x0 * sx, y0 * sy, x1 * sx - 1, y1 * sy - 1], outline=BOX, width=2
    )
    return _framed(img)


def scaled_picture(scaled: np.ndarray) -> np.ndarray:
    """The 20-px digit, centred in a square (2 px to spare) and enlarged by a whole factor."""
    side = max(*scaled.shape, 20) + 4
    square = np.zeros((side, side), np.float32)
    top, left = (side - scaled.shape[0]) // 2, (side - scaled.shape[1]) // 2
    square[top : top + scaled.shape[0], left : left + scaled.shape[1]] = scaled
    k = SIZE // side
    img = _to_image(square).resize((side * k, side * k), Image.Resampling.NEAREST)
    canvas = Image.new("L", (SIZE, SIZE))
    canvas.paste(img, ((SIZE - side * k) // 2, (SIZE - side * k) // 2))
    return _framed(canvas)


def centred_picture(image: np.ndarray, com_before: tuple[float, float] | None) -> np.ndarray:
    """The 28×28 input, with the field's centre and the centre of mass before/after."""
    k = SIZE // MNIST_SIZE
    img = _to_image(image).resize((SIZE, SIZE), Image.Resampling.NEAREST).convert("RGB")
    draw = ImageDraw.Draw(img)

    def px(index: float) -> float:  # pixel index -> picture coordinate of its centre
        return (index + 0.5) * k

    c = px(MNIST_CENTER)
    draw.line([(c, 0), (c, SIZE)], fill=GUIDE, width=1)
    draw.line([(0, c), (SIZE, c)], fill=GUIDE, width=1)
    ay, ax = center_of_mass(image)
    after = (px(ax), px(ay))
    if com_before is not None:
        before = (px(com_before[0]), px(com_before[1]))
        draw.line([before, after], fill=MARK, width=2)
        r = 6
        draw.ellipse([before[0] - r, before[1] - r, before[0] + r, before[1] + r], outline=MARK)
    r = 7
    draw.line([(after[0] - r, after[1]), (after[0] + r, after[1])], fill=MARK, width=3)
    draw.line([(after[0], after[1] - r), (after[0], after[1] + r)], fill=MARK, width=3)
    return _framed(img)


def data_url(picture: np.ndarray | bytes) -> str:
    """A picture inline, as a ``data:`` URL (PNG): an array (grey or RGB uint8), or PNG bytes.

    Why the Draw tab's pictures go inline: given an array, ``st.image`` stores a media file
    per picture, which the browser then fetches with a request of its own; for the four
    pictures of every stroke that was about a quarter of the server's CPU per answer (the
    files' encoding and bookkeeping, and four HTTP requests through the web server),
    against about 2.5 ms here for four lossless PNGs (18 kB as text) sent with the answer.
    A picture whose three channels are equal is sent as a grey PNG (the same picture, a
    third of the bytes to compress).
    """
    if not isinstance(picture, bytes):
        a = np.asarray(picture)
        if a.ndim == 3 and (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all():
            a = np.ascontiguousarray(a[..., 0])  # grey in RGB: a grey PNG, a third of the work
        buffer = io.BytesIO()
        Image.fromarray(a).save(buffer, format="PNG", compress_level=1)
        picture = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(picture).decode("ascii")


def _to_image(levels: np.ndarray) -> Image.Image:
    """Levels in [0, 1] as an 8-bit grey image."""
    return Image.fromarray(np.round(np.clip(levels, 0.0, 1.0) * 255).astype(np.uint8))


def _framed(img: Image.Image) -> np.ndarray:
    """As an RGB array, with a 1-px frame."""
    rgb = img.convert("RGB")
    ImageDraw.Draw(rgb).rectangle([0, 0, SIZE - 1, SIZE - 1], outline=FRAME)
    return np.asarray(rgb)


# ---------------------------------------------------------------- Explore and Teach
TILE = 128  #: px: a 28×28 picture enlarged 4× in a frame (five a row on a wide page)
POSITIVE = np.array([255, 99, 71], np.float64)  # ink here excites the unit / pushes towards
NEGATIVE = np.array([66, 155, 255], np.float64)  # ink here inhibits it / pushes away
ACTIVE = np.array([255, 189, 69], np.float64)  # amber: a hidden unit's activation


def enlarge(pixels: np.ndarray, k: int) -> np.ndarray:
    """Each pixel (grey or RGB) as a k×k square: big pixels, as the network sees them."""
    return np.repeat(np.repeat(pixels, k, axis=0), k, axis=1)


def big(image: np.ndarray, k: int) -> np.ndarray:
    """A 28×28 image (uint8, or floats in [0, 1]) as uint8, enlarged k× (nearest)."""
    a = np.asarray(image).reshape(28, 28)
    if a.dtype != np.uint8:
        a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    return enlarge(a, k)


def tile(picture: np.ndarray, side: int = TILE, frame=(70, 70, 80)) -> np.ndarray:
    """A picture centred on a black square of ``side`` px with a 1-px frame (RGB uint8)."""
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    h, w = picture.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = picture
    out[[0, -1], :] = frame
    out[:, [0, -1]] = frame
    return out


def diverging(w: np.ndarray, k: int = 4) -> np.ndarray:
    """Weights as RGB: red positive, blue negative, black 0; scaled by their largest |w|."""
    w = np.asarray(w, np.float64).reshape(28, 28)
    scale = float(np.abs(w).max()) or 1.0
    t = np.clip(w / scale, -1.0, 1.0)[..., None]
    rgb = np.where(t >= 0, POSITIVE, NEGATIVE) * np.abs(t) ** 0.75
    return enlarge(np.round(rgb).astype(np.uint8), k)


def unit_alt(unit: int) -> str:
    """The alt text of a hidden unit's picture (:func:`diverging` of its weights)."""
    return t("explore.unit_alt", unit=unit)


def activation_picture(a: np.ndarray, square: int = 8) -> np.ndarray:
    """The activations as a grid of squares (row by row), amber brightness by activation."""
    n = len(a)
    cols = min(n, max(10, math.ceil(math.sqrt(2 * n))))
    rows = math.ceil(n / cols)
    scale = float(np.abs(a).max()) or 1.0
    level = np.zeros(rows * cols)
    level[:n] = a / scale
    grid = level.reshape(rows, cols)[..., None]
    rgb = np.where(grid >= 0, ACTIVE, NEGATIVE) * np.abs(grid) ** 0.6
    rgb[np.arange(rows * cols).reshape(rows, cols) >= n] = (14, 17, 23)  # past the last unit
    out = enlarge(np.round(rgb).astype(np.uint8), square)
    out[::square, :] = (30, 34, 44)  # a thin grid, so that dark units still show
    out[:, ::square] = (30, 34, 44)
    return out
