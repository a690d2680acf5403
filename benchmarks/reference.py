"""The baseline digitnet descends from: Raschka's ``NeuralNetMLP``.

A faithful, plain reimplementation of the multilayer perceptron of *Python
Machine Learning*, chapter 12 (784-100-10, sigmoid hidden and output units,
binary cross-entropy summed over the one-hot outputs plus an L2 term, plain
minibatch SGD, float64 throughout), including the article's per-epoch
evaluation: after every epoch ``fit`` runs a forward pass over the whole
training set for the cost and a second one (``predict``) for the training
accuracy. That is wasteful, and it is what we measure against.

Two additions, neither of which changes what is computed:

* ``fit(..., epoch_callback=None)`` calls ``epoch_callback(epoch_index, self)``
  after each epoch's evaluation (the benchmark computes test accuracy there),
  and ``fit`` records the wall time of its own work per epoch in
  ``epoch_times_`` (split into ``epoch_train_times_`` for the minibatch SGD
  and ``epoch_eval_times_`` for the article's evaluation), excluding the
  callback.
* ``fit(..., max_minibatches=None)`` returns right after that many minibatch
  updates in total (used by a unit test comparing weights).

This module depends only on NumPy and the standard library. Run it as a
script to reproduce the article's figures::

    python -m benchmarks.reference [--epochs N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Test accuracy the article reports after 100 epochs.
ARTICLE_TEST_ACCURACY = 0.9716


def default_data_dir() -> Path:
    """Return ``$DIGITNET_DATA`` if set, else ``../shared/data/mnist`` from the repo root."""
    env = os.environ.get("DIGITNET_DATA")
    if env:
        return Path(env)
    return (Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "mnist").resolve()


def load_mnist(path: str | os.PathLike[str], kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load one MNIST split as the article does, from the gzipped IDX files.

    Parameters
    ----------
    path : path-like
        Directory holding ``{kind}-images-idx3-ubyte.gz`` and
        ``{kind}-labels-idx1-ubyte.gz``.
    kind : {"train", "t10k"}
        Which split.

    Returns
    -------
    images : numpy.ndarray
        ``(n, 784)`` float64, scaled to [-1, 1] by ``((X / 255.) - .5) * 2``.
    labels : numpy.ndarray
        ``(n,)`` uint8.
    """
    labels_path = Path(path) / f"{kind}-labels-idx1-ubyte.gz"
    images_path = Path(path) / f"{kind}-images-idx3-ubyte.gz"
    with gzip.open(labels_path, "rb") as lbpath:
        raw = lbpath.read()
    magic, n = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
    if magic != 2049:
        raise ValueError(f"{labels_path}: not an IDX label file (magic {magic})")
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8)
    with gzip.open(images_path, "rb") as imgpath:
        raw = imgpath.read()
    magic = int.from_bytes(raw[0:4], "big")
    num, rows, cols = (int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in (1, 2, 3))
    if magic != 2051 or num != n or labels.shape[0] != n:
        raise ValueError(f"{images_path}: not an IDX image file matching {labels_path}")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(num, rows * cols)
    images = ((images / 255.0) - 0.5) * 2
    return images, labels


def load_scaled_mnist(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST split and scaled as in the article.

    Parameters
    ----------
    data_dir : path-like, optional
        Directory with the four gzipped IDX files; defaults to
        :func:`default_data_dir`.

    Returns
    -------
    X_train, y_train : numpy.ndarray
        The first 55,000 training images (float64, in [-1, 1]) and labels.
    X_valid, y_valid : numpy.ndarray
        The last 5,000 training images and labels.
    X_test, y_test : numpy.ndarray
        The 10,000 test images and labels.
    """
    data_dir = default_data_dir() if data_dir is None else data_dir
    X_train, y_train = load_mnist(data_dir, kind="train")
    X_test, y_test = load_mnist(data_dir, kind="t10k")
    return (
        X_train[:55000],
        y_train[:55000],
        X_train[55000:],
        y_train[55000:],
        X_test,
        y_test,
    )


class NeuralNetMLP:
    """Feedforward neural network / multi-layer perceptron classifier.

    Parameters
    ----------
    n_hidden : int
        Number of hidden units.
    l2 : float
        Lambda value for L2 regularization (0 disables it).
    epochs : int
        Number of passes over the training set.
    eta : float
        Learning rate.
    shuffle : bool
        Shuffle the training data every epoch to prevent cycles.
    minibatch_size : int
        Number of training examples per minibatch.
    seed : int or None
        Random seed for initializing weights and shuffling.

    Attributes
    ----------
    eval_ : dict
        Cost, training accuracy and validation accuracy after each epoch.
    epoch_times_ : list of float
        Wall seconds of ``fit``'s own work per epoch (training plus the
        article's evaluation), excluding the epoch callback.
    epoch_train_times_, epoch_eval_times_ : list of float
        The two parts of ``epoch_times_``.
    """

    def __init__(
        self,
        n_hidden: int = 30,
        l2: float = 0.0,
        epochs: int = 100,
        eta: float = 0.001,
        shuffle: bool = True,
        minibatch_size: int = 1,
        seed: int | None = None,
    ) -> None:
        self.random = np.random.RandomState(seed)
        self.n_hidden = n_hidden
        self.l2 = l2
        self.epochs = epochs
        self.eta = eta
        self.shuffle = shuffle
        self.minibatch_size = minibatch_size

    def _onehot(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        """Encode labels into one-hot representation.

        Parameters
        ----------
        y : numpy.ndarray, shape (n_examples,)
            Target values.
        n_classes : int
            Number of classes.

        Returns
        -------
        numpy.ndarray, shape (n_examples, n_classes)
        """
        onehot = np.zeros((n_classes, y.shape[0]))
        for idx, val in enumerate(y.astype(int)):
            onehot[val, idx] = 1.0
        return onehot.T

    def _sigmoid(self, z: np.ndarray) -> np.ndarray:
        """Compute the logistic function (sigmoid)."""
        return 1.0 / (1.0 + np.exp(-np.clip(z, -250, 250)))

    def _forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Compute the forward propagation step.

        Returns
        -------
        z_h, a_h, z_out, a_out : numpy.ndarray
            Net input and activation of the hidden and output layers.
        """
        # step 1: net input of hidden layer
        # [n_examples, n_features] dot [n_features, n_hidden] -> [n_examples, n_hidden]
        z_h = np.dot(X, self.w_h) + self.b_h

        # step 2: activation of hidden layer
        a_h = self._sigmoid(z_h)

        # step 3: net input of output layer
        # [n_examples, n_hidden] dot [n_hidden, n_classlabels] -> [n_examples, n_classlabels]
        z_out = np.dot(a_h, self.w_out) + self.b_out

        # step 4: activation output layer
        a_out = self._sigmoid(z_out)

        return z_h, a_h, z_out, a_out

    def _compute_cost(self, y_enc: np.ndarray, output: np.ndarray) -> float:
        """Compute the cost function.

        Parameters
        ----------
        y_enc : numpy.ndarray, shape (n_examples, n_labels)
            One-hot encoded class labels.
        output : numpy.ndarray, shape (n_examples, n_output_units)
            Activation of the output layer (forward propagation).

        Returns
        -------
        float
            Regularized cost.
        """
        L2_term = self.l2 * (np.sum(self.w_h**2.0) + np.sum(self.w_out**2.0))

        term1 = -y_enc * (np.log(output))
        term2 = (1.0 - y_enc) * np.log(1.0 - output)
        cost = np.sum(term1 - term2) + L2_term
        return cost

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : numpy.ndarray, shape (n_examples, n_features)
            Input layer with original features.

        Returns
        -------
        numpy.ndarray, shape (n_examples,)
            Predicted class labels.
        """
        _z_h, _a_h, z_out, _a_out = self._forward(X)
        y_pred = np.argmax(z_out, axis=1)
        return y_pred

    def fit(
        self,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_valid: np.ndarray,
        y_valid: np.ndarray,
        epoch_callback: Callable[[int, NeuralNetMLP], object] | None = None,
        max_minibatches: int | None = None,
    ) -> NeuralNetMLP:
        """Learn weights from training data.

        Parameters
        ----------
        X_train : numpy.ndarray, shape (n_examples, n_features)
            Input layer with original features.
        y_train : numpy.ndarray, shape (n_examples,)
            Target class labels.
        X_valid : numpy.ndarray, shape (n_examples, n_features)
            Sample features for validation during training.
        y_valid : numpy.ndarray, shape (n_examples,)
            Sample labels for validation during training.
        epoch_callback : callable, optional
            Called as ``epoch_callback(epoch_index, self)`` after each epoch's
            evaluation; its time is not counted in ``epoch_times_``.
        max_minibatches : int, optional
            Return right after this many minibatch updates in total (before
            the evaluation of a partial epoch).

        Returns
        -------
        self
        """
        n_output = np.unique(y_train).shape[0]  # number of class labels
        n_features = X_train.shape[1]

        ########################
        # Weight initialization
        ########################

        # weights for input -> hidden
        self.b_h = np.zeros(self.n_hidden)
        self.w_h = self.random.normal(loc=0.0, scale=0.1, size=(n_features, self.n_hidden))

        # weights for hidden -> output
        self.b_out = np.zeros(n_output)
        self.w_out = self.random.normal(loc=0.0, scale=0.1, size=(self.n_hidden, n_output))

        epoch_strlen = len(str(self.epochs))  # for progress formatting
        self.eval_ = {"cost": [], "train_acc": [], "valid_acc": []}
        self.epoch_times_: list[float] = []
        self.epoch_train_times_: list[float] = []
        self.epoch_eval_times_: list[float] = []
        n_minibatches = 0

        y_train_enc = self._onehot(y_train, n_output)

        # iterate over training epochs
        for i in range(self.epochs):
            t_start = time.perf_counter()

            # iterate over minibatches
            indices = np.arange(X_train.shape[0])

            if self.shuffle:
                self.random.shuffle(indices)

            for start_idx in range(
                0, indices.shape[0] - self.minibatch_size + 1, self.minibatch_size
            ):
                batch_idx = indices[start_idx : start_idx + self.minibatch_size]

                # forward propagation
                _z_h, a_h, _z_out, a_out = self._forward(X_train[batch_idx])

                ##################
                # Backpropagation
                ##################

                # [n_examples, n_classlabels]
                delta_out = a_out - y_train_enc[batch_idx]

                # [n_examples, n_hidden]
                sigmoid_derivative_h = a_h * (1.0 - a_h)

                # [n_examples, n_classlabels] dot [n_classlabels, n_hidden]
                # -> [n_examples, n_hidden]
                delta_h = np.dot(delta_out, self.w_out.T) * sigmoid_derivative_h

                # [n_features, n_examples] dot [n_examples, n_hidden]
                # -> [n_features, n_hidden]
                grad_w_h = np.dot(X_train[batch_idx].T, delta_h)
                grad_b_h = np.sum(delta_h, axis=0)

                # [n_hidden, n_examples] dot [n_examples, n_classlabels]
                # -> [n_hidden, n_classlabels]
                grad_w_out = np.dot(a_h.T, delta_out)
                grad_b_out = np.sum(delta_out, axis=0)

                # Regularization and weight updates
                delta_w_h = grad_w_h + self.l2 * self.w_h
                delta_b_h = grad_b_h  # bias is not regularized
                self.w_h -= self.eta * delta_w_h
                self.b_h -= self.eta * delta_b_h

                delta_w_out = grad_w_out + self.l2 * self.w_out
                delta_b_out = grad_b_out  # bias is not regularized
                self.w_out -= self.eta * delta_w_out
                self.b_out -= self.eta * delta_b_out

                n_minibatches += 1
                if max_minibatches is not None and n_minibatches >= max_minibatches:
                    return self

            t_trained = time.perf_counter()

            #############
            # Evaluation
            #############

            # Evaluation after each epoch during training
            _z_h, _a_h, _z_out, a_out = self._forward(X_train)

            cost = self._compute_cost(y_enc=y_train_enc, output=a_out)

            y_train_pred = self.predict(X_train)
            y_valid_pred = self.predict(X_valid)

            train_acc = float(np.sum(y_train == y_train_pred)) / X_train.shape[0]
            valid_acc = float(np.sum(y_valid == y_valid_pred)) / X_valid.shape[0]

            sys.stderr.write(
                f"\r{i + 1:0{epoch_strlen}d}/{self.epochs} | Cost: {cost:.2f} "
                f"| Train/Valid Acc.: {train_acc * 100:.2f}%/{valid_acc * 100:.2f}% "
            )
            sys.stderr.flush()

            self.eval_["cost"].append(cost)
            self.eval_["train_acc"].append(train_acc)
            self.eval_["valid_acc"].append(valid_acc)

            t_end = time.perf_counter()
            self.epoch_train_times_.append(t_trained - t_start)
            self.epoch_eval_times_.append(t_end - t_trained)
            self.epoch_times_.append(t_end - t_start)

            if epoch_callback is not None:
                epoch_callback(i, self)

        return self


def main(argv: list[str] | None = None) -> int:
    """Train the article's network and report accuracy and timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs (default 100)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory with the MNIST .gz files (default $DIGITNET_DATA or ../shared/data/mnist)",
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    X_train, y_train, X_valid, y_valid, X_test, y_test = load_scaled_mnist(args.data_dir)
    load_s = time.perf_counter() - t0
    print(
        f"data: train {X_train.shape}, valid {X_valid.shape}, test {X_test.shape}, "
        f"{X_train.dtype}, loaded in {load_s:.2f} s"
    )

    nn = NeuralNetMLP(
        n_hidden=100,
        l2=0.01,
        epochs=args.epochs,
        eta=0.0005,
        minibatch_size=100,
        shuffle=True,
        seed=1,
    )
    test_acc: list[float] = []
    # On a terminal, start each line with \r to overwrite fit's own progress line.
    lead = "\r" if sys.stdout.isatty() and sys.stderr.isatty() else ""

    def on_epoch(i: int, model: NeuralNetMLP) -> None:
        acc = float(np.mean(model.predict(X_test) == y_test))
        test_acc.append(acc)
        print(
            f"{lead}epoch {i + 1:3d} | cost {model.eval_['cost'][-1]:10.2f} | "
            f"train {model.eval_['train_acc'][-1]:.2%} | "
            f"valid {model.eval_['valid_acc'][-1]:.2%} | test {acc:.2%} | "
            f"sgd {model.epoch_train_times_[-1]:.3f} s + eval {model.epoch_eval_times_[-1]:.3f} s",
            flush=True,
        )

    t0 = time.perf_counter()
    nn.fit(X_train, y_train, X_valid, y_valid, epoch_callback=on_epoch)
    wall = time.perf_counter() - t0
    sys.stderr.write("\n")

    train_s = float(np.sum(nn.epoch_train_times_))
    eval_s = float(np.sum(nn.epoch_eval_times_))
    n = len(nn.epoch_times_)
    print()
    print(f"test accuracy after {n} epochs: {test_acc[-1]:.2%}")
    print(
        f"fit time: {train_s + eval_s:.1f} s = SGD {train_s:.1f} s + article's evaluation "
        f"{eval_s:.1f} s (median per epoch: SGD {np.median(nn.epoch_train_times_):.3f} s, "
        f"evaluation {np.median(nn.epoch_eval_times_):.3f} s); wall incl. test-accuracy "
        f"callback {wall:.1f} s"
    )
    hit = next((i for i, a in enumerate(test_acc) if a >= ARTICLE_TEST_ACCURACY), None)
    if hit is None:
        print(f"test accuracy never reached {ARTICLE_TEST_ACCURACY:.2%}")
    else:
        print(
            f"first epoch with test accuracy >= {ARTICLE_TEST_ACCURACY:.2%}: {hit + 1} "
            f"({test_acc[hit]:.2%}), after {np.sum(nn.epoch_times_[: hit + 1]):.1f} s of fit "
            f"(SGD alone {np.sum(nn.epoch_train_times_[: hit + 1]):.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
