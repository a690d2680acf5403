"""What a learner could pick instead of a from-scratch MLP: PyTorch and scikit-learn.

Each peer trains a 784-100-10 network epoch by epoch on the same 55,000
training images as the article's reference (``reference.py``), as float32.
Inputs are scaled to [0, 1] (``X / 255``, what a learner using either library
would do) unless ``input_scaling="article"`` asks for the article's
``((X / 255.) - .5) * 2``; with the latter both peers need markedly more
epochs. After every epoch the test accuracy on the 10,000 test images is
computed *outside* the timed region; the reported time is training only,
cumulative, up to the first epoch whose test accuracy reaches the target (the
article's 97.16% by default).

* PyTorch (CPU, ``torch.set_num_threads(2)``): ``Linear(784, 100)``, ReLU,
  ``Linear(100, 10)``, softmax cross-entropy, Adam (lr 1e-3), minibatches of
  100 drawn by slicing a per-epoch ``torch.randperm`` of the in-memory tensors
  (no ``DataLoader``).
* scikit-learn: ``MLPClassifier(hidden_layer_sizes=(100,))`` with its defaults
  (ReLU, Adam lr 1e-3, batch 200, alpha 1e-4); one ``partial_fit`` call is one
  shuffled epoch.

Both functions return ``None`` (with a warning) when their library is missing.
Run as a script for medians of repeated runs (repeat ``r`` uses seed
``--seed + r``, so the medians cover seed-to-seed variation too)::

    python -m benchmarks.peers [--repeats 3] [--max-epochs 30] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import machine_info, machine_info_markdown, median
from benchmarks.reference import ARTICLE_TEST_ACCURACY, load_scaled_mnist

Data = Sequence[np.ndarray] | Mapping[str, np.ndarray]

_SCALING = {"unit": "X/255", "article": "(X/255-.5)*2"}


def _unpack(data: Data) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``X_train, y_train, X_test, y_test`` from the accepted data layouts.

    ``data`` is a mapping with those keys, a 4-sequence in that order, or the
    6-tuple of :func:`benchmarks.reference.load_scaled_mnist` (whose validation
    arrays are dropped).
    """
    if isinstance(data, Mapping):
        return data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    if len(data) == 6:  # as returned by reference.load_scaled_mnist
        X_train, y_train, _X_valid, _y_valid, X_test, y_test = data
        return X_train, y_train, X_test, y_test
    if len(data) == 4:
        X_train, y_train, X_test, y_test = data
        return X_train, y_train, X_test, y_test
    raise ValueError("data must be a mapping or a 4- or 6-sequence of arrays")


def _scaled_float32(X: np.ndarray, input_scaling: str) -> np.ndarray:
    """Rescale images to float32 in [0, 1] (``"unit"``) or [-1, 1] (``"article"``).

    ``X`` is either raw ``uint8`` pixels or floats already in the article's
    [-1, 1] scaling, as :func:`benchmarks.reference.load_scaled_mnist` returns.
    """
    if input_scaling not in ("unit", "article"):
        raise ValueError(f"input_scaling must be 'unit' or 'article', not {input_scaling!r}")
    if X.dtype == np.uint8:
        unit = X.astype(np.float32) / np.float32(255.0)
        return unit if input_scaling == "unit" else (unit - np.float32(0.5)) * np.float32(2.0)
    if not np.issubdtype(X.dtype, np.floating):
        raise TypeError(f"expected uint8 pixels or article-scaled floats, got {X.dtype}")
    if input_scaling == "article":
        return np.ascontiguousarray(X, dtype=np.float32)
    return np.ascontiguousarray((X + 1.0) / 2.0, dtype=np.float32)


def _time_to_accuracy(
    train_one_epoch: Callable[[], None],
    test_accuracy: Callable[[], float],
    *,
    name: str,
    description: str,
    target: float,
    max_epochs: int,
    stop_at_target: bool,
) -> dict:
    """Alternate timed epochs and untimed evaluations; summarize as a result dict."""
    train_seconds: list[float] = []
    accuracies: list[float] = []
    seconds_to_target = epoch_at_target = None
    for epoch in range(1, max_epochs + 1):
        t0 = time.perf_counter()
        train_one_epoch()
        train_seconds.append(time.perf_counter() - t0)
        accuracies.append(test_accuracy())  # outside the timed region
        if epoch_at_target is None and accuracies[-1] >= target:
            epoch_at_target = epoch
            seconds_to_target = float(np.sum(train_seconds))
            if stop_at_target:
                break
    return {
        "name": name,
        "seconds_to_target": seconds_to_target,
        "epoch_at_target": epoch_at_target,
        "final_test_accuracy": accuracies[-1],
        "epochs": len(accuracies),
        "description": description,
        "target": target,
        "train_seconds_per_epoch": train_seconds,
        "test_accuracy_per_epoch": accuracies,
    }


def time_to_accuracy_torch(
    data: Data,
    target: float = ARTICLE_TEST_ACCURACY,
    max_epochs: int = 30,
    seed: int = 1,
    *,
    batch_size: int = 100,
    lr: float = 1e-3,
    threads: int = 2,
    input_scaling: str = "unit",
    stop_at_target: bool = False,
) -> dict | None:
    """Train a PyTorch 784-100-10 ReLU MLP with Adam until ``max_epochs``.

    Parameters
    ----------
    data : sequence or mapping of numpy.ndarray
        ``(X_train, y_train, X_valid, y_valid, X_test, y_test)`` as from
        :func:`benchmarks.reference.load_scaled_mnist`, or
        ``(X_train, y_train, X_test, y_test)``, or a mapping with those keys.
        The validation arrays are not used. Images are ``uint8`` pixels or
        floats in the article's [-1, 1] scaling.
    target : float
        Test accuracy to reach.
    max_epochs : int
        Number of epochs to train.
    seed : int
        Seed for the weight initialization and the shuffling.
    batch_size, lr : int, float
        Minibatch size and Adam learning rate.
    threads : int
        ``torch.set_num_threads`` during the run (restored afterwards).
    input_scaling : {"unit", "article"}
        Feed the network ``X / 255`` or the article's ``((X / 255.) - .5) * 2``.
    stop_at_target : bool
        Stop at the first epoch reaching ``target`` instead of ``max_epochs``.

    Returns
    -------
    dict or None
        Keys ``name``, ``seconds_to_target`` (cumulative training seconds,
        ``None`` if never reached), ``epoch_at_target``,
        ``final_test_accuracy``, ``epochs``, ``description``, plus ``target``,
        ``train_seconds_per_epoch`` and ``test_accuracy_per_epoch``. ``None``
        if PyTorch is not installed.
    """
    try:
        import torch
        from torch import nn
    except ImportError:
        warnings.warn("PyTorch is not installed; skipping the PyTorch peer", stacklevel=2)
        return None

    X_train, y_train, X_test, y_test = _unpack(data)
    X = torch.from_numpy(_scaled_float32(X_train, input_scaling))
    y = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    Xt = torch.from_numpy(_scaled_float32(X_test, input_scaling))
    yt = torch.from_numpy(np.asarray(y_test, dtype=np.int64))
    n = X.shape[0]

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        model = nn.Sequential(nn.Linear(X.shape[1], 100), nn.ReLU(), nn.Linear(100, 10))
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()

        def train_one_epoch() -> None:
            model.train()
            perm = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[idx]), y[idx])
                loss.backward()
                optimizer.step()

        def test_accuracy() -> float:
            model.eval()
            with torch.no_grad():
                # Count in integers: a float32 mean can round 9716/10000 below 0.9716.
                return int((model(Xt).argmax(dim=1) == yt).sum()) / len(yt)

        return _time_to_accuracy(
            train_one_epoch,
            test_accuracy,
            name="PyTorch",
            description=(
                f"PyTorch {torch.__version__}, 784-100-10, ReLU hidden, softmax cross-entropy, "
                f"Adam lr {lr:g}, batch {batch_size}, float32, inputs {_SCALING[input_scaling]}, "
                f"{threads} threads"
            ),
            target=target,
            max_epochs=max_epochs,
            stop_at_target=stop_at_target,
        )
    finally:
        torch.set_num_threads(previous_threads)


def time_to_accuracy_sklearn(
    data: Data,
    target: float = ARTICLE_TEST_ACCURACY,
    max_epochs: int = 30,
    seed: int = 1,
    *,
    input_scaling: str = "unit",
    stop_at_target: bool = False,
) -> dict | None:
    """Train scikit-learn's ``MLPClassifier((100,))`` one ``partial_fit`` epoch at a time.

    Parameters
    ----------
    data : sequence or mapping of numpy.ndarray
        As for :func:`time_to_accuracy_torch`.
    target : float
        Test accuracy to reach.
    max_epochs : int
        Number of epochs (``partial_fit`` calls) to train.
    seed : int
        ``random_state`` of the classifier (initialization and shuffling).
    input_scaling : {"unit", "article"}
        As for :func:`time_to_accuracy_torch`.
    stop_at_target : bool
        Stop at the first epoch reaching ``target`` instead of ``max_epochs``.

    Returns
    -------
    dict or None
        As for :func:`time_to_accuracy_torch`; ``None`` if scikit-learn is not
        installed.
    """
    try:
        import sklearn
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        warnings.warn("scikit-learn is not installed; skipping the sklearn peer", stacklevel=2)
        return None

    X_train, y_train, X_test, y_test = _unpack(data)
    X = _scaled_float32(X_train, input_scaling)
    Xt = _scaled_float32(X_test, input_scaling)
    classes = np.unique(y_train)
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=seed)

    def train_one_epoch() -> None:
        clf.partial_fit(X, y_train, classes=classes)

    def test_accuracy() -> float:
        return int(np.sum(clf.predict(Xt) == y_test)) / len(y_test)

    return _time_to_accuracy(
        train_one_epoch,
        test_accuracy,
        name="scikit-learn",
        description=(
            f"scikit-learn {sklearn.__version__} MLPClassifier(hidden_layer_sizes=(100,)), "
            "defaults: ReLU, Adam lr 0.001, batch 200, alpha 1e-4; one partial_fit per epoch; "
            f"float32, inputs {_SCALING[input_scaling]}"
        ),
        target=target,
        max_epochs=max_epochs,
        stop_at_target=stop_at_target,
    )


def summarize(runs: list[dict]) -> dict:
    """Medians over repeated runs of one peer.

    Parameters
    ----------
    runs : list of dict
        Results of one ``time_to_accuracy_*`` function (same settings, any seeds).

    Returns
    -------
    dict
        ``name``, ``description``, ``repeats``, ``reached`` (runs that reached
        the target), ``median_seconds_to_target`` (over the runs that reached
        it, ``None`` if none did), ``epochs_at_target`` (per run),
        ``median_epochs_x_epoch_seconds`` (epoch at target times the run's
        median epoch time, a figure robust to a few slowed-down epochs on a
        busy machine; median over runs), ``median_final_test_accuracy``,
        ``median_train_seconds_per_epoch``
        (over all epochs of all runs) and ``epochs``.
    """
    hit = [r["seconds_to_target"] for r in runs if r["seconds_to_target"] is not None]
    return {
        "name": runs[0]["name"],
        "description": runs[0]["description"],
        "repeats": len(runs),
        "reached": len(hit),
        "median_seconds_to_target": median(hit) if hit else None,
        "epochs_at_target": [r["epoch_at_target"] for r in runs],
        "median_epochs_x_epoch_seconds": (
            median(
                r["epoch_at_target"] * median(r["train_seconds_per_epoch"])
                for r in runs
                if r["epoch_at_target"] is not None
            )
            if hit
            else None
        ),
        "median_final_test_accuracy": median(r["final_test_accuracy"] for r in runs),
        "median_train_seconds_per_epoch": median(
            s for r in runs for s in r["train_seconds_per_epoch"]
        ),
        "epochs": runs[0]["epochs"],
    }


def results_markdown(summaries: list[dict], target: float) -> str:
    """Format peer summaries as a Markdown table (for ``common.write_section``)."""
    lines = [
        f"Time (training only, cumulative) to first reach {target:.2%} test accuracy; "
        "median of repeats (each repeat with its own seed). Test accuracy is evaluated after "
        "every epoch, outside the timing; 'epoch x s/epoch' is the epoch at target times the "
        "run's median epoch time, less sensitive to a busy machine.",
        "",
        "| peer | to target | epoch(s) at target | s/epoch | epoch x s/epoch "
        "| final test acc. | setup |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in summaries:
        if s["median_seconds_to_target"] is None:
            to_target = f"not reached in {s['epochs']} epochs"
            robust = "-"
        else:
            to_target = (
                f"{s['median_seconds_to_target']:.1f} s ({s['reached']}/{s['repeats']} runs)"
            )
            robust = f"{s['median_epochs_x_epoch_seconds']:.1f} s"
        epochs_at = ", ".join(str(e) for e in s["epochs_at_target"])
        lines.append(
            f"| {s['name']} | {to_target} | {epochs_at} "
            f"| {s['median_train_seconds_per_epoch']:.2f} | {robust} "
            f"| {s['median_final_test_accuracy']:.2%} after {s['epochs']} | {s['description']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run each peer ``--repeats`` times and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per peer (default 3)")
    parser.add_argument("--max-epochs", type=int, default=30, help="epochs per run (default 30)")
    parser.add_argument("--target", type=float, default=ARTICLE_TEST_ACCURACY)
    parser.add_argument("--seed", type=int, default=1, help="seed of repeat 1 (+1 per repeat)")
    parser.add_argument(
        "--input-scaling", choices=("unit", "article"), default="unit", help="default: unit"
    )
    parser.add_argument(
        "--peer", choices=("torch", "sklearn"), action="append", help="only these (repeatable)"
    )
    parser.add_argument(
        "--stop-at-target", action="store_true", help="stop each run once it reaches the target"
    )
    parser.add_argument("--torch-threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--write-results",
        type=Path,
        metavar="RESULTS_MD",
        help="also write the table into section 'peers' of this Markdown file",
    )
    args = parser.parse_args(argv)

    info = machine_info()
    print(machine_info_markdown(info))
    data = load_scaled_mnist(args.data_dir)
    peers = {
        "torch": functools.partial(time_to_accuracy_torch, threads=args.torch_threads),
        "sklearn": time_to_accuracy_sklearn,
    }
    summaries = []
    for key in args.peer or list(peers):
        runs = []
        for r in range(args.repeats):
            res = peers[key](
                data,
                target=args.target,
                max_epochs=args.max_epochs,
                seed=args.seed + r,
                input_scaling=args.input_scaling,
                stop_at_target=args.stop_at_target,
            )
            if res is None:
                print(f"{key}: not installed, skipped")
                break
            runs.append(res)
            to_target = (
                f"{res['seconds_to_target']:.2f} s at epoch {res['epoch_at_target']}"
                if res["seconds_to_target"] is not None
                else "target not reached"
            )
            print(
                f"{res['name']} run {r + 1}/{args.repeats} (seed {args.seed + r}): {to_target}; "
                f"final {res['final_test_accuracy']:.2%} after {res['epochs']} epochs; "
                f"epoch s: {' '.join(f'{s:.2f}' for s in res['train_seconds_per_epoch'])}",
                flush=True,
            )
        if runs:
            for r, run in enumerate(runs):
                print(
                    f"{run['name']} test acc per epoch (run {r + 1}): "
                    + " ".join(f"{a:.4f}" for a in run["test_accuracy_per_epoch"])
                )
            summaries.append(summarize(runs))

    print()
    table = results_markdown(summaries, args.target)
    print(table)
    if args.write_results and summaries:
        from benchmarks.common import write_section

        write_section(args.write_results, "peers", machine_info_markdown(info) + "\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
