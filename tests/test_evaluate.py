"""Tests for digitnet.evaluate: accuracy, per-digit accuracy, confusion matrix, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.evaluate import (
    confusion_matrix,
    evaluate,
    expected_calibration_error,
    per_class_accuracy,
)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    cm = confusion_matrix(np.array([0, 0, 1, 9, 9, 9]), np.array([0, 1, 1, 9, 9, 4]))
    assert cm.shape == (10, 10) and cm.sum() == 6
    assert cm[0, 0] == 1 and cm[0, 1] == 1 and cm[1, 1] == 1 and cm[9, 9] == 2 and cm[9, 4] == 1


def test_per_class_accuracy_is_the_recall_and_nan_for_absent_digits():
    cm = confusion_matrix(np.array([0, 0, 1, 9, 9, 9]), np.array([0, 1, 1, 9, 9, 4]))
    recall = per_class_accuracy(cm)
    assert recall[0] == 0.5 and recall[1] == 1.0 and recall[9] == pytest.approx(2 / 3)
    assert np.isnan(recall[2])


def test_calibration_error_is_zero_when_confidence_matches_accuracy():
    # four images at 75% confidence, three of them right: calibrated
    p = np.full((4, 10), 0.25 / 9)
    p[:, 3] = 0.75
    assert expected_calibration_error(p, np.array([3, 3, 3, 1])) == pytest.approx(0.0)
    # the same confidence with every answer wrong: off by the full 75%
    assert expected_calibration_error(p, np.array([1, 1, 1, 1])) == pytest.approx(0.75)


def test_evaluate_reports_every_figure_consistently(small_model, tiny_data):
    X, y = tiny_data
    report = evaluate(small_model, X, y)
    predictions = small_model.predict(X)
    assert report["n"] == len(y)
    assert report["accuracy"] == pytest.approx(np.mean(predictions == y))
    np.testing.assert_array_equal(report["predictions"], predictions)
    np.testing.assert_array_equal(report["errors"], np.flatnonzero(predictions != y))
    assert np.asarray(report["confusion"]).sum() == len(y)
    np.testing.assert_allclose(report["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert 0.0 <= report["ece"] <= 1.0
    with pytest.raises(ValueError, match="labels"):
        evaluate(small_model, X, y[:-1])
