"""Tests for digitnet.geometry: resampling, dilation and erosion, the centre of mass."""

from __future__ import annotations

import numpy as np

from digitnet import geometry


def test_identity_sampling_grid_reads_the_image_back():
    images = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
    ys, xs = np.mgrid[0:28, 0:28].astype(np.float32)
    src_x = np.tile(xs.ravel(), (32, 1))
    src_y = np.tile(ys.ravel(), (32, 1))
    out = geometry.bilinear_sample(images, src_x, src_y)
    np.testing.assert_allclose(out, images.reshape(32, 784), atol=1e-6)


def test_sampling_outside_reads_black():
    images = np.ones((1, 28, 28), np.float32)
    src = np.array([[-5.0, -1.0, 28.0, 40.0, -0.5, 27.5]], np.float32)
    out = geometry.bilinear_sample(images, src.copy(), np.full_like(src, 10.0))
    np.testing.assert_allclose(out, [[0.0, 0.0, 0.0, 0.0, 0.5, 0.5]], atol=1e-6)


def test_cross_filter():
    x = np.zeros((1, 5, 5), np.float32)
    x[0, 2, 2] = 1.0
    dilated = geometry.cross_filter(x, np.maximum)[0]
    assert dilated.sum() == 5 and dilated[1, 2] == dilated[2, 1] == 1 and dilated[1, 1] == 0
    full = np.ones((1, 5, 5), np.float32)
    eroded = geometry.cross_filter(full, np.minimum)[0]
    assert eroded[0].sum() == 0 and eroded[1:-1, 1:-1].min() == 1  # the border counts as black


def test_bilinear_sample_is_exact_for_batches_beyond_float32_indexing():
    """Flat indices are computed in float32, exact up to 2**24: a larger batch is cut,
    so its last images read what its first ones do."""
    n = geometry.FLOAT32_EXACT // (32 * 32) + 50  # just past the cut (28 + 2·2 padding)
    rng = np.random.default_rng(0)
    image = rng.random((1, 28, 28), dtype=np.float32)
    ys, xs = np.mgrid[0:28, 0:28].astype(np.float32)
    src_x = np.broadcast_to(xs.ravel() + 0.25, (n, 784)).copy()
    src_y = np.broadcast_to(ys.ravel() - 0.5, (n, 784)).copy()
    out = geometry.bilinear_sample(np.broadcast_to(image, (n, 28, 28)), src_x, src_y)
    assert out.shape == (n, 784)
    np.testing.assert_array_equal(out[-1], out[0])
    one = geometry.bilinear_sample(
        image, (xs.ravel() + 0.25)[None].copy(), (ys.ravel() - 0.5)[None].copy()
    )
    np.testing.assert_array_equal(out[0], one[0])


def test_grow_thickens_and_thins():
    image = np.zeros((20, 20), np.float32)
    image[5:15, 9:11] = 1.0  # a 2 px bar
    assert geometry.grow(image, 0.0) is image
    thick = geometry.grow(image, 1.0)
    assert thick.sum() > image.sum() and thick.max() == 1.0
    thin = geometry.grow(geometry.grow(image, 2.0), -2.0)  # closing: back to about the bar
    np.testing.assert_allclose(thin.sum(), image.sum(), rtol=0.15)
    half = geometry.grow(image, 0.5)
    assert image.sum() < half.sum() < thick.sum()


def test_center_of_mass_weighs_the_intensities():
    image = np.zeros((28, 28), np.float32)
    image[3, 5] = 1.0
    image[3, 9] = 3.0  # three times the ink: the mean column is 5·¼ + 9·¾ = 8
    assert geometry.center_of_mass(image) == (3.0, 8.0)
    assert geometry.center_of_mass(np.zeros((28, 28))) == (13.5, 13.5)  # no ink: the middle


def test_mnist_constants_describe_the_field():
    assert geometry.N_PIXELS == geometry.MNIST_SIZE**2 == 784
    assert geometry.MNIST_CENTER == geometry.MNIST_SIZE / 2
    assert geometry.MNIST_BOX < geometry.MNIST_SIZE
