"""How good is a model: accuracy, per-class accuracy, confusion matrix, calibration."""

from __future__ import annotations

import numpy as np

from .budget import eval_rows
from .functions import N_CLASSES, check_labels
from .model import MLP


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """10×10 counts: row = true digit, column = predicted digit."""
    cm = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each digit: the diagonal over the row sums (NaN for an absent digit)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def expected_calibration_error(
    probabilities: np.ndarray, y_true: np.ndarray, n_bins: int = 15
) -> float:
    """ECE: the gap between confidence and accuracy, averaged over confidence bins.

    The top probability of each image is its confidence; images are grouped in
    ``n_bins`` equal-width bins of confidence, and each bin's |accuracy − mean
    confidence| is weighted by its share of the images (Guo et al., 2017).
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def evaluate(model: MLP, images: np.ndarray, labels: np.ndarray) -> dict:
    """Score a model on a labelled set.

    Returns
    -------
    dict
        ``accuracy``, ``n``, ``per_class`` (10 accuracies), ``confusion`` (10×10
        list), ``ece`` (expected calibration error), ``errors`` (indices of the
        misclassified images), ``predictions``, ``probabilities``.
    """
    # in chunks whose inputs and activations take at most budget.EVAL_BYTES, however wide
    rows = eval_rows(model.layer_sizes, model.dtype.itemsize)
    chunks = [model.predict_proba(images[i : i + rows]) for i in range(0, len(images), rows)]
    probabilities = np.concatenate(chunks) if chunks else model.predict_proba(images)
    predictions = probabilities.argmax(axis=1)
    labels = check_labels(labels, len(predictions))
    cm = confusion_matrix(labels, predictions)
    return {
        "accuracy": float(np.mean(predictions == labels)) if len(labels) else float("nan"),
        "n": len(labels),
        "per_class": [float(a) for a in per_class_accuracy(cm)],
        "confusion": cm.tolist(),
        "ece": expected_calibration_error(probabilities, labels),
        "errors": np.flatnonzero(predictions != labels),
        "predictions": predictions,
        "probabilities": probabilities,
    }
