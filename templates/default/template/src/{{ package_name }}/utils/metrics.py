"""Classification metrics on NumPy arrays, the same for every framework."""

from __future__ import annotations

import numpy as np


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Share of predictions equal to the labels."""
    if len(labels) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(np.asarray(labels) == np.asarray(predictions)))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def macro_f1(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """F1 score averaged over classes, each class weighing the same."""
    matrix = confusion_matrix(labels, predictions, num_classes)
    true_positives = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    denominator = predicted + actual
    f1 = np.divide(
        2 * true_positives, denominator, out=np.zeros(num_classes), where=denominator > 0
    )
    return float(f1.mean())
