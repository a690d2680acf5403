"""Tests for digitnet.augment: random distortions of training minibatches.

Speed is not tested here (benchmarks/drawings.py measures it).
"""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import augment
from digitnet.augment import Augmenter, validate_augment

FULL = {"rotate": 12, "scale": 0.12, "shear": 0.2, "shift": 2, "thickness": 0.5, "elastic": 1.0}


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    """32 blurry random blobs and bars, uint8 (32, 784)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.zeros((32, 28, 28))
    for i in range(32):
        for cy, cx in rng.uniform(7, 21, size=(3, 2)):
            images[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6.0)
    images = np.clip(images, 0, 1)
    return np.round(images * 255).astype(np.uint8).reshape(32, 784)


def bar(horizontal: bool) -> np.ndarray:
    """A 17×3 px bar centred on pixel (14, 14), the centre of the distortions, uint8 (1, 784)."""
    image = np.zeros((28, 28), np.uint8)
    if horizontal:
        image[13:16, 6:23] = 255
    else:
        image[6:23, 13:16] = 255
    return image.reshape(1, 784)


def test_output_shape_dtype_range(batch):
    out = Augmenter(FULL, seed=0)(batch)
    assert out.shape == (32, 784) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, batch / 255.0)  # it did distort


def test_accepts_28x28_and_float_images(batch):
    a = Augmenter(FULL, seed=3)(batch)
    b = Augmenter(FULL, seed=3)(batch.reshape(32, 28, 28))
    c = Augmenter(FULL, seed=3)(batch.astype(np.float32) / 255)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c, atol=1e-6)
    assert Augmenter(FULL, seed=0)(batch[:0]).shape == (0, 784)


def test_deterministic_for_a_seed(batch):
    a1, a2 = Augmenter(FULL, seed=7), Augmenter(FULL, seed=7)
    first = a1(batch)
    np.testing.assert_array_equal(first, a2(batch))
    np.testing.assert_array_equal(a1(batch), a2(batch))  # the streams stay in step
    assert not np.array_equal(first, a1(batch))  # a new draw every call
    assert not np.array_equal(first, Augmenter(FULL, seed=8)(batch))


@pytest.mark.parametrize(
    "spec",
    [{}, {key: 0 for key in FULL}, {"rotate": 0.0, "shift": 0}],
    ids=["empty", "all zero", "some zero"],
)
def test_zero_strength_is_the_identity(batch, spec):
    np.testing.assert_allclose(Augmenter(spec, seed=0)(batch), batch / 255.0, atol=1e-6)


def test_rotating_a_horizontal_bar_by_90_degrees_gives_a_vertical_bar():
    aug = Augmenter({"rotate": 90}, seed=0)
    aug.rng = _FixedUniform(1.0)  # draw the largest angle: exactly +90 degrees
    out = aug(bar(horizontal=True))
    np.testing.assert_allclose(out, bar(horizontal=False) / 255.0, atol=1e-5)


class _FixedUniform:
    """A stand-in Generator whose uniform(low, high) always returns low + f·(high − low)."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def uniform(self, low, high, size=None):
        value = low + self.fraction * (high - low)
        return np.full(size, value, dtype=np.float64)


def test_shift_moves_the_image():
    aug = Augmenter({"shift": 3}, seed=0)
    aug.rng = _FixedUniform(1.0)  # +3 px right and down
    out = aug(bar(horizontal=True)).reshape(28, 28)
    expected = np.zeros((28, 28))
    expected[16:19, 9:26] = 1.0
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_scale_keeps_the_centre_and_grows_the_bar():
    aug = Augmenter({"scale": 0.5}, seed=0)
    aug.rng = _FixedUniform(1.0)  # ×1.5
    out = aug(bar(horizontal=True)).reshape(28, 28)
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert 24 <= cols.size <= 27  # 17 px × 1.5
    assert abs((out.sum(axis=0) @ np.arange(28)) / out.sum() - 14) < 0.2


def test_thickness_thickens_and_thins():
    image = bar(horizontal=True)
    thick = Augmenter({"thickness": 1.0}, seed=0)
    thick.rng = _FixedUniform(1.0)  # u = +1: the full dilation
    thin = Augmenter({"thickness": 1.0}, seed=0)
    thin.rng = _FixedUniform(0.0)  # u = −1: the full erosion
    t, s = thick(image).reshape(28, 28), thin(image).reshape(28, 28)
    assert np.flatnonzero(t.max(axis=1) > 0.5).size == 5  # 3 px → 5 px
    assert t.sum() > image.sum() / 255
    assert np.flatnonzero(s.max(axis=1) > 0.5).size == 1  # 3 px → 1 px


def test_elastic_displacement_size():
    aug = Augmenter({"elastic": 2.0}, seed=0)
    dx, dy = aug._elastic_field(400)
    std = float(np.sqrt((dx**2 + dy**2).mean() / 2))
    assert 0.8 < std < 1.2  # of unit size: _warp multiplies it by spec["elastic"]
    assert np.abs(np.diff(dx.reshape(400, 28, 28), axis=2)).mean() < 0.5  # smooth


def test_distortions_keep_the_ink_roughly():
    """Small distortions move ink around but neither create nor destroy much of it."""
    rng = np.random.default_rng(1)
    images = np.zeros((64, 28, 28), np.uint8)
    for i in range(64):
        r0, c0 = rng.integers(8, 14, size=2)
        images[i, r0 : r0 + 8, c0 : c0 + 3] = 255
    out = Augmenter({"rotate": 10, "shear": 0.2, "shift": 1, "elastic": 1.0}, seed=0)(images)
    ratio = out.sum(axis=1) / (images.reshape(64, -1).sum(axis=1) / 255)
    assert ratio.min() > 0.7 and ratio.max() < 1.4, (ratio.min(), ratio.max())


# --------------------------------------------------------------------------- #
# validate_augment
# --------------------------------------------------------------------------- #
def test_validate_accepts_good_specs():
    validate_augment({})
    validate_augment(FULL)
    validate_augment({"rotate": np.float32(5), "shift": np.int64(1)})


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"rotation": 10}, r"unknown augmentation 'rotation'; valid keys: rotate, scale"),
        ({"rotate": -5}, r"augment\['rotate'\] must be >= 0"),
        ({"shift": -1}, r"augment\['shift'\] must be >= 0"),
        ({"scale": 1.5}, r"augment\['scale'\] must be <= 0.9"),
        ({"thickness": 2}, r"augment\['thickness'\] must be <= 1"),
        ({"rotate": "10"}, r"augment\['rotate'\] must be a number \(degrees\)"),
        ({"shear": True}, r"must be a number"),
        ({"elastic": float("nan")}, r"must be a number"),
        ([("rotate", 1)], r"augment must be a dict"),
    ],
)
def test_validate_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        validate_augment(spec)
    with pytest.raises(ValueError, match=message):
        Augmenter(spec, seed=0)


def test_the_model_validates_its_augment_spec():
    from digitnet import MLP

    with pytest.raises(ValueError, match="unknown augmentation"):
        MLP(augment={"blur": 1})
    assert MLP(augment={"rotate": 5}).augment == {"rotate": 5}


# --------------------------------------------------------------------------- #
# handwriting_styles
# --------------------------------------------------------------------------- #
def _stick_digits() -> tuple[np.ndarray, np.ndarray]:
    """Crude MNIST-like 1s, 7s and 9s (and 0s, which get no variant), 20 px tall."""
    from PIL import Image, ImageDraw

    def draw(lines, loop=None):
        im = Image.new("L", (112, 112), 0)
        d = ImageDraw.Draw(im)
        for line in lines:
            d.line([(x * 4, y * 4) for x, y in line], fill=255, width=10)
        if loop:
            d.ellipse([v * 4 for v in loop], outline=255, width=10)
        return np.asarray(im.reduce(4))

    one = draw([[(14, 4), (14, 24)]])
    seven = draw([[(8, 4), (20, 4), (13, 24)]])
    nine = draw([[(19, 9), (18, 24)]], loop=(9, 4, 20, 14))
    zero = draw([], loop=(8, 4, 20, 24))
    images = np.stack([one, seven, nine, zero] * 6)
    return images, np.array([1, 7, 9, 0] * 6)


def test_handwriting_styles_shapes_and_labels():
    images, labels = _stick_digits()
    out, out_labels = augment.handwriting_styles(images, labels, fraction=0.5, seed=0)
    assert out.dtype == np.uint8 and out.shape == (9, 28, 28)
    assert sorted(out_labels.tolist()) == [1, 1, 1, 7, 7, 7, 9, 9, 9]  # half of each, no 0s
    assert out_labels.dtype == labels.dtype
    for image in out:  # MNIST-like: 20 px box, centre of mass near (14, 14)
        rows = np.flatnonzero(image.max(axis=1) > 76)
        assert 18 <= rows[-1] - rows[0] + 1 <= 21
        mass = image.astype(float)
        cy = (mass.sum(axis=1) @ np.arange(28)) / mass.sum()
        assert abs(cy - 14) <= 1.0


def test_handwriting_styles_is_seeded():
    images, labels = _stick_digits()
    a = augment.handwriting_styles(images, labels, seed=3)
    b = augment.handwriting_styles(images, labels, seed=3)
    c = augment.handwriting_styles(images, labels, seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert len(augment.handwriting_styles(images, labels, fraction=0.0)[0]) == 0


def test_handwriting_styles_draw_the_right_thing():
    images, labels = _stick_digits()
    out, out_labels = augment.handwriting_styles(images, labels, fraction=1.0, seed=0)
    one, seven, nine = (out[out_labels == d][0].astype(float) / 255 for d in (1, 7, 9))
    # The 1 got a lead-in stroke: it is no longer a thin stick.
    cols = np.flatnonzero(one.max(axis=0) > 0.3)
    assert cols[-1] - cols[0] + 1 >= 6
    rows = np.flatnonzero(one.max(axis=1) > 0.3)
    x_top = np.flatnonzero(one[rows[0]] > 0.3).mean()  # the stem's top (it may be slanted)
    assert one[rows[0] + 2 : rows[0] + 10, : int(x_top) - 3].sum() > 1.0  # ink lower left of it
    # The 7 got a crossbar: a middle row has a long run of ink.
    assert max(np.count_nonzero(seven[r] > 0.5) for r in range(11, 18)) >= 6
    # The 9's tail moved left of where its stem was.
    original = images[2].astype(float) / 255
    low = slice(20, 25)
    assert (nine[low].sum(axis=0) @ np.arange(28)) / nine[low].sum() < (
        original[low].sum(axis=0) @ np.arange(28)
    ) / original[low].sum()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fraction": 1.5}, "fraction must be between 0 and 1"),
        ({"labels": np.zeros(3, int)}, "24 images but 3 labels"),
        ({"images": np.zeros((24, 28, 28), np.float32)}, "uint8"),
    ],
)
def test_handwriting_styles_rejects_bad_input(kwargs, message):
    images, labels = _stick_digits()
    args = {"images": images, "labels": labels, **kwargs}
    with pytest.raises(ValueError, match=message):
        augment.handwriting_styles(**args)


def test_nine_with_hook_ends_in_a_hook_to_the_left():
    images, _ = _stick_digits()
    nine = augment._enlarge(images[2])
    hooked = augment._nine_with_hook(nine, np.random.default_rng(0))
    pad = (hooked.shape[0] - nine.shape[0]) // 2

    def extent(a):
        rows = np.flatnonzero((a >= 128).any(axis=1))
        return rows[0], rows[-1]

    top, bottom = extent(nine)
    stem = np.flatnonzero(nine[bottom - 5] >= 128).mean() + pad  # the stem's end, x
    new_top, new_bottom = extent(hooked)
    assert new_top == top + pad  # the loop is untouched,
    assert new_bottom - new_top > 1.1 * (bottom - top)  # the digit grew taller
    ink = hooked >= 128
    # The lowest ink is left of the stem: the stroke turned left at the bottom,
    assert np.flatnonzero(ink[new_bottom - 3]).mean() < stem - 10
    # and went back up: ink well left of the stem, above the bottom, below the old end.
    left_of_stem = ink[bottom + pad + 1 :, : int(stem) - 25]
    rows = np.flatnonzero(left_of_stem.any(axis=1)) + bottom + pad + 1
    assert rows.size and rows[0] < new_bottom - 10


def test_styled_nines_take_every_form(monkeypatch):
    images, _ = _stick_digits()
    forms = ("_nine_with_hook", "_nine_with_curled_tail", "_nine_with_small_loop")
    calls = []
    for name in forms:
        real = getattr(augment, name)
        monkeypatch.setattr(
            augment, name, lambda big, rng, _f=real, _n=name: calls.append(_n) or _f(big, rng)
        )
    nines = np.stack([images[2]] * 60)
    augment.handwriting_styles(nines, np.full(60, 9), fraction=1.0, seed=0)
    assert len(calls) == 60
    for name in forms:  # a third each
        assert 8 <= calls.count(name) <= 32, (name, calls.count(name))


def _loop_rows(image: np.ndarray) -> np.ndarray:
    """Rows that cross the ink twice (both sides of a loop), of a 28×28 float image."""
    ink = image > 0.5
    crossings = (np.diff(ink.astype(np.int8), axis=1) == 1).sum(axis=1)
    return np.flatnonzero(crossings >= 2)


def test_small_loop_nine_keeps_a_closed_loop_on_a_longer_tail():
    from digitnet.preprocess import canvas_to_mnist, stroke_width

    images, _ = _stick_digits()
    original = images[2].astype(float) / 255
    rows = np.flatnonzero(original.max(axis=1) > 0.3)
    share = len(_loop_rows(original)) / (rows[-1] - rows[0] + 1)
    rng = np.random.default_rng(0)
    for _ in range(10):
        big = augment._nine_with_small_loop(augment._enlarge(images[2]), rng)
        nine = canvas_to_mnist(big, normalize_stroke=False)
        rows = np.flatnonzero(nine.max(axis=1) > 0.3)
        loop = _loop_rows(nine)
        assert loop.size >= 2  # still a closed loop, at the top
        assert loop.max() < rows[0] + 0.5 * (rows[-1] - rows[0])
        assert len(loop) / (rows[-1] - rows[0] + 1) < share  # on a longer tail
        # the pen was widened as the digit grew: it keeps about its width once rescaled
        assert 0.7 < stroke_width(nine) / stroke_width(original) < 1.4


def _strokes_drawn(monkeypatch) -> list:
    """Record every stroke the stylers add: (image before, p0, p1)."""
    drawn = []
    real = augment._stroke

    def record(big, p0, p1, width):
        drawn.append((big, p0, p1))
        return real(big, p0, p1, width)

    monkeypatch.setattr(augment, "_stroke", record)
    return drawn


def test_lead_ins_stay_a_ones(monkeypatch):
    """Lengths and angles in their ranges, and a long lead-in hugs the stem: a long stroke
    at a wide angle to an upright stem would be a 7's top bar."""
    images, _ = _stick_digits()
    monkeypatch.setattr(augment, "SLANT_SHARE", 0.0)  # the stick's upright stem
    drawn = _strokes_drawn(monkeypatch)
    big = augment._enlarge(images[0])
    top, bottom, *_ = augment._geometry(big)
    rng = np.random.default_rng(0)
    lengths = []
    for _ in range(200):
        drawn.clear()
        augment._one_with_lead_in(big, rng)
        _, (x0, y0), (x1, y1) = drawn[0]
        length = np.hypot(x1 - x0, y1 - y0) / (bottom - top)
        angle = np.degrees(np.arctan2(y1 - y0, x0 - x1))  # below the horizontal, leftward
        assert 0.3 - 1e-9 <= length <= 1.2 + 1e-9
        assert 20 - 1e-6 <= angle <= 65 + 1e-6
        if length > 1.1:  # long: it leans towards the (upright) stem
            assert angle >= 42, (length, angle)
        lengths.append(length)
    assert max(lengths) > 1.15 and min(lengths) < 0.35


def test_slanted_ones_lean_as_far_as_stem_slant_says(monkeypatch):
    images, _ = _stick_digits()
    monkeypatch.setattr(augment, "SLANT_SHARE", 1.0)
    drawn = _strokes_drawn(monkeypatch)
    rng = np.random.default_rng(1)
    slants = []
    for _ in range(20):
        drawn.clear()
        augment._one_with_lead_in(augment._enlarge(images[0]), rng)
        stem = drawn[0][0]  # the 1 before its lead-in
        top, bottom, _, _, pen = augment._geometry(stem)
        x_top = augment._ink_x(stem, top + pen, 0)
        x_bottom = augment._ink_x(stem, bottom - pen, 0)
        slant = (x_top - x_bottom) / (bottom - top - 2 * pen)
        assert augment.STEM_SLANT[0] - 0.05 <= slant <= augment.STEM_SLANT[1] + 0.05
        slants.append(slant)
    assert np.ptp(slants) > 0.15  # a range, not one slant


def test_seven_bars_cross_the_stem_from_the_middle_down(monkeypatch):
    images, _ = _stick_digits()
    drawn = _strokes_drawn(monkeypatch)
    big = augment._enlarge(images[1])
    top, bottom, *_ = augment._geometry(big)
    height = bottom - top
    rng = np.random.default_rng(2)
    heights, halves = [], []
    for _ in range(100):
        drawn.clear()
        augment._crossed_seven(big, rng)
        _, (x0, y0), (x1, y1) = drawn[0]
        at = ((y0 + y1) / 2 - top) / height
        stem = augment._ink_x(big, (y0 + y1) / 2, 0)
        assert x0 < stem < x1  # it crosses the stem
        assert 0.4 - 1e-9 <= at <= 0.75 + 1e-9
        half = np.hypot(x1 - x0, y1 - y0) / 2 / height
        assert 0.12 - 1e-9 <= half <= 0.3 + 1e-9
        heights.append(at)
        halves.append(half)
    assert max(heights) > 0.7 and min(halves) < 0.15  # low, short bars are drawn too
