"""Teach a trained network someone's handwriting without making it forget MNIST.

A handful of a visitor's own drawings, each with the label they gave it, are
mixed with a *replay* sample of MNIST training images -- so the network keeps
seeing what it already knows while it learns the new examples -- and the copy of
the model is trained on that mix for a few epochs with a small learning rate.
The visitor's examples are repeated so that they make up about a quarter of
every epoch; optionally every image is slightly distorted each time it is seen
(see :mod:`digitnet.augment`).
"""

from __future__ import annotations

import numpy as np

from .functions import check_labels
from .model import MLP
from .train import Trainer

#: Gentle distortions for fine-tuning: the visitor's few examples, seen many times.
TEACH_AUGMENT = {"rotate": 8.0, "scale": 0.08, "shear": 0.1, "shift": 1.5}


def finetune(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    replay_images: np.ndarray,
    replay_labels: np.ndarray,
    *,
    replay: int = 3000,
    share: float = 0.25,
    epochs: int = 4,
    eta: float = 1e-4,
    augment: dict[str, float] | None = None,
    seed: int = 0,
) -> MLP:
    """Return a copy of ``model`` fine-tuned on ``images`` mixed with MNIST replay.

    Parameters
    ----------
    model : MLP
        A trained model; it is not changed.
    images : ndarray
        The new examples, (k, 28, 28) or (k, 784), uint8 or floats in [0, 1]
        (e.g. drawings through :func:`digitnet.preprocess.canvas_to_mnist`).
    labels : ndarray of int, shape (k,)
        Their correct digits.
    replay_images, replay_labels : ndarray
        Where the replay sample is drawn from (MNIST training images, uint8).
    replay : int
        Replay images drawn (without replacement) for the mix.
    share : float
        Fraction of the mix made of the new examples (they are repeated to reach it).
    epochs : int
        Passes over the mix.
    eta : float
        Adam's learning rate: small, to move the weights only a little.
    augment : dict or None
        Distortions applied to every image as it is seen -- the replay digits
        too -- e.g. :data:`TEACH_AUGMENT`; ``None`` (the default) for none: on the
        shipped model, distorting the replay cost up to 0.6 points of MNIST test
        accuracy, more than the 0.5 the app allows.
    seed : int
        Seeds the replay sample, the shuffles and the distortions.

    Returns
    -------
    MLP
        The fine-tuned copy; ``metadata_["finetune"]`` says how it was made.
    """
    if not model.is_fitted:
        raise ValueError("finetune needs a trained model")
    images = _as_unit_floats(images)
    labels = check_labels(labels, len(images))
    if len(images) == 0:
        raise ValueError("finetune needs at least one example")
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1, got {share!r}")
    replay_images = np.asarray(replay_images).reshape(len(replay_images), -1)
    replay_labels = check_labels(replay_labels, len(replay_images))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(replay_images), size=min(replay, len(replay_images)), replace=False)
    repeats = max(1, round(share / (1 - share) * len(pick) / len(images)))
    X = np.concatenate([np.tile(images, (repeats, 1)), replay_images[pick] / np.float32(255)])
    y = np.concatenate([np.tile(labels, repeats), replay_labels[pick]])

    tuned = model.copy()
    original = tuned.get_params()
    history = tuned.history_
    tuned.set_params(
        optimizer="adam",
        eta=eta,
        schedule="constant",
        epochs=epochs,
        augment=augment,
        seed=seed,
        train_metrics="running",
        early_stopping=False,
    )
    tuned.optimizer_, tuned.history_ = None, []
    tuned.random_state_ = np.random.RandomState(seed)
    Trainer(tuned, X, y, overlap_eval=False).run()
    tuned.metadata_ = dict(model.metadata_)
    tuned.metadata_["finetune"] = {
        "examples": len(images),
        "replay": len(pick),
        "repeats": repeats,
        "epochs": epochs,
        "eta": eta,
        "augment": augment,
        "history": tuned.history_,
    }
    tuned.metadata_.pop("metrics", None)  # no longer measured
    tuned.set_params(**{k: v for k, v in original.items() if k != "hidden"})
    tuned.history_, tuned.optimizer_ = history, None
    return tuned


def _as_unit_floats(images: np.ndarray) -> np.ndarray:
    """Images as float32 rows in [0, 1]."""
    images = np.asarray(images)
    rows = images.reshape(len(images), -1) if images.ndim > 1 else images.reshape(1, -1)
    if rows.shape[1] != 784:
        raise ValueError(f"images must be 28x28, got shape {images.shape}")
    if rows.dtype == np.uint8:
        return rows.astype(np.float32) / np.float32(255)
    rows = rows.astype(np.float32)
    if not (np.isfinite(rows).all() and rows.min() >= 0 and rows.max() <= 1):
        raise ValueError("float images must hold values in [0, 1]")
    return rows
