"""The command line: ``python -m digitnet train | evaluate | predict | download | info``.

Every command takes ``--json`` to print one JSON object as the last line of
standard output. Bad input exits non-zero with a one-line message on standard
error, never a traceback. Progress bars are drawn on a terminal only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from .errors import DigitnetError, TrainingDiverged
from .model import PARAMETERS
from .presets import PRESETS
from .version import __version__
from .weights import STORED_DTYPES

if TYPE_CHECKING:
    from .data import ProgressCallback
    from .model import MLP
    from .train import Progress

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# ------------------------------------------------------------------ progress
class ProgressBar:
    """A one-line progress bar on a terminal (stderr); silent when stderr is piped.

    Parameters
    ----------
    total : float
        The amount that means 100%.
    label : str
        Shown before the bar.
    stream : file, optional
        Defaults to ``sys.stderr``.
    """

    def __init__(
        self, total: float, label: str = "", stream: TextIO | None = None, width: int = 28
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.label, self.width = max(total, 1e-12), label, width
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: float, info: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        filled = int(frac * self.width)
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else math.nan
        eta_txt = f"<{_duration(eta)}" if frac < 1 and math.isfinite(eta) else ""
        bar = "█" * filled + "·" * (self.width - filled)
        self.stream.write(
            f"\r{self.label} {bar} {frac:4.0%} {_duration(elapsed)}{eta_txt} {info}\x1b[K"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class HistoryCSV:
    """``train --history FILE``: one row per epoch, written as each epoch ends (so the
    file can be plotted while the run goes on, and an interrupted run keeps its epochs).

    Columns: :data:`COLUMNS`; an empty cell where a value does not apply (no validation
    set, no momentum).
    """

    COLUMNS = ("epoch", "cost", "loss", "train_acc", "valid_acc", "elapsed_s", "eta", "momentum")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import csv

        self.file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.writer.writerow(self.COLUMNS)
        self.file.flush()

    def write(self, entry: dict[str, Any]) -> None:
        row = {**entry, "elapsed_s": entry.get("elapsed")}
        self.writer.writerow(["" if row.get(c) is None else f"{row[c]:.10g}" for c in self.COLUMNS])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _log(args: argparse.Namespace, message: str) -> None:
    """A status line on stderr (kept off stdout, which --json owns)."""
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _download_progress(args: argparse.Namespace) -> ProgressCallback:
    bars: dict[str, ProgressBar] = {}

    def progress(name: str, done: int, total: int | None) -> None:
        if name not in bars:
            bars[name] = ProgressBar(total or 1, f"downloading {name}")
            _log(args, f"downloading {name}")
        bar = bars[name]
        if total:
            bar.update(done, f"{done / 1e6:.1f}/{total / 1e6:.1f} MB", force=done >= total)
            if done >= total:
                bar.close()

    return progress


def _load(args: argparse.Namespace, split: str) -> tuple[np.ndarray, np.ndarray]:
    from .data import load_mnist

    return load_mnist(split, args.data_dir, progress=_download_progress(args))


# ------------------------------------------------------------------ commands
def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from . import budget, presets
    from .evaluate import evaluate
    from .weights import save_model

    overrides = {
        "hidden": args.hidden,
        "activation": args.activation,
        "output": args.output,
        "optimizer": args.optimizer,
        "epochs": args.epochs,
        "eta": args.eta,
        "l2": args.l2,
        "batch_size": args.batch,
        "seed": args.seed,
        "precision": args.precision,
    }
    model = presets.build(args.preset, **overrides)  # validates before loading data
    overlap = model.train_metrics == "full" and (os.cpu_count() or 1) >= 2  # Trainer's default
    budget.check_run(model, budget.cli_run_memory_bytes(), copies=0, overlap=overlap)
    if args.out:
        _check_writable(Path(args.out))  # before minutes of training, not after
    if args.history:
        _check_writable(Path(args.history), example="history.csv")
        if args.out and Path(args.history).resolve() == Path(args.out).resolve():
            raise DigitnetError(
                f"--history and --out name the same file ({args.out}): the weights would "
                "be saved over the history"
            )
    drawings = None
    if args.pendigits:  # read (and checked) before training, not after
        from .data import load_pendigits

        drawings = load_pendigits(args.pendigits)[:2]
    pen = None
    if presets.PEN_STROKE_COPIES.get(args.preset):  # best: the writers' strokes, checked first
        from .data import load_pen_strokes

        pen = load_pen_strokes(args.pen_strokes, progress=_download_progress(args))
    X, y = _load(args, "train")
    X_test, y_test = _load(args, "test")
    if presets.STYLED_DIGITS.get(args.preset):
        _log(args, "drawing European-style 1s, 7s and 9s to add to the training set")
    if pen is not None:
        from .strokes import RESTYLED_COPIES, restyled_digits

        copies = presets.PEN_STROKE_COPIES[args.preset]
        _log(
            args,
            f"drawing the {len(pen):,} pen-drawn digits {copies}× on the canvas, and their "
            f"{restyled_digits()} {RESTYLED_COPIES}× more in other writers' styles",
        )
    (X_train, y_train), valid = presets.training_set(args.preset, X, y, pen_strokes=pen)
    _log(args, f"training {model!r} on {len(X_train):,} images")
    bar = ProgressBar(model.epochs, f"{args.preset}")
    history = HistoryCSV(args.history) if args.history else None
    measured = [""]  # the last epoch's cost and accuracies, shown while the next one runs

    stop = FirstInterruptStops()

    def report(p: Progress) -> bool:
        if p.kind == "batch":
            now = f"epoch {p.epoch + 1}/{p.epochs}"
            bar.update(p.epoch + p.batch / p.n_batches, f"{now}{measured[0]}")
            return stop.asked
        h = p.history[-1]
        measured[0] = f" · cost {h['cost']:.4g} train {h['train_acc']:.2%}" + (
            "" if h["valid_acc"] is None else f" valid {h['valid_acc']:.2%}"
        )
        bar.update(p.epoch, f"epoch {p.epoch}/{p.epochs}{measured[0]}", force=True)
        if history is not None:
            history.write(h)
        if not bar.enabled and not args.quiet:
            _log(args, f"epoch {p.epoch}/{p.epochs}{measured[0]} ({h['elapsed']:.1f} s)")
        return stop.asked

    t0 = time.perf_counter()
    diverged = None
    try:
        with stop:
            model.fit(X_train, y_train, validation_data=valid, callback=report, callback_every=10)
    except TrainingDiverged as e:  # the model is back at its last finite epoch: keep that
        if not (args.out and model.history_):
            raise
        diverged = e
        model.metadata_["stopped"] = (
            f"diverged; the weights from the end of epoch {model.epochs_trained_}"
        )
    finally:
        bar.close()
        if history is not None:
            history.close()
    fit_seconds = time.perf_counter() - t0
    if stop.asked:
        model.metadata_["stopped"] = (
            f"stopped by Ctrl-C after {model.epochs_trained_} of {model.epochs} epochs"
        )
        _log(args, model.metadata_["stopped"])
    report_ = evaluate(model, X_test, y_test)
    result = {
        "preset": args.preset,
        "hyperparameters": model.get_params(),
        "epochs": model.epochs_trained_,
        "test_accuracy": report_["accuracy"],
        "train_seconds": round(fit_seconds, 3),
        "history": model.history_,
    }
    if args.history:
        result["history_csv"] = str(args.history)
    _log(
        args,
        f"test accuracy {report_['accuracy']:.2%} after {model.epochs_trained_} epochs "
        f"in {fit_seconds:.1f} s",
    )
    metrics = {"mnist_test_accuracy": report_["accuracy"], "mnist_test_ece": report_["ece"]}
    if drawings is not None:
        app_read, one_view = drawings_accuracy(model, *drawings)
        metrics |= {"drawings_accuracy": app_read, "drawings_accuracy_one_view": one_view}
        result |= {"drawings_accuracy": app_read, "drawings_accuracy_one_view": one_view}
        _log(
            args,
            f"accuracy on the pen-drawn digits in {args.pendigits}: {app_read:.2%} "
            f"as the app reads them, {one_view:.2%} from the drawing alone",
        )
    if args.out:
        from .data import mnist_checksums

        model.metadata_["metrics"] = metrics
        model.metadata_["data"] = {"mnist_sha256": mnist_checksums()}
        if pen is not None:
            from .data import pen_strokes_sha256

            model.metadata_["data"]["pen_strokes"] = {
                "digits": len(pen),
                "writers": len(np.unique(pen.writers)),
                "copies": presets.PEN_STROKE_COPIES[args.preset],
                "restyled": RESTYLED_COPIES,
                "content_sha256": pen_strokes_sha256(pen),
            }
        model.metadata_["train_seconds"] = result["train_seconds"]
        model.metadata_["command"] = "python -m digitnet " + " ".join(sys.argv[1:])
        store = args.store_dtype or ("float16" if args.preset == "best" else "float32")
        path = save_model(model, args.out, dtype=store)
        result["out"] = str(path)
        _log(args, f"saved {path} ({path.stat().st_size / 1e6:.2f} MB)")
    if diverged is not None:
        raise TrainingDiverged(f"{diverged} They are saved in {args.out}.")
    if stop.asked:
        result["interrupted"] = True
    return result


class FirstInterruptStops:
    """While a run trains: the first Ctrl-C asks it to stop after the minibatch it is on,
    and the command then tests and saves what was trained (an hour of training is not lost
    to one key); a second Ctrl-C quits at once, saving nothing. Only where Ctrl-C would
    raise KeyboardInterrupt: in the main thread (where Python's signal handlers run) and if
    nobody else handles or ignores SIGINT (a job started in the background ignores it)."""

    def __init__(self) -> None:
        self.asked = False
        self._previous: Any = None

    def __enter__(self) -> FirstInterruptStops:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._first)
        return self

    def _first(self, signum: int, frame: object) -> None:
        self.asked = True
        signal.signal(signal.SIGINT, self._previous)  # the next Ctrl-C: as before
        print(
            "\ndigitnet train: stopping after this minibatch to save what was trained "
            "(Ctrl-C again to quit without saving)",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _check_writable(out: Path, example: str = "m.npz") -> None:
    """Refuse an ``--out`` (or ``--history``) that saving would fail on, by trying to write
    beside it."""
    if out.is_dir():
        raise DigitnetError(
            f"cannot write {out}: it is a directory; name a file, e.g. {out}/{example}"
        )
    if not out.parent.is_dir():
        raise DigitnetError(f"cannot write {out}: directory {out.parent} does not exist")
    if out.exists() and not out.is_file():
        raise DigitnetError(f"cannot write {out}: it exists and is not a regular file")
    try:  # what save_model does: a temporary file beside the target, then a rename
        with tempfile.NamedTemporaryFile(prefix=f".{out.name}.", dir=out.parent):
            pass
    except OSError as e:
        raise DigitnetError(f"cannot write {out}: {e.strerror or e}") from None


def drawings_accuracy(model: MLP, canvases: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy on pen-drawn canvases (:func:`digitnet.data.load_pendigits`), through the
    same preprocessing as the app's canvas, read as the app reads them
    (:func:`digitnet.tta.predict`), and from the drawing alone. For measuring only."""
    from . import tta
    from .preprocess import canvas_to_mnist

    images = np.stack([canvas_to_mnist(c, background="dark") for c in canvases])
    return float(np.mean(tta.predict(model, images) == labels)), model.score(images, labels)


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from .evaluate import evaluate
    from .weights import load_model

    model = load_model(args.weights)
    X, y = _load(args, "test")
    t0 = time.perf_counter()
    r = evaluate(model, X, y)
    seconds = time.perf_counter() - t0
    if not args.json:
        print(f"test accuracy: {r['accuracy']:.2%} on {r['n']:,} images ({seconds:.2f} s)")
        print("per digit:  " + "  ".join(f"{d}:{a:.1%}" for d, a in enumerate(r["per_class"])))
        print(f"expected calibration error: {r['ece']:.4f}")
        print("confusion matrix (rows: true digit, columns: predicted):")
        for d, row in enumerate(r["confusion"]):
            print(f"  {d} " + " ".join(f"{c:5d}" for c in row))
    return {
        "weights": str(args.weights or "shipped"),
        "test_accuracy": r["accuracy"],
        "n": r["n"],
        "per_class": r["per_class"],
        "confusion": r["confusion"],
        "ece": r["ece"],
        "seconds": round(seconds, 3),
    }


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    from . import tta
    from .errors import EmptyCanvas, ImageReadError
    from .preprocess import canvas_to_mnist, load_image
    from .weights import load_model

    model = load_model(args.weights)
    results = []
    unreadable = 0
    for name in args.images:
        try:
            image = load_image(name)
        except ImageReadError as e:  # said for this image; the others are still read
            unreadable += 1
            results.append({"image": name, "prediction": None, "error": str(e)})
            print(f"digitnet predict: error: {e}", file=sys.stderr)
            continue
        try:
            digit_image = canvas_to_mnist(image)
        except EmptyCanvas as e:
            results.append({"image": name, "prediction": None, "message": str(e)})
            if not args.json:
                print(f"{name}: no digit ({e})")
            continue
        distortions = () if args.no_tta else tta.DISTORTIONS  # (): the image alone
        probs = tta.predict_proba(model, digit_image, distortions)[0]
        k = int(probs.argmax())
        results.append(
            {
                "image": name,
                "prediction": k,
                "probability": float(probs[k]),
                "probabilities": [round(float(p), 6) for p in probs],
            }
        )
        if not args.json:
            print(f"{name}: {k} ({probs[k]:.1%})")
    return {"predictions": results, "unreadable": unreadable}


def cmd_download(args: argparse.Namespace) -> dict[str, Any]:
    from .data import download_mnist, load_pen_strokes, resolve_data_dir

    result: dict[str, Any] = {"ok": True}
    if args.what in ("mnist", "all"):
        directory = download_mnist(args.data_dir, progress=_download_progress(args))
        for split in ("train", "test"):
            _load(args, split)  # verify
        if not args.json:
            print(f"MNIST is ready in {directory}")
        result["data_dir"] = str(resolve_data_dir(args.data_dir))
    if args.what in ("pen-strokes", "all"):
        pen = load_pen_strokes(args.pen_strokes, progress=_download_progress(args))
        from .data import find_pen_strokes_file, resolve_pen_strokes_dir

        where = find_pen_strokes_file(resolve_pen_strokes_dir(args.pen_strokes))
        if not args.json:
            print(f"The pen-drawn digits' writers' file is ready: {where} ({len(pen):,} digits)")
        result["pen_strokes"] = str(where)
    return result


def cmd_info(args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    from .data import FILES, resolve_data_dir
    from .weights import SHIPPED_WEIGHTS, load_model

    model = load_model(args.weights)
    meta = getattr(model, "metadata_", {})
    directory = resolve_data_dir(args.data_dir)
    present = {
        name: (directory / f"{name}.gz").exists() or (directory / name).exists()
        for name in FILES.values()
    }
    blas = [
        f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)"
        for b in threadpool_info()
        if b["user_api"] == "blas"
    ]
    info = {
        "digitnet_version": __version__,
        "numpy_version": np.__version__,
        "blas": blas,
        "weights": str(args.weights or SHIPPED_WEIGHTS),
        "architecture": "-".join(map(str, model.layer_sizes)),
        "activation": model.activation,
        "output": model.output,
        "input_scaling": model.input_scaling,
        "preset": meta.get("preset"),
        "epochs_trained": model.epochs_trained_,
        "metrics": meta.get("metrics", {}),
        "created": meta.get("created"),
        "data_dir": str(directory),
        "mnist_files_present": present,
    }
    if not args.json:
        for key, value in info.items():
            print(f"{key:>20}: {value}")
    return info


# ------------------------------------------------------------------ parser
def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes layer sizes like 100 or 512,256, got {text!r}"
        ) from None
    if not sizes:
        raise argparse.ArgumentTypeError("--hidden needs at least one layer size")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m digitnet",
        description="digitnet: a NumPy multilayer perceptron that reads handwritten digits.",
    )
    parser.add_argument("--version", action="version", version=f"digitnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object last on stdout")
    common.add_argument("-q", "--quiet", action="store_true", help="no status messages")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data-dir",
        help="directory with the MNIST files (default: $DIGITNET_DATA, else a per-user cache)",
    )
    weights = argparse.ArgumentParser(add_help=False)
    weights.add_argument("--weights", help="weights file (.npz); default: the shipped weights")

    pen = argparse.ArgumentParser(add_help=False)
    pen.add_argument(
        "--pen-strokes",
        metavar="DIR",
        help="directory of the pen-drawn digits' writers' file, which best trains on "
        "(strokes.json or pendigits-orig.tra[.Z]; default: $DIGITNET_PENDIGITS_TRAIN, else a "
        "per-user cache, where it is downloaded if missing)",
    )

    t = sub.add_parser("train", parents=[common, data, pen], help="train a network on MNIST")
    t.add_argument("--preset", choices=list(PRESETS), default="fast")
    t.add_argument("--hidden", type=_hidden, help="hidden layer sizes, e.g. 100 or 512,256")
    t.add_argument("--activation", choices=PARAMETERS["activation"].choices)
    t.add_argument("--output", choices=PARAMETERS["output"].choices)
    t.add_argument("--optimizer", choices=PARAMETERS["optimizer"].choices)
    t.add_argument("--epochs", type=int)
    t.add_argument("--eta", type=float, help="learning rate")
    t.add_argument("--l2", type=float, help="L2 regularisation strength λ")
    t.add_argument("--batch", type=int, help="minibatch size")
    t.add_argument("--seed", type=int)
    t.add_argument("--precision", choices=PARAMETERS["precision"].choices)
    t.add_argument("--out", help="save the trained weights to this .npz file")
    t.add_argument(
        "--history",
        metavar="FILE",
        help="write the per-epoch history (cost, accuracies, elapsed seconds, learning rate) "
        "to this CSV file, a row as each epoch ends",
    )
    t.add_argument(
        "--pendigits",
        metavar="DIR",
        help="also measure (never train) on the pen-drawn digits in DIR "
        "(pendigits_canvas.npz, checked before training) and record the figures in the "
        "weights' metadata",
    )
    t.add_argument(
        "--store-dtype",
        choices=STORED_DTYPES,
        help="precision of the saved arrays (default: float16 for best, to stay under 3 MB; "
        "else float32)",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", parents=[common, data, weights], help="score on MNIST test")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", parents=[common, weights], help="read digits from images")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files, any size")
    p.add_argument(
        "--no-tta",
        action="store_true",
        help="read each digit once, not averaged with six slightly turned, scaled and "
        "sheared copies as the app does",
    )
    p.set_defaults(func=cmd_predict)

    d = sub.add_parser(
        "download",
        parents=[common, data, pen],
        help="fetch and verify MNIST (and/or the pen-drawn digits' writers' file)",
    )
    d.add_argument(
        "what",
        nargs="?",
        choices=["mnist", "pen-strokes", "all"],
        default="mnist",
        help="mnist (the default), pen-strokes (the 30 writers' pen-drawn digits best trains "
        "on, about 1 MB from UCI), or all",
    )
    d.set_defaults(func=cmd_download)

    i = sub.add_parser("info", parents=[common, data, weights], help="describe the weights")
    i.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("digitnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (DigitnetError, ValueError, OSError) as e:
        message = " ".join(str(e).split()) or type(e).__name__  # one line
        print(f"digitnet {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(result, default=_json_default))
    if result.get("interrupted"):  # train stopped by Ctrl-C: saved, but not all its epochs
        return EXIT_INTERRUPTED
    return EXIT_ERROR if result.get("unreadable") else 0  # predict: some images unreadable


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
