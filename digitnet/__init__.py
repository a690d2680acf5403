"""digitnet: a handwritten-digit recognizer -- a multilayer perceptron written
from scratch in NumPy, faithful to Raschka's NeuralNetMLP and faster.

>>> import digitnet
>>> model = digitnet.load_model()              # the shipped weights
>>> images, labels = digitnet.load_mnist("test")
>>> model.score(images, labels)                # doctest: +SKIP
0.98...

The pieces, one module per idea: :mod:`digitnet.functions` (the article's
math: activations, losses, labels; NumPy only), :mod:`digitnet.model` (forward
and backward pass), :mod:`digitnet.optimizers` (update rules),
:mod:`digitnet.train` (the training loop), :mod:`digitnet.presets`,
:mod:`digitnet.data` (MNIST), :mod:`digitnet.geometry` (the 28×28 field,
resampling, dilation), :mod:`digitnet.preprocess` (canvas drawings → MNIST-like
images), :mod:`digitnet.augment`, :mod:`digitnet.tta`, :mod:`digitnet.blas`
(BLAS thread limits), :mod:`digitnet.weights` (saving and loading),
:mod:`digitnet.evaluate`, :mod:`digitnet.explain` (why the network answered;
gradient check), :mod:`digitnet.finetune` (teaching it new examples),
:mod:`digitnet.cli`. The Streamlit app lives in
:mod:`digitnet.app`; nothing else imports Streamlit.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .errors import DataError, DigitnetError, DownloadError, TrainingDiverged, WeightsError
from .model import MLP
from .train import Progress, Trainer
from .version import __version__
from .weights import load_model, save_model

if TYPE_CHECKING:
    import numpy as np


def load_mnist(
    split: str, data_dir: str | os.PathLike[str] | None = None, **kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (uint8, N×28×28) and labels; see :func:`digitnet.data.load_mnist`."""
    from .data import load_mnist as _load

    return _load(split, data_dir, **kwargs)


__all__ = [
    "MLP",
    "DataError",
    "DigitnetError",
    "DownloadError",
    "Progress",
    "Trainer",
    "TrainingDiverged",
    "WeightsError",
    "__version__",
    "load_mnist",
    "load_model",
    "save_model",
]
