"""Pictures of the preprocessing steps, shown under the canvas (NumPy and Pillow only).

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

import numpy as np
from PIL import Image, ImageDraw

from ..geometry import MNIST_CENTER, MNIST_SIZE, center_of_mass
from ..preprocess import Steps

SIZE = 168  #: side of every picture, px (28 × 6: the 28×28 image in whole squares)
BOX = (255, 189, 69)  #: amber: the bounding box
MARK = (255, 75, 75)  #: red: the centre of mass
GUIDE = (90, 140, 200)  #: blue-grey: the centre of the field
FRAME = (70, 70, 80)  #: the edge of a picture, so black on black still shows its extent


#: What each of the four pictures shows, for screen readers (their alt text).
STEP_ALTS = (
    "Your drawing on the canvas, white ink on black",
    "Your drawing with the bounding box of its ink in amber",
    "The digit scaled so that its longer side is 20 pixels, one square per pixel",
    "The 28 by 28 pixel input the network reads, the digit centred on its centre of mass: "
    "a red cross marks it, a circle where it was before",
)


def step_pictures(steps: Steps, strokes: int | None = None) -> list[tuple[np.ndarray, str]]:
    """Four ``(picture, caption)`` pairs, pictures uint8 (SIZE, SIZE, 3); [] when empty.

    Their alt texts, in the same order: :data:`STEP_ALTS`.

    ``strokes``, the number of pen strokes, goes into the first caption.
    """
    if steps.image is None:
        return []
    x0, y0, x1, y1 = steps.bbox
    first = f"1 · canvas {steps.ink.shape[1]}×{steps.ink.shape[0]}"
    if strokes is not None:
        first += f", {strokes} stroke{'s' if strokes != 1 else ''}"
    return [
        (canvas_picture(steps.ink), first),
        (bbox_picture(steps.ink, steps.bbox), f"2 · ink box {x1 - x0}×{y1 - y0}"),
        (scaled_picture(steps.scaled), "3 · scaled into 20×20 px"),
        (
            centred_picture(steps.image, steps.center_of_mass),
            "4 · centred 28×28, centre of mass ✚",
        ),
    ]


def canvas_picture(ink: np.ndarray) -> np.ndarray:
    """The ink levels (0 = black, 1 = white), resized to SIZE × SIZE."""
    img = _to_image(ink).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    return _framed(img)


def bbox_picture(ink: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """The ink with its bounding box ``(x0, y0, x1, y1)`` drawn in amber."""
    h, w = ink.shape
    img = _to_image(ink).resize((SIZE, SIZE), Image.Resampling.BILINEAR).convert("RGB")
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
    """
    if not isinstance(picture, bytes):
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(picture)).save(buffer, format="PNG", compress_level=1)
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
