"""Tests for digitnet.preprocess: canvas drawings → MNIST-like 28×28 images.

The fixtures are drawn here with Pillow (white strokes on black, like the app's
canvas). Tests marked ``mnist`` need the full MNIST files (DIGITNET_DATA); the
drawings test needs the pen-drawn development set and the shipped weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet import preprocess as pp
from digitnet import tta
from digitnet.errors import DigitnetError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "weights" / "digitnet.npz"

# A "2": a hook, a diagonal and a base, in a 280×280 canvas's coordinates.
TWO = [[(95, 90), (120, 65), (165, 62), (190, 95), (180, 135), (100, 215), (200, 215)]]
# A "4" in two strokes, off-centre.
FOUR = [[(60, 40), (35, 140), (120, 140)], [(100, 60), (100, 200)]]


def draw(strokes, size=(280, 280), width=18, scale=1.0, offset=(0.0, 0.0)) -> np.ndarray:
    """White strokes with round ends on black, antialiased (drawn at 4×, then averaged)."""
    ss = 4
    big = Image.new("L", (size[1] * ss, size[0] * ss), 0)
    d = ImageDraw.Draw(big)
    r = width * ss / 2
    for stroke in strokes:
        pts = [((x * scale + offset[0]) * ss, (y * scale + offset[1]) * ss) for x, y in stroke]
        if len(pts) > 1:
            d.line(pts, fill=255, width=round(width * ss), joint="curve")
        for x, y in pts:
            d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(big.reduce(ss))


@pytest.fixture(scope="module")
def two() -> np.ndarray:
    return draw(TWO)


def extent(image: np.ndarray, threshold: float = 0.3) -> tuple[int, int]:
    """(height, width) of the pixels >= threshold."""
    rows, cols = (
        np.flatnonzero((image >= threshold).any(1)),
        np.flatnonzero((image >= threshold).any(0)),
    )
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


# --------------------------------------------------------------------------- #
# The output
# --------------------------------------------------------------------------- #
def test_output_dtype_shape_range(two):
    image = pp.canvas_to_mnist(two)
    assert image.shape == (28, 28)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() > 0.9  # full ink in the middle of the strokes, as in MNIST
    assert image[0].max() == image[-1].max() == image[:, 0].max() == image[:, -1].max() == 0


@pytest.mark.parametrize("strokes", [TWO, FOUR, [[(140, 40), (140, 240)]]], ids=["2", "4", "1"])
def test_center_of_mass_is_at_the_center(strokes):
    image = pp.canvas_to_mnist(draw(strokes))
    cy, cx = pp.center_of_mass(image)
    assert abs(cy - pp.MNIST_CENTER) < 0.5 and abs(cx - pp.MNIST_CENTER) < 0.5


@pytest.mark.parametrize("normalize_stroke", [True, False])
def test_longest_side_is_20_pixels(two, normalize_stroke):
    image = pp.canvas_to_mnist(two, normalize_stroke=normalize_stroke)
    assert max(extent(image)) in (19, 20, 21)


def test_a_one_stays_tall_and_thin():
    image = pp.canvas_to_mnist(draw([[(140, 40), (140, 240)]]))
    height, width = extent(image)
    assert height in (19, 20, 21)
    assert width <= 4  # a 2-3 px stroke, not stretched to a square


def test_the_position_on_the_canvas_does_not_matter():
    a = pp.canvas_to_mnist(draw(FOUR))
    b = pp.canvas_to_mnist(draw(FOUR, offset=(130.0, 60.0)))
    np.testing.assert_allclose(a, b, atol=0.02)


# --------------------------------------------------------------------------- #
# Formats and polarity give the same result
# --------------------------------------------------------------------------- #
def _formats(white_on_black: np.ndarray) -> dict[str, np.ndarray]:
    g = white_on_black
    black_on_white = 255 - g
    opaque = np.full_like(g, 255)
    return {
        "gray dark-on-light": black_on_white,
        "rgb light-on-dark": np.stack([g, g, g], axis=-1),
        "rgb dark-on-light": np.stack([black_on_white] * 3, axis=-1),
        "rgba opaque canvas": np.stack([g, g, g, opaque], axis=-1),
        # A drawing layer: black strokes whose coverage is in the alpha channel.
        "rgba transparent, black ink": np.stack([np.zeros_like(g)] * 3 + [g], axis=-1),
        "rgba transparent, blue ink": np.stack(
            [np.zeros_like(g), np.zeros_like(g), opaque, g], axis=-1
        ),
        "gray + alpha": np.stack([np.zeros_like(g), g], axis=-1),
        "gray (H, W, 1)": g[:, :, None],
    }


@pytest.mark.parametrize("name", list(_formats(np.zeros((2, 2), np.uint8))))
def test_formats_and_polarities_agree(two, name):
    expected = pp.canvas_to_mnist(two)
    got = pp.canvas_to_mnist(_formats(two)[name])
    np.testing.assert_allclose(got, expected, atol=0.01)


def test_grey_paper_and_coloured_ink():
    """A photo-like image: blue ink on grey paper reads like white on black."""
    g = draw(TWO).astype(np.float32) / 255
    paper, ink = np.array([200.0, 195.0, 190.0]), np.array([20.0, 30.0, 120.0])
    rgb = paper * (1 - g[..., None]) + ink * g[..., None]
    got = pp.canvas_to_mnist(np.round(rgb).astype(np.uint8))
    assert np.abs(got - pp.canvas_to_mnist(draw(TWO))).mean() < 0.01


def test_background_can_be_told(two):
    np.testing.assert_allclose(
        pp.canvas_to_mnist(255 - two, background="light"), pp.canvas_to_mnist(two), atol=1e-6
    )
    assert pp.canvas_to_mnist(two, background="dark").shape == (28, 28)


@pytest.mark.parametrize("shape", [(100, 150), (600, 600), (28, 28), (1200, 900)])
def test_any_canvas_size(shape):
    h, w = shape
    s = min(h, w) / 280
    canvas = draw(TWO, size=shape, width=18 * s, scale=s)
    image = pp.canvas_to_mnist(canvas)
    assert image.shape == (28, 28)
    expected = pp.canvas_to_mnist(draw(TWO))
    tolerance = 0.12 if min(shape) < 50 else 0.03  # 28 px: little left to resample
    assert np.abs(image - expected).mean() < tolerance


# --------------------------------------------------------------------------- #
# Stroke width
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("width", [4, 10, 18, 30])
def test_stroke_width_estimate(width):
    canvas = draw([[(40, 60), (240, 200)]], width=width).astype(np.float32) / 255
    estimate = pp.stroke_width(canvas)
    # round ends add to the perimeter: 2·area/perimeter is slightly below the width
    assert 0.85 * width <= estimate <= 1.08 * width


@pytest.mark.parametrize("pen", [6, 12, 30, 40])
def test_stroke_width_is_normalised(pen):
    """Drawn with a thin or a fat pen, the digit comes out with MNIST-like strokes."""
    steps = pp.preprocess_steps(draw(TWO, width=pen))
    lo, hi = pp.STROKE_RANGE
    final = steps.stroke_target * pp.MNIST_BOX / max(steps.crop.shape)
    assert lo * 0.9 <= final <= hi * 1.1
    reference = pp.canvas_to_mnist(draw(TWO, width=18))
    assert np.abs(steps.image - reference).mean() < 0.06


def test_without_normalisation_the_pen_width_is_kept():
    thin = pp.canvas_to_mnist(draw(TWO, width=6), normalize_stroke=False)
    fat = pp.canvas_to_mnist(draw(TWO, width=40), normalize_stroke=False)
    assert fat.sum() > 2 * thin.sum()


# --------------------------------------------------------------------------- #
# Empty, too small, not a digit
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280), np.uint8),
        np.full((280, 280), 255, np.uint8),  # a blank white page
        np.zeros((280, 280, 4), np.uint8),  # a transparent drawing layer
        np.full((50, 70, 3), 128, np.uint8),
    ],
    ids=["black", "white", "transparent", "grey"],
)
def test_empty_canvas(canvas):
    with pytest.raises(pp.EmptyCanvas, match="Nothing is drawn"):
        pp.canvas_to_mnist(canvas)
    steps = pp.preprocess_steps(canvas)
    assert steps.status == "empty" and steps.image is None and steps.bbox is None
    assert steps.message == pp.MESSAGES["empty"]


def test_empty_canvas_is_a_value_error_and_a_digitnet_error():
    assert issubclass(pp.EmptyCanvas, ValueError)
    assert issubclass(pp.EmptyCanvas, DigitnetError)


def test_faint_noise_is_empty():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, size=(280, 280), dtype=np.uint8)  # below the ink threshold
    assert pp.preprocess_steps(noise).status == "empty"


def test_a_dot_is_too_small_but_still_an_image():
    canvas = np.zeros((280, 280), np.uint8)
    canvas[140:143, 100:103] = 255
    steps = pp.preprocess_steps(canvas)
    assert steps.status == "too_small"
    assert "small" in steps.message
    assert steps.image.shape == (28, 28) and steps.image.max() > 0
    assert pp.canvas_to_mnist(canvas).shape == (28, 28)


def test_a_full_ink_canvas_is_not_a_digit_but_still_an_image():
    full = np.full((280, 280), 255, np.uint8)
    steps = pp.preprocess_steps(full, background="dark")  # the app's canvas: black background
    assert steps.status == "not_a_digit"
    assert "doesn't look like a digit" in steps.message
    assert steps.image.shape == (28, 28) and steps.image.max() > 0.9
    # A transparent drawing layer painted all over, and a scribble leaving a dark margin.
    layer = np.zeros((280, 280, 4), np.uint8)
    layer[..., 3] = 255
    layer[:2, :, 3] = 0
    assert pp.preprocess_steps(layer).status == "not_a_digit"
    scribble = np.zeros((280, 280), np.uint8)
    scribble[20:-20, 20:-20] = 255
    assert pp.preprocess_steps(scribble).status == "not_a_digit"


def test_a_normal_digit_is_ok(two):
    steps = pp.preprocess_steps(two)
    assert steps.status == "ok"
    assert steps.message == pp.MESSAGES["ok"]


# --------------------------------------------------------------------------- #
# The intermediate steps
# --------------------------------------------------------------------------- #
def test_steps_hold_every_stage(two):
    s = pp.preprocess_steps(two)
    assert s.ink.shape == (280, 280) and s.ink.dtype == np.float32
    x0, y0, x1, y1 = s.bbox
    # TWO spans x 95..200, y 62..215, plus the 9 px half pen
    assert abs(x0 - 86) <= 2 and abs(x1 - 209) <= 2 and abs(y0 - 53) <= 3 and abs(y1 - 224) <= 2
    assert s.crop.shape == (y1 - y0, x1 - x0)
    assert 15 <= s.stroke_width <= 19  # the pen is 18 px
    assert max(s.scaled.shape) in (20, 21, 22, 23, 24)
    assert max(extent(s.scaled)) in (19, 20, 21)
    cx, cy = s.center_of_mass
    dx, dy = s.shift
    assert abs(cx + dx - pp.MNIST_CENTER) <= 0.2 and abs(cy + dy - pp.MNIST_CENTER) <= 0.2
    np.testing.assert_array_equal(s.image, pp.canvas_to_mnist(two))


def test_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        pp.canvas_to_mnist(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="shaped"):
        pp.canvas_to_mnist(np.zeros((28, 28, 5), np.uint8))
    with pytest.raises(ValueError, match="shaped"):
        pp.canvas_to_mnist(np.zeros((0, 28), np.uint8))
    with pytest.raises(ValueError, match="background"):
        pp.canvas_to_mnist(np.zeros((28, 28), np.uint8), background="white")


# --------------------------------------------------------------------------- #
# load_image
# --------------------------------------------------------------------------- #
def test_load_image_formats(tmp_path, two):
    Image.fromarray(two).save(tmp_path / "gray.png")
    Image.fromarray(np.stack([two] * 3, -1)).save(tmp_path / "rgb.png")
    rgba = np.stack([np.zeros_like(two)] * 3 + [two], -1)
    Image.fromarray(rgba).save(tmp_path / "layer.png")
    Image.fromarray(255 - two).convert("RGB").save(tmp_path / "photo.jpg", quality=90)
    Image.fromarray(two).convert("P").save(tmp_path / "palette.gif")
    Image.fromarray(two.astype(np.uint16) * 257).save(tmp_path / "deep.png")

    expected = pp.canvas_to_mnist(two)
    for name, shape in [
        ("gray.png", (280, 280)),
        ("rgb.png", (280, 280, 3)),
        ("layer.png", (280, 280, 4)),
        ("photo.jpg", (280, 280, 3)),
        ("palette.gif", (280, 280, 3)),
        ("deep.png", (280, 280)),
    ]:
        a = pp.load_image(tmp_path / name)
        assert a.dtype == np.uint8 and a.shape == shape, name
        tolerance = 0.03 if name.endswith((".jpg", ".gif")) else 0.01
        assert np.abs(pp.canvas_to_mnist(a) - expected).mean() < tolerance, name


def test_load_image_errors(tmp_path):
    with pytest.raises(pp.ImageReadError, match="no such file"):
        pp.load_image(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(pp.ImageReadError, match=r"notes\.png"):
        pp.load_image(tmp_path / "notes.png")
    assert issubclass(pp.ImageReadError, DigitnetError)


# --------------------------------------------------------------------------- #
# Parity with the training data, and the real drawings
# --------------------------------------------------------------------------- #
def _model_for_tests(mnist):
    """The shipped weights if present, else a quick model trained here (a few seconds)."""
    import digitnet
    from digitnet import presets

    if SHIPPED.exists():
        return digitnet.load_model(SHIPPED)
    (X, y), _ = presets.split(mnist["X"], mnist["y"])
    return presets.build("fast").fit(X, y)


@pytest.mark.mnist
def test_mnist_through_the_canvas_keeps_the_accuracy(mnist):
    """MNIST test digits enlarged 10× onto a 280×280 canvas come back as MNIST digits."""
    model = _model_for_tests(mnist)
    X, y = mnist["X_test"][:2000], mnist["y_test"][:2000]
    canvases = [
        np.asarray(Image.fromarray(x).resize((280, 280), Image.Resampling.BILINEAR)) for x in X
    ]
    through = np.stack([pp.canvas_to_mnist(c) for c in canvases])
    original, after = model.score(X, y), model.score(through, y)
    assert after >= 0.99 * original, (original, after)


@pytest.mark.slow
def test_shipped_model_reads_the_pen_drawings(pendigits):
    if not SHIPPED.exists():
        pytest.skip(f"no shipped weights at {SHIPPED} yet")
    import digitnet

    model = digitnet.load_model(SHIPPED)
    images, labels = pendigits["images"], pendigits["labels"]
    inputs = np.stack([pp.canvas_to_mnist(im) for im in images])
    # As the app reads them (the drawing and six distorted copies, averaged). Weights
    # trained with the best preset have seen these 30 writers' strokes (issue 10), so
    # this is no accuracy on strangers (that is the writer-level cross-validation in
    # benchmarks/RESULTS.md); it guards the preprocessing and the weights against
    # regressions: weights trained on MNIST alone read 97.5% of them, 97.4% one view.
    assert (tta.predict(model, inputs) == labels).mean() >= 0.97
    assert model.score(inputs, labels) >= 0.955
