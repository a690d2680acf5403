"""Test-time augmentation: the distorted views, and the averaged probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitnet import MLP, tta


def _bar(angle_deg: float = 0.0) -> np.ndarray:
    """A 20 px bar through the centre (14, 14), ``angle_deg`` from vertical, uint8."""
    a = np.deg2rad(angle_deg)
    dx, dy = 10 * np.sin(a), 10 * np.cos(a)
    im = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(im).line(
        [((14 - dx) * 4, (14 - dy) * 4), ((14 + dx) * 4, (14 + dy) * 4)], fill=255, width=10
    )
    return np.asarray(im.reduce(4))


def _moments(image: np.ndarray):
    """Centre of mass (x, y), the angle of the main axis from vertical (degrees, positive
    when the top leans right), and the spread along it (std, px)."""
    a = np.asarray(image, np.float64).reshape(28, 28)
    yy, xx = np.mgrid[0:28, 0:28]
    m = a.sum()
    cx, cy = (a * xx).sum() / m, (a * yy).sum() / m
    cov = np.cov(np.stack([xx.ravel() - cx, yy.ravel() - cy]), aweights=a.ravel())
    values, vectors = np.linalg.eigh(cov)
    vx, vy = vectors[:, -1]
    if vy > 0:
        vx, vy = -vx, -vy  # pointing up (y grows downwards)
    return cx, cy, np.degrees(np.arctan2(vx, -vy)), np.sqrt(values[-1])


def test_variants_shapes_and_the_image_itself():
    bar = _bar()
    out = tta.variants(bar)
    assert out.shape == (1, 1 + len(tta.DISTORTIONS), 784) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], bar.ravel() / 255, atol=1e-6)  # first: as it is
    assert out.min() >= 0.0 and out.max() <= 1.0
    many = tta.variants(np.stack([bar, _bar(20)]))
    assert many.shape == (2, 7, 784)
    np.testing.assert_allclose(many[0], out[0], atol=1e-6)
    np.testing.assert_allclose(tta.variants(bar / 255.0), out, atol=1e-5)  # floats in [0, 1]
    np.testing.assert_array_equal(tta.variants(bar.ravel()), out)  # (784,)
    assert tta.variants(bar, distortions=()).shape == (1, 1, 784)


def test_each_distortion_does_what_it_says():
    bar = _bar()
    cx, cy, angle, spread = _moments(bar)
    assert abs(angle) < 1
    rows = {d: v for d, v in zip(tta.DISTORTIONS, tta.variants(bar)[0, 1:])}
    for (degrees, scale, shear), image in rows.items():
        x, y, a, s = _moments(image)
        assert abs(x - cx) < 0.3 and abs(y - cy) < 0.3  # about the centre
        if degrees:  # turned clockwise on screen by +degrees (the top moves right)
            assert a == pytest.approx(degrees, abs=1.5)
            assert s == pytest.approx(spread, rel=0.03)
        elif scale != 1.0:
            assert abs(a) < 1
            assert s == pytest.approx(spread * scale, rel=0.03)
        else:  # a horizontal shear x' = x + shear · y leans the top left for shear > 0
            assert a == pytest.approx(-np.degrees(np.arctan(shear)), abs=1.5)


def test_variants_refuse_wrong_shapes():
    for bad in (np.zeros((27, 27)), np.zeros((2, 28)), np.zeros((2, 3, 28, 28)), np.zeros(100)):
        with pytest.raises(ValueError, match="shaped"):
            tta.variants(bad)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (300, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 300)
    return MLP(hidden=32, epochs=2, seed=0).fit(X, y)


def test_predict_proba_is_the_mean_over_the_views(model):
    images = np.stack([_bar(), _bar(15), _bar(-30)])
    probs = tta.predict_proba(model, images)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    views = tta.variants(images)
    by_hand = np.stack([model.predict_proba(v).mean(axis=0) for v in views])
    np.testing.assert_allclose(probs, by_hand, rtol=1e-5, atol=1e-7)  # padding changes nothing
    np.testing.assert_array_equal(tta.predict(model, images), probs.argmax(axis=1))
    np.testing.assert_allclose(
        tta.predict_proba(model, images, distortions=()), model.predict_proba(images), rtol=1e-6
    )
    np.testing.assert_array_equal(tta.predict_proba(model, images), probs)  # deterministic
    one = tta.predict_proba(model, images[0])
    np.testing.assert_allclose(one, probs[:1], rtol=1e-5, atol=1e-7)


def test_large_sets_are_read_in_chunks_with_the_same_result(model):
    """Thousands of images (beyond bilinear_sample's float32 indexing, and tta.CHUNK)
    give each image exactly what it gets alone."""
    rng = np.random.default_rng(1)
    singles = np.stack([_bar(a) for a in (0, 12, -25, 40)])
    images = singles[rng.integers(0, 4, 3000)]
    views = tta.variants(images)
    for i in (0, 1499, 2999):
        np.testing.assert_array_equal(views[i], tta.variants(images[i])[0])
    probs = tta.predict_proba(model, images)
    assert probs.shape == (3000, 10)
    alone = tta.predict_proba(model, singles)
    rows = np.array([np.flatnonzero((singles == im).all(axis=(1, 2)))[0] for im in images])
    np.testing.assert_allclose(probs, alone[rows], rtol=1e-5, atol=1e-7)


def test_empty_and_misshapen_input(model):
    assert tta.predict_proba(model, np.zeros((0, 784), np.uint8)).shape == (0, 10)
    assert tta.variants(np.zeros((0, 28, 28))).shape == (0, 7, 784)
    for bad in (np.zeros((2, 28)), np.zeros((27, 27)), np.zeros(100)):
        with pytest.raises(ValueError, match="shaped"):
            tta.predict_proba(model, bad)
