"""Turn a drawing (a canvas, a PNG, a photo) into an MNIST-like 28×28 image.

The network only ever saw MNIST digits, so a drawing must be made to look like
one before it is shown to it. The MNIST creators describe their procedure so:

    "The original black and white (bilevel) images from NIST were size
    normalized to fit in a 20x20 pixel box while preserving their aspect ratio.
    The resulting images contain grey levels as a result of the anti-aliasing
    technique used by the normalization algorithm. the images were centered in
    a 28x28 image by computing the center of mass of the pixels, and
    translating the image so as to position this point at the center of the
    28x28 field."  -- Y. LeCun, C. Cortes, C. Burges, the MNIST database

:func:`preprocess_steps` does the same, one step at a time, and adds one step
the paper did not need (its digits were all written with similar pens at
similar sizes, ours are not):

1. **Ink** (:func:`ink_image`): the image becomes one grey level per pixel,
   0 = background, 1 = ink, whatever its format (grayscale, RGB, RGBA with a
   transparent background) and polarity (white on black or black on white).
2. **Crop** to the bounding box of the ink.
3. **Stroke width** (:func:`stroke_width`): a canvas pen is 18 px wide whether
   the digit is drawn 50 px or 250 px tall, so once the digit is shrunk to
   20 px its strokes could be anything from 1 to 7 px wide; MNIST's are 2 to
   3 px (:data:`STROKE_RANGE`). The pen width is estimated, and the strokes are
   thickened or thinned (grey dilation or erosion) to bring them into MNIST's
   range. ``normalize_stroke=False`` skips this step: the paper's procedure.
4. **Scale** so that the longest side of the ink is 20 px, keeping the aspect
   ratio, with antialiasing: the digit is first resampled at
   :data:`SUPERSAMPLE` × the final resolution (where step 3 also happens), then
   every :data:`SUPERSAMPLE` × :data:`SUPERSAMPLE` block is averaged into one
   pixel, the area coverage that gives MNIST its grey edges.
5. **Centre** the centre of mass of the intensities on pixel (14, 14) of a
   28×28 field (row and column indices from 0), where MNIST has it: the mean
   centre of mass of the 60,000 training digits is at (14.00, 14.00), ± 0.29
   in each axis -- MNIST shifted by whole pixels. Here the shift is made at the
   fine resolution, so the result is within 1/8 px of (14, 14).

Everything here uses NumPy and Pillow only, and takes well under a millisecond
for a 280×280 canvas.

Nothing drawn is not an image: :func:`canvas_to_mnist` raises
:class:`EmptyCanvas`, and :func:`preprocess_steps` returns ``status="empty"``
with ``image=None``. Two more statuses warn but still give an image:
``"too_small"`` (a dot or a scribble of a few pixels) and ``"not_a_digit"``
(most of the canvas is ink).

>>> import numpy as np
>>> canvas = np.zeros((280, 280), np.uint8)
>>> canvas[60:220, 130:148] = 255                   # a white "1" on black
>>> image = canvas_to_mnist(canvas)
>>> image.shape, image.dtype, float(image.max()) <= 1.0
((28, 28), dtype('float32'), True)
"""

from __future__ import annotations

import io
import math
import os
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DigitnetError
from .geometry import MNIST_BOX, MNIST_CENTER, MNIST_SIZE, center_of_mass, grow

SUPERSAMPLE = 4  #: the digit is built at 4× the final resolution, then block-averaged

#: Stroke widths of MNIST digits, in px of the 28×28 image: the 25th and 75th
#: percentiles (2.0 and 2.8; median 2.4) of :func:`digit_stroke_width` over the
#: MNIST training digits enlarged 10× (``benchmarks/drawings.py`` measures them
#: again). Thinner strokes are thickened to the lower bound, thicker ones thinned
#: to the upper bound; strokes in between are left as drawn.
STROKE_RANGE = (2.0, 2.8)

#: Nothing is drawn when no pixel has at least this ink level; the bounding box
#: holds the pixels with at least this fraction of the strongest ink.
INK_THRESHOLD = 0.25
TOO_SMALL = 0.08  #: flag ink whose bounding box is smaller than this fraction of the canvas
MIN_INK_PX = 4  #: ... or smaller than this many pixels, whatever the canvas size
NOT_A_DIGIT = 0.5  #: flag canvases whose mean ink level is above this
WORK_SIDE = 100  #: crops at least twice this size are first shrunk by a whole factor, for speed

BACKGROUNDS = ("auto", "dark", "light")
STATUSES = ("ok", "empty", "too_small", "not_a_digit")

MESSAGES = {
    "ok": "Looks like a digit.",
    "empty": "Nothing is drawn: draw a digit first.",
    "too_small": "The drawing is very small: draw the digit bigger, filling most of the canvas.",
    "not_a_digit": "Most of the canvas is ink: this doesn't look like a digit.",
}


class EmptyCanvas(DigitnetError, ValueError):
    """Nothing is drawn: the image has no ink, so there is no digit to read."""


class ImageReadError(DigitnetError, ValueError):
    """An image file cannot be read (missing, not an image, or an unsupported format)."""


class CanvasError(DigitnetError, ValueError):
    """What the canvas sent is not the canvas's picture (wrong size, not a PNG)."""


@dataclass
class Steps:
    """Every intermediate step of :func:`preprocess_steps`, for display and tests.

    Attributes
    ----------
    ink : ndarray
        float32 (H, W) in [0, 1]: the input as ink levels, 0 = background, 1 = ink.
    bbox : tuple of int or None
        ``(x0, y0, x1, y1)``: the ink's bounding box in input pixels, ``x1`` and
        ``y1`` exclusive (``ink[y0:y1, x0:x1]`` is the crop). None when empty.
    crop : ndarray or None
        float32 (y1 − y0, x1 − x0): the ink inside the box, scaled so its peak is 1.
    stroke_width : float or None
        The estimated pen width, in input pixels.
    stroke_target : float or None
        The pen width after stroke normalisation, in input pixels (equal to
        ``stroke_width`` when it was already in MNIST's range or not normalised).
    scaled : ndarray or None
        float32: the digit with its longest side 20 px, cropped to its ink.
    center_of_mass : tuple of float or None
        ``(x, y)``: the centre of mass of ``scaled`` placed with its box centred
        in the 28×28 field (column and row indices), before the final shift.
    shift : tuple of float or None
        ``(dx, dy)``: the translation, in px, that moved the centre of mass to (14, 14).
    image : ndarray or None
        float32 (28, 28) in [0, 1], white digit on black: the network's input.
        None when ``status == "empty"``.
    status : {"ok", "empty", "too_small", "not_a_digit"}
    message : str
        A sentence for the user, explaining the status.
    """

    ink: np.ndarray
    bbox: tuple[int, int, int, int] | None = None
    crop: np.ndarray | None = None
    stroke_width: float | None = None
    stroke_target: float | None = None
    scaled: np.ndarray | None = None
    center_of_mass: tuple[float, float] | None = None
    shift: tuple[float, float] | None = None
    image: np.ndarray | None = None
    status: str = "ok"
    message: str = MESSAGES["ok"]


# --------------------------------------------------------------------------
# The two entry points
# --------------------------------------------------------------------------
def canvas_to_mnist(
    image: np.ndarray, *, background: str = "auto", normalize_stroke: bool = True
) -> np.ndarray:
    """A drawing as the network's input: float32 (28, 28) in [0, 1], white on black.

    Parameters
    ----------
    image : ndarray
        uint8, any size: grayscale (H, W), RGB (H, W, 3), RGBA (H, W, 4) or
        grayscale + alpha (H, W, 2). Light ink on a dark background or dark on light.
    background : {"auto", "dark", "light"}
        ``auto`` takes the background from the image's border; ``dark`` and
        ``light`` say it (a canvas known to be white on black: ``dark``).
    normalize_stroke : bool
        Bring the stroke width into MNIST's range (step 3 of the module's
        docstring). ``False`` gives the MNIST paper's procedure exactly.

    Returns
    -------
    ndarray
        float32 (28, 28). Drawings flagged ``too_small`` or ``not_a_digit``
        still give an image; use :func:`preprocess_steps` to see the flag.

    Raises
    ------
    EmptyCanvas
        Nothing is drawn.
    ValueError
        ``image`` is not a uint8 image array.
    """
    steps = preprocess_steps(image, background=background, normalize_stroke=normalize_stroke)
    if steps.image is None:
        raise EmptyCanvas(steps.message)
    return steps.image


def preprocess_steps(
    image: np.ndarray, *, background: str = "auto", normalize_stroke: bool = True
) -> Steps:
    """Run the whole procedure and keep every intermediate result.

    Takes the same arguments as :func:`canvas_to_mnist`. Never raises for an
    empty canvas: it returns ``Steps(status="empty", image=None, ...)``.
    """
    ink = ink_image(image, background)
    steps = Steps(ink=ink)
    peak = float(ink.max())
    if peak < INK_THRESHOLD:
        steps.status, steps.message = "empty", MESSAGES["empty"]
        return steps
    # 2. Crop to the ink; then full contrast, e.g. for a faint pencil on grey paper.
    bbox = ink_bbox(ink, INK_THRESHOLD * peak)
    x0, y0, x1, y1 = bbox
    crop = ink[y0:y1, x0:x1]
    if peak < 1.0:
        crop = crop * np.float32(1.0 / peak)
    steps.bbox, steps.crop = bbox, crop

    # A large crop is first shrunk by a whole factor (averaging blocks of pixels):
    # nothing below needs more than WORK_SIDE pixels, and it is faster.
    box = max(crop.shape)  # the longest side of the ink, input px
    reduce = max(1, box // WORK_SIDE)
    work = _to_array(_to_image(crop).reduce(reduce)) if reduce > 1 else crop

    # 3. Stroke width, and 4. the scale factor from input px to final px.
    width = stroke_width(work) * reduce
    steps.stroke_width = width
    if normalize_stroke:
        # The pen adds half its width at each end of the box: the digit's
        # "skeleton" spans box − width. Choose the scale s and the new width w'
        # so that the skeleton plus the new pen spans 20 px: (box − width + w')·s = 20,
        # with w'·s, the new width in final px, clipped to MNIST's range.
        lo, hi = STROKE_RANGE
        skeleton = max(box - width, box / 2)  # a dot or a blob has no real skeleton
        final_width = min(max(MNIST_BOX * width / box, lo), hi)
        scale = (MNIST_BOX - final_width) / skeleton
        target = final_width / scale
    else:
        scale, target = MNIST_BOX / box, width
    steps.stroke_target = target

    # Resample at SUPERSAMPLE × the final resolution (antialiased), then thicken
    # or thin the strokes there by (target − width)/2 on each side.
    fine_scale = scale * SUPERSAMPLE  # input px -> fine px
    h, w = crop.shape
    size = (max(1, round(w * fine_scale)), max(1, round(h * fine_scale)))
    fine = _to_array(_to_image(work).resize(size, Image.Resampling.BILINEAR))
    fine = _trim(grow(fine, (target - width) / 2 * fine_scale))

    # 5. Place the digit's box in the centre of the 28×28 field, find the centre
    # of mass there, and shift (by whole fine pixels) to bring it to (14, 14).
    k, side = SUPERSAMPLE, MNIST_SIZE * SUPERSAMPLE
    top, left = (side - fine.shape[0]) // 2, (side - fine.shape[1]) // 2
    cy, cx = center_of_mass(fine)
    com = ((left + cx + 0.5) / k - 0.5, (top + cy + 0.5) / k - 0.5)  # (x, y), final px
    dx, dy = round((MNIST_CENTER - com[0]) * k), round((MNIST_CENTER - com[1]) * k)
    field = np.zeros((side, side), np.float32)
    _paste(field, fine, top + dy, left + dx)
    steps.image = np.minimum(block_mean(field, k), 1.0)
    steps.scaled = block_mean(_pad_to_multiple(fine, k), k)
    steps.center_of_mass, steps.shift = com, (dx / k, dy / k)

    # Warnings: the image is still made, but the user should know.
    height, width_px = ink.shape
    if float(crop.sum()) * peak > NOT_A_DIGIT * height * width_px:  # the ink is in the crop
        steps.status = "not_a_digit"
    elif box < max(MIN_INK_PX, TOO_SMALL * min(height, width_px)):
        steps.status = "too_small"
    steps.message = MESSAGES[steps.status]
    return steps


# --------------------------------------------------------------------------
# Step 1: ink levels
# --------------------------------------------------------------------------
def ink_image(image: np.ndarray, background: str = "auto") -> np.ndarray:
    """Ink levels of an image: float32 (H, W) in [0, 1], 0 = background, 1 = full ink.

    An image with transparent pixels is a drawing on a transparent layer (as a
    web canvas exports it): the ink is the alpha channel, whatever the colour of
    the strokes. Otherwise colours become grey levels (luminance, ITU-R 601
    weights, as Pillow's "L"); the background level is the median of the border
    pixels (``background="auto"``), or black or white as told; the ink is the
    distance from that level, scaled so that black on white and white on black
    both give 1 at full ink. An opaque alpha channel is ignored.

    Parameters
    ----------
    image : ndarray
        uint8 (H, W), (H, W, 1), (H, W, 2) (grey + alpha), (H, W, 3) or (H, W, 4).
    background : {"auto", "dark", "light"}
    """
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"the image must be uint8 (0-255), got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(
            f"the image must be shaped (H, W), (H, W, 3) or (H, W, 4), got {np.shape(image)}"
        )
    if a.shape[2] in (2, 4) and a[:, :, -1].min() < 255:
        # Some transparency: a drawing on a transparent layer. What is drawn is
        # where the alpha is, whatever its colour; transparent pixels are no ink.
        return a[:, :, -1].astype(np.float32) * np.float32(1.0 / 255.0)
    if a.shape[2] >= 3:  # colour: Pillow's luminance L = 0.299 R + 0.587 G + 0.114 B
        gray = Image.fromarray(np.ascontiguousarray(a)).convert("L")  # ignores an alpha
    else:
        gray = Image.fromarray(np.ascontiguousarray(a[:, :, 0]))

    # The ink is the distance of each grey level from the background's level,
    # scaled so that full contrast is 1.
    gray = np.asarray(gray).astype(np.float32)
    if background == "dark":
        level = 0.0
    elif background == "light":
        level = 255.0
    else:
        level = float(np.median(_border(gray)))
    if level > 127.5:  # dark ink on a light background
        ink = np.float32(level) - gray
        ink *= np.float32(1.0 / level)
    else:  # light ink on a dark background
        ink = gray - np.float32(level) if level > 0 else gray
        ink *= np.float32(1.0 / (255.0 - level))
    if 0 < level < 255:  # grey background: levels beyond it are not ink
        np.clip(ink, 0.0, 1.0, out=ink)
    return ink


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels of the outermost frame of a 2-D array."""
    if min(a.shape) <= 2:
        return a.ravel()
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


# --------------------------------------------------------------------------
# Steps 2 and 3: bounding box and stroke width
# --------------------------------------------------------------------------
def ink_bbox(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    """Bounding box ``(x0, y0, x1, y1)`` (``x1``, ``y1`` exclusive) of the pixels
    with ink >= ``threshold``; None when there are none."""
    mask = ink >= threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def stroke_width(ink: np.ndarray) -> float:
    """Estimate the pen width, in pixels, as twice the ink's area over its perimeter.

    A stroke of length L and width w has area ≈ L·w and perimeter ≈ 2L, so
    w ≈ 2·area / perimeter (slightly less for short strokes with round ends).
    The area is the sum of the ink levels; the perimeter of the ink (pixels >= 0.5)
    is counted with the Cauchy-Crofton formula: the boundary crossings along
    rows, columns and both diagonals, n₀, n₉₀, n₄₅ and n₁₃₅, give
    perimeter ≈ π/8 · (n₀ + n₉₀ + (n₄₅ + n₁₃₅)/√2), within ±5% at any angle.
    """
    m = np.zeros((ink.shape[0] + 2, ink.shape[1] + 2), bool)  # the ink, with a margin
    m[1:-1, 1:-1] = ink >= 0.5
    crossings = (
        np.count_nonzero(m[:, 1:] != m[:, :-1])
        + np.count_nonzero(m[1:, :] != m[:-1, :])
        + (np.count_nonzero(m[1:, 1:] != m[:-1, :-1]) + np.count_nonzero(m[1:, :-1] != m[:-1, 1:]))
        / math.sqrt(2)
    )
    if crossings == 0:
        return 1.0
    perimeter = math.pi / 8 * crossings
    return max(1.0, 2.0 * float(ink.sum()) / perimeter)


def digit_stroke_width(image: np.ndarray, background: str = "auto") -> float | None:
    """The pen width a drawing would have once scaled so its longest side is 20 px.

    That is 20 × :func:`stroke_width` / the longest side of the ink's bounding
    box: a scale-free measure, comparable between a canvas and an MNIST digit
    (enlarge the latter, e.g. 10×, so that the width can be measured). None
    when nothing is drawn.
    """
    ink = ink_image(image, background)
    peak = float(ink.max())
    if peak < INK_THRESHOLD:
        return None
    x0, y0, x1, y1 = ink_bbox(ink, INK_THRESHOLD * peak)
    crop = ink[y0:y1, x0:x1] * np.float32(1.0 / peak)
    return MNIST_BOX * stroke_width(crop) / max(crop.shape)


# --------------------------------------------------------------------------
# Steps 3-5: resampling, thickening/thinning, centring
# --------------------------------------------------------------------------
def block_mean(image: np.ndarray, k: int) -> np.ndarray:
    """Average every k×k block into one pixel (the area coverage of a smaller pixel grid)."""
    h, w = image.shape
    columns = image.reshape(h, w // k, k).sum(axis=2)  # sum k neighbours along each row
    return columns.reshape(h // k, k, w // k).sum(axis=1) * np.float32(1.0 / (k * k))


def _to_image(a: np.ndarray) -> Image.Image:
    """A float32 array as a Pillow image (mode "F"), for Pillow's resampling."""
    return Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))


def _to_array(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32)


def _trim(image: np.ndarray) -> np.ndarray:
    """The image cropped to its non-zero pixels (after thickening adds a margin)."""
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    if rows.size == 0:
        return image
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _pad_to_multiple(image: np.ndarray, k: int) -> np.ndarray:
    """Pad with zeros, evenly on both sides, to a shape divisible by k."""
    h, w = image.shape
    out = np.zeros((h + -h % k, w + -w % k), np.float32)
    top, left = (-h % k) // 2, (-w % k) // 2
    out[top : top + h, left : left + w] = image
    return out


def _paste(field: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """Add ``patch`` into ``field`` at (top, left), cutting whatever falls outside."""
    h, w = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, field.shape[0]), min(left + w, field.shape[1])
    if y1 > y0 and x1 > x0:
        field[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]


# --------------------------------------------------------------------------
# Reading image files (the CLI's predict)
# --------------------------------------------------------------------------
#: The largest image :func:`load_image` reads, in pixels (40 megapixels: a phone's photo).
MAX_IMAGE_PIXELS = 40_000_000
#: What Pillow's readers raise on damaged files, besides OSError (found by fuzzing).
_PILLOW_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    NotImplementedError,
    RecursionError,
    MemoryError,
    Image.DecompressionBombError,
)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG, JPEG (or any format Pillow reads) as a uint8 array for :func:`canvas_to_mnist`.

    Returns (H, W) for grayscale images, (H, W, 4) for images with transparency
    and (H, W, 3) otherwise. A photo's EXIF orientation is applied; 16-bit and
    floating-point grayscale images are scaled to 0-255 by their largest value.
    In floating-point images, pixels that are not numbers (NaN, infinite) are
    no ink: they are read as 0.

    Raises
    ------
    ImageReadError
        The file is missing, is not an image Pillow can read, is damaged, has more
        than :data:`MAX_IMAGE_PIXELS` pixels (checked before it is decoded), or
        holds no finite pixel at all.
    """
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageReadError(
                    f"{path}: {width}×{height} pixels is more than the "
                    f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels digitnet reads; make it smaller"
                )
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                im.mode == "P" and "transparency" in im.info
            ):
                return np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                return _scaled_to_bytes(np.asarray(im, dtype=np.float64), path)
            if im.mode in ("L", "1"):
                return np.asarray(im.convert("L"), dtype=np.uint8).copy()
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image that can be read") from None
    except _PILLOW_ERRORS as e:  # truncated or damaged files, in any of Pillow's formats
        text = " ".join(str(e).split())[:120] or type(e).__name__
        raise ImageReadError(f"{path}: cannot read the image ({text})") from None


def _scaled_to_bytes(a: np.ndarray, path) -> np.ndarray:
    """Grey levels of any range → 0-255 by the largest finite value; non-finite ones → 0."""
    finite = np.isfinite(a)
    if not finite.any():
        raise ImageReadError(f"{path}: no pixel of this image is a finite number")
    if not finite.all():
        a = np.where(finite, a, 0.0)
    peak = a.max()
    a = a / peak * 255.0 if peak > 0 else a
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# The canvas's picture (the app's Draw tab)
# --------------------------------------------------------------------------
#: The largest PNG accepted from the canvas: a 280×280 RGBA picture takes at most
#: about 315 kB even stored without compression (the canvas sends 5-30 kB).
MAX_CANVAS_PNG_BYTES = 1_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_canvas_png(data: bytes, size: tuple[int, int] = (280, 280)) -> np.ndarray:
    """The canvas's PNG as a uint8 RGBA array (H, W, 4), if it is the canvas's size.

    The drawing component sends its picture as a PNG of exactly the size it was
    given (``toDataURL`` with ``multiplier=1``, whatever the screen's pixel ratio),
    but anyone can send any PNG in its place: a 12000×12000 one (a message under
    1 MB) would take 4 s of CPU and 2 GB to decode. The width and height are read
    from the PNG's header, and anything but ``size`` (width, height) is refused
    before a pixel is decoded.

    Raises
    ------
    CanvasError
        Not a PNG, too many bytes, not ``size``, or damaged.
    """
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_CANVAS_PNG_BYTES:
        raise CanvasError("the drawing sent is not a canvas picture (too large)")
    # The signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian).
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        raise CanvasError("the drawing sent is not a canvas picture (not a PNG)")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if (width, height) != tuple(size):
        raise CanvasError(
            f"the drawing sent is {width}×{height} pixels, not the canvas's {size[0]}×{size[1]}"
        )
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
            if im.size != tuple(size):  # the header read by Pillow, to be sure
                raise CanvasError("the drawing sent is not the canvas's size")
            pixels = np.asarray(im.convert("RGBA"), dtype=np.uint8)
    except CanvasError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        raise CanvasError(f"the drawing sent cannot be read ({type(e).__name__})") from None
    return pixels
