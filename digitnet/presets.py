"""Named training recipes.

``seed``
    The article exactly: 784-100-10, sigmoid hidden and output units, binary
    cross-entropy + L2 (λ = 0.01), plain SGD (η = 0.0005) on minibatches of 100,
    100 epochs, weights normal(0, 0.1), zero biases, seed 1, inputs in [−1, 1],
    cost and training accuracy measured on the whole training set after each epoch.
``fast``
    The live-demo default: reaches the article's 97.16% in a few seconds.
``best``
    Trains the shipped weights: two hidden layers (512 and 256 ReLU units),
    trained on randomly distorted digits, on styled ones, and on real pen
    strokes drawn on the app's canvas (the pen-drawn data set's 30 writers) so
    that it reads drawings as well as MNIST. A wider 1024-512-256 network read the pen-drawn
    digits no better (97.2-97.8% against 97.2-97.5% over seeds, with test-time
    augmentation) at 2.7× the cost per drawing.

All three train on the first 55,000 MNIST training images and validate on the
last 5,000, as the article does; ``best`` adds styled digits made from its
training part and renders of the pen-drawn strokes (:func:`training_set`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .geometry import N_PIXELS
from .model import MLP

if TYPE_CHECKING:
    from .data import PenStrokes

#: Images and their labels: ``(X, y)``.
Labelled = tuple[np.ndarray, np.ndarray]

N_TRAIN = 55_000  # the article: first 55,000 training images train, the last 5,000 validate

PRESETS: dict[str, dict[str, Any]] = {
    "seed": {
        "hidden": 100,
        "activation": "sigmoid",
        "output": "sigmoid",
        "l2": 0.01,
        "optimizer": "sgd",
        "eta": 0.0005,
        "epochs": 100,
        "batch_size": 100,
        "seed": 1,
        "init": "normal",
        "init_scale": 0.1,
        "input_scaling": "symmetric",
        "train_metrics": "full",
    },
    "fast": {
        "hidden": 128,
        "activation": "relu",
        "output": "softmax",
        "l2": 0.0,
        "optimizer": "nesterov",
        "eta": 0.002,
        "momentum": 0.9,
        "schedule": "cosine",
        "epochs": 3,
        "batch_size": 128,
        "seed": 1,
        "init": "he",
        "input_scaling": "unit",
        "train_metrics": "running",
    },
    "best": {
        "hidden": [512, 256],
        "activation": "relu",
        "output": "softmax",
        "l2": 0.0,
        "optimizer": "nesterov",
        "eta": 0.0005,
        "momentum": 0.9,
        "schedule": "cosine",
        "epochs": 30,
        "batch_size": 128,
        "seed": 1,
        "init": "he",
        "input_scaling": "unit",
        "augment": {"rotate": 12, "scale": 0.12, "shear": 0.2, "shift": 1, "elastic": 1.5},
        "train_metrics": "running",
    },
}

#: Renders of every digit of the pen-drawn digits' writers' file (7,494 digits by 30
#: writers, as strokes: :func:`digitnet.data.load_pen_strokes`) added to the training set,
#: each drawn on the app's canvas with its own pen, size, slant and hand
#: (:func:`digitnet.strokes.training_images`) and read through the app's pipeline; and
#: :data:`digitnet.strokes.RESTYLED_COPIES` more of each 1, 7 and 9 redrawn in other
#: writers' styles (:func:`digitnet.strokes.restyle`).
PEN_STROKE_COPIES = {"seed": 0, "fast": 0, "best": 2}

#: Extra training digits in the handwriting conventions MNIST lacks (European 1s with a
#: lead-in stroke, crossed 7s, curled 9s; :func:`digitnet.augment.handwriting_styles`):
#: the share of each such digit's training images that get a styled twin.
STYLED_DIGITS = {"seed": 0.0, "fast": 0.0, "best": 0.6}

DESCRIPTIONS = {
    "seed": "the article exactly: 784-100-10 sigmoid, BCE + L2, SGD η=0.0005, 100 epochs",
    "fast": "the live-demo default: the article's accuracy in a few seconds",
    "best": "the shipped weights: two hidden layers, trained on distorted digits, "
    "European-style 1s, 7s and 9s, and 7,494 real pen-drawn digits by 30 writers drawn on "
    "the canvas, to read drawings (minutes; downloads the pen-drawn digits, about 1 MB)",
}


def preset_params(name: str) -> dict[str, Any]:
    """The hyperparameters of a preset (a copy)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def build(name: str, **overrides: Any) -> MLP:
    """An untrained :class:`MLP` configured by preset ``name``, with ``overrides`` applied.

    >>> build("seed", precision="float64").layer_sizes
    (784, 100, 10)
    """
    params = preset_params(name)
    params.update({k: v for k, v in overrides.items() if v is not None})
    model = MLP(**params)
    model.metadata_["preset"] = name
    return model


def split(
    images: np.ndarray, labels: np.ndarray, n_train: int = N_TRAIN
) -> tuple[Labelled, Labelled]:
    """The article's split: ``(X_train, y_train), (X_valid, y_valid)``, first ``n_train`` rows
    for training and the rest for validation (for a smaller set, the same 55:5 ratio)."""
    if len(images) <= n_train:
        n_train = len(images) * 11 // 12
    return (images[:n_train], labels[:n_train]), (images[n_train:], labels[n_train:])


def training_set(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = 1,
    pen_strokes: PenStrokes | None = None,
) -> tuple[Labelled, Labelled]:
    """The training and validation sets of preset ``name`` from MNIST's training images:
    the article's split, plus the preset's styled digits (:data:`STYLED_DIGITS`) and
    renders of the pen-drawn digits ``pen_strokes`` (:data:`PEN_STROKE_COPIES`; a
    :class:`digitnet.data.PenStrokes`, required by ``best``) appended to the training
    part. Returns ``(X_train, y_train), (X_valid, y_valid)``; the validation part is
    MNIST's alone."""
    (X, y), valid = split(images, labels)
    fraction = STYLED_DIGITS.get(name, 0.0)
    if fraction:
        X, y = with_styled_digits(X, y, fraction, seed=seed)
    copies = PEN_STROKE_COPIES.get(name, 0)
    if copies:
        if pen_strokes is None:
            raise ValueError(
                f"the {name!r} preset also trains on the pen-drawn digits' strokes: "
                "pass pen_strokes=digitnet.data.load_pen_strokes()"
            )
        X, y = with_pen_strokes(X, y, pen_strokes, copies, seed=seed)
    return (X, y), valid


def with_pen_strokes(
    images: np.ndarray,
    labels: np.ndarray,
    pen_strokes: PenStrokes,
    copies: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Labelled:
    """``images`` (as (N, 784) rows) and ``labels`` with ``copies`` renders of every
    digit of ``pen_strokes`` appended (:func:`digitnet.strokes.training_images`)."""
    from .strokes import training_images

    X_pen, y_pen = training_images(pen_strokes, copies, seed=seed, progress=progress)
    X = np.concatenate([np.asarray(images).reshape(-1, N_PIXELS), X_pen.reshape(-1, N_PIXELS)])
    return X, np.concatenate([labels, y_pen.astype(labels.dtype)])


def with_styled_digits(
    images: np.ndarray, labels: np.ndarray, fraction: float, seed: int = 1
) -> Labelled:
    """``images`` (as (N, 784) rows) and ``labels`` with styled twins of a ``fraction`` of
    their 1s, 7s and 9s appended (:func:`digitnet.augment.handwriting_styles`)."""
    from .augment import handwriting_styles

    X_styled, y_styled = handwriting_styles(images, labels, fraction=fraction, seed=seed)
    X = np.concatenate([np.asarray(images).reshape(-1, N_PIXELS), X_styled.reshape(-1, N_PIXELS)])
    return X, np.concatenate([labels, y_styled.astype(labels.dtype)])
