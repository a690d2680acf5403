#!/usr/bin/env python3
"""The library's speed in two checkouts, side by side in one process.

A refactoring must not slow anything down, and on a shared machine a figure measured now
and one measured ten minutes later differ by whatever else runs. So this script imports
each checkout's ``digitnet`` package under a name of its own (``digitnet_a``,
``digitnet_b``: copies of the two packages in a temporary directory), gives both the same
weights, and times the same calls alternately, round after round (A B, B A, ...), so
that both see the same load. It uses only the public API that every version has: an
:class:`MLP`'s ``predict``/``predict_proba``, ``tta.predict_proba``, the drawing's path
(``preprocess.read_canvas_png`` → ``preprocess_steps`` → the TTA answer) and ``fit``
for one epoch of the ``seed`` and ``fast`` presets.

Usage::

    git worktree add /tmp/before <commit>        # or: git archive <commit> | tar -x -C ...
    OPENBLAS_NUM_THREADS=1 DIGITNET_DATA=... python -m benchmarks.library_ab /tmp/before .

Prints a Markdown table of medians and the ratio B / A; ``--write`` also writes the
``library-ab`` section of RESULTS.md. One BLAS thread keeps the two from competing for
the cores through OpenBLAS's own threads.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from PIL import Image, ImageDraw

from benchmarks.common import RESULTS_MD, default_data_dir, write_section

ROUNDS = 9
TRAIN_ROWS = 15_000


def import_checkout(root: Path, name: str, into: Path) -> ModuleType:
    """``root``'s digitnet package, imported as ``name`` (a copy under ``into``)."""
    if not (root / "digitnet" / "__init__.py").is_file():
        raise SystemExit(f"{root} holds no digitnet package")
    shutil.copytree(root / "digitnet", into / name, ignore=shutil.ignore_patterns("__pycache__"))
    # The shipped weights are found relative to the package: give each copy its own.
    (into / "weights").mkdir(exist_ok=True)
    shutil.copy(root / "weights" / "digitnet.npz", into / "weights" / "digitnet.npz")
    package = importlib.import_module(name)
    for module in ("data", "presets", "preprocess", "tta", "weights"):
        importlib.import_module(f"{name}.{module}")
    return package


def canvas_png() -> bytes:
    """A drawing as the canvas sends it: 280×280 RGBA PNG, a white 7 on black."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line(
        [(70, 60), (200, 60), (120, 230)], fill=(255, 255, 255, 255), width=18
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Mean seconds per call over ``calls`` calls."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def timings(packages: dict[str, ModuleType], X, y, Xt) -> dict[str, Callable[[str], float]]:
    """Each timing: a function of the variant's label giving one measurement."""
    first = next(iter(packages.values()))
    trained = first.presets.build("seed", epochs=1).fit(X[:20_000], y[:20_000])
    models, shipped = {}, {}
    for label, package in packages.items():
        model = package.presets.build("seed")
        model.fit(X[:100], y[:100])  # sets up the attributes; the weights are replaced
        model.weights_ = [w.copy() for w in trained.weights_]
        model.biases_ = [b.copy() for b in trained.biases_]
        models[label] = model
        shipped[label] = package.weights.load_model()
    one, png = Xt[:1], canvas_png()

    def drawing(label: str) -> None:
        package = packages[label]
        rgba = package.preprocess.read_canvas_png(png, (280, 280))
        steps = package.preprocess.preprocess_steps(rgba, background="dark")
        package.tta.predict_proba(shipped[label], steps.image)

    def epoch(label: str, preset: str, precision: str) -> float:
        model = packages[label].presets.build(preset, precision=precision, epochs=1)
        t0 = time.perf_counter()
        model.fit(X[:TRAIN_ROWS], y[:TRAIN_ROWS])
        return time.perf_counter() - t0

    us, ms = 1e6, 1e3
    return {
        "predict, 1 image, 784-100-10 (µs)": lambda v: (
            per_call(lambda: models[v].predict(one), 500) * us
        ),
        "predict_proba, 1 image, 784-100-10 (µs)": lambda v: (
            per_call(lambda: models[v].predict_proba(one), 500) * us
        ),
        "predict_proba, 10,000 images (µs per image)": lambda v: (
            per_call(lambda: models[v].predict_proba(Xt), 3) / len(Xt) * us
        ),
        "tta.predict_proba, 1 image, shipped weights (µs)": lambda v: (
            per_call(lambda: packages[v].tta.predict_proba(shipped[v], one), 200) * us
        ),
        "a drawing: PNG → preprocess_steps → TTA answer, shipped weights (ms)": lambda v: (
            per_call(lambda: drawing(v), 100) * ms
        ),
        f"seed float64, 1 epoch of {TRAIN_ROWS:,} (s)": lambda v: epoch(v, "seed", "float64"),
        f"seed float32, 1 epoch of {TRAIN_ROWS:,} (s)": lambda v: epoch(v, "seed", "float32"),
        f"fast float32, 1 epoch of {TRAIN_ROWS:,} (s)": lambda v: epoch(v, "fast", "float32"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="checkout A (before)")
    parser.add_argument("b", type=Path, help="checkout B (after)")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", default="", help="only the timings whose name has this")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--write", action="store_true", help="write RESULTS.md's section")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    data_dir = args.data_dir or default_data_dir()
    with tempfile.TemporaryDirectory(prefix="library-ab-") as tmp:
        sys.path.insert(0, tmp)
        packages = {
            "A": import_checkout(args.a.resolve(), "digitnet_a", Path(tmp)),
            "B": import_checkout(args.b.resolve(), "digitnet_b", Path(tmp)),
        }
        # MNIST as B's loader reads it (both take the same arrays)
        X, y = packages["B"].data.load_mnist("train", data_dir, download=False)
        Xt, _ = packages["B"].data.load_mnist("test", data_dir, download=False)
        tests = {k: f for k, f in timings(packages, X, y, Xt).items() if args.only in k}
        for f in tests.values():  # warm up both
            f("A"), f("B")
        results: dict[str, dict[str, list[float]]] = {k: {"A": [], "B": []} for k in tests}
        for r in range(args.rounds):
            order = ("A", "B") if r % 2 == 0 else ("B", "A")
            for name, f in tests.items():
                for label in order:
                    results[name][label].append(f(label))
    load = os.getloadavg()
    lines = [
        f"A = `{args.a}`, B = `{args.b}`; {args.rounds} rounds, order alternating; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        "",
        "| timing | A (median) | B (median) | B / A |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        a, b = statistics.median(r["A"]), statistics.median(r["B"])
        lines.append(f"| {name} | {a:.3g} | {b:.3g} | {b / a:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(RESULTS_MD, "library-ab", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
