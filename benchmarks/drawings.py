"""How well the weights read real pen drawings. Writes the ``drawings`` section of RESULTS.md.

The drawings are the pen-drawn development set (``pendigits-dev``: 1,000 digits
by 30 writers, rendered as the app's 280×280 canvas renders them; see its
README). What is measured, all with the same weights:

1. Accuracy on the drawings -- overall, per digit, per writer and for each
   half of the writers (choose on one half, confirm on the other) -- for three
   ways of turning the canvas into a 28×28 input: (a) resizing the whole
   canvas, (b) the MNIST paper's procedure (crop, longest side 20 px, centre
   of mass; ``canvas_to_mnist(normalize_stroke=False)``), (c) the final
   pipeline (:func:`digitnet.preprocess.canvas_to_mnist`); and (d) the app's
   answer: (c) read with test-time augmentation (:func:`digitnet.tta.predict_proba`,
   the drawing and six slightly turned, scaled and sheared copies, averaged).
2. The same weights' accuracy on the MNIST test set, read once and as the app reads.
3. Milliseconds per drawing from canvas to probabilities
   (``canvas_to_mnist`` + the app's ``tta.predict_proba`` of one image), median.
4. Robustness: the drawings re-rendered from their pen strokes (the set's own
   ``render.py``) with other pen widths and digit heights, read as in (d).
5. Calibration of the app's probabilities (d): the expected calibration error
   on MNIST and on the drawings, and the "not sure" threshold recommended.

Run: ``python -m benchmarks.drawings [--weights FILE] [--data-dir DIR]
[--pendigits DIR] [--sweep-digits N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import (
    default_data_dir,
    log,
    machine_info_markdown,
    median,
    pct,
    write_section,
)
from digitnet import load_mnist, load_model, presets, strokes, tta
from digitnet import preprocess as pp
from digitnet.data import load_pen_strokes, load_pendigits
from digitnet.evaluate import expected_calibration_error
from digitnet.weights import SHIPPED_WEIGHTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("RESULTS.md")
SWEEP_WIDTHS = (8, 12, 18, 24, 30)  #: pen widths, px on the 280 px canvas
SWEEP_HEIGHTS = (0.25, 0.45, 0.65, 0.85, 0.95)  #: digit heights, fraction of the canvas
MNIST_FLAG_BUDGET = 0.01  #: the "not sure" rule: flag at most 1% of clean MNIST test digits
THRESHOLDS = np.round(np.arange(0.30, 0.96, 0.05), 2)


def default_pendigits_dir() -> Path:
    """``$DIGITNET_PENDIGITS``, else ``../shared/data/pendigits-dev`` from the repository root."""
    value = os.environ.get("DIGITNET_PENDIGITS")
    return Path(value) if value else (ROOT / ".." / "shared" / "data" / "pendigits-dev").resolve()


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The options this benchmark and benchmarks/teach.py share: what they read."""
    parser.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST directory")
    parser.add_argument("--pendigits", type=Path, default=None, help="pendigits-dev directory")


def resolve_inputs(parser: argparse.ArgumentParser, args) -> tuple:
    """From those options: the model, the pen-drawings directory and the MNIST directory,
    defaults filled in (a usage error if the weights file is missing)."""
    weights = args.weights or SHIPPED_WEIGHTS
    if not Path(weights).exists():
        parser.error(f"no weights at {weights}: pass --weights FILE")
    return (
        load_model(weights),
        args.pendigits or default_pendigits_dir(),
        args.data_dir or default_data_dir(),
    )


# --------------------------------------------------------------------------
# The three ways from a canvas to 28×28
# --------------------------------------------------------------------------
def naive_resize(canvas: np.ndarray) -> np.ndarray:
    """(a) The whole canvas shrunk to 28×28 (Pillow's antialiased bilinear), white on black."""
    gray = Image.fromarray(canvas).convert("L").resize((28, 28), Image.Resampling.BILINEAR)
    return np.asarray(gray, np.float32) / 255.0


def mnist_procedure(canvas: np.ndarray) -> np.ndarray:
    """(b) The MNIST paper's: crop, longest side 20 px, centre of mass at the centre."""
    return pp.canvas_to_mnist(canvas, normalize_stroke=False)


def final_pipeline(canvas: np.ndarray) -> np.ndarray:
    """(c) digitnet's: (b) plus stroke-width normalisation."""
    return pp.canvas_to_mnist(canvas)


PIPELINES = {
    "(a) resize the canvas": naive_resize,
    "(b) MNIST procedure": mnist_procedure,
    "(c) final pipeline": final_pipeline,
}
APP = "(d) (c) + test-time augmentation: the app"  #: the app's answer


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
def scores(predictions: np.ndarray, labels: np.ndarray, writers: np.ndarray) -> dict:
    """Overall, per-digit and per-writer accuracy."""
    correct = predictions == labels
    ids = np.unique(writers)
    first = np.isin(writers, ids[: len(ids) // 2])
    return {
        "overall": float(correct.mean()),
        "per_class": [float(correct[labels == c].mean()) for c in range(10)],
        "per_writer": {int(w): float(correct[writers == w].mean()) for w in ids},
        # the two halves of the writers: choices made on one half can be checked on the other
        "halves": (float(correct[first].mean()), float(correct[~first].mean())),
    }


def time_per_drawing(model, canvases: np.ndarray, rounds: int = 7, per_round: int = 300) -> dict:
    """Milliseconds per drawing, one at a time, along the app's path: preprocessing alone
    (``preprocess_steps(canvas, background="dark")``, as the Draw tab calls it), then
    from canvas to probabilities as the app reads (``tta.predict_proba`` of one image)
    and with one forward pass (``predict_proba``). Each round times ``per_round`` drawings and takes
    their median; the result is the median of the rounds and the range of the rounds
    (this machine is shared: its speed drifts from minute to minute)."""
    rounds_ms: dict[str, list[float]] = {"prep": [], "app": [], "once": []}
    for _ in range(rounds):
        prep, app, once = [], [], []
        for canvas in canvases[:per_round]:
            t0 = time.perf_counter()
            image = pp.preprocess_steps(canvas, background="dark").image
            t1 = time.perf_counter()
            tta.predict_proba(model, image)
            t2 = time.perf_counter()
            model.predict_proba(image[None])
            t3 = time.perf_counter()
            prep.append(t1 - t0)
            app.append(t2 - t0)
            once.append(t1 - t0 + t3 - t2)
        for key, values in (("prep", prep), ("app", app), ("once", once)):
            rounds_ms[key].append(median(values) * 1e3)
    out = {key: median(v) for key, v in rounds_ms.items()}
    out["range"] = {key: (min(v), max(v)) for key, v in rounds_ms.items()}
    out["rounds"], out["per_round"] = rounds, min(per_round, len(canvases))
    return out


def load_render(pendigits: Path):
    """The set's own renderer (``render.py``) and its strokes (``strokes.json``)."""
    sys.path.insert(0, str(pendigits))
    import render  # the pen-drawn set's renderer

    with open(pendigits / "strokes.json", encoding="utf-8") as f:
        digits = json.load(f)["digits"]
    return render, digits


def sweep(model, pendigits: Path, n_digits: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Accuracy of the app's reading on the drawings re-rendered at other pen widths
    and digit heights: (widths × heights) accuracies, the heights actually used."""
    render, digits = load_render(pendigits)
    step = max(1, len(digits) // n_digits)
    chosen = digits[::step][:n_digits]
    canvas, margin = render.CANVAS, 2
    acc = np.zeros((len(SWEEP_WIDTHS), len(SWEEP_HEIGHTS)))
    used = np.zeros_like(acc)
    for i, width in enumerate(SWEEP_WIDTHS):
        for j, height in enumerate(SWEEP_HEIGHTS):
            # The digit must fit with its pen: cap the height at what the canvas holds.
            frac = min(height, (canvas - width - 2 * margin - 1) / canvas)
            inputs, labels = [], []
            for d in chosen:
                strokes = [np.array([[x, 500 - y] for x, y in s], float) for s in d["strokes"]]
                rng = _SafeUniform([*d["render_seed"], width, round(height * 100)])
                placed, _ = render.place(
                    strokes, rng, line_width=width, height_frac=(frac, frac), margin=margin
                )
                inputs.append(pp.canvas_to_mnist(render.draw(placed, line_width=width)))
                labels.append(d["label"])
            read = tta.predict(model, np.stack(inputs))
            acc[i, j] = float((read == np.array(labels)).mean())
            used[i, j] = frac
            log(f"sweep: pen {width} px, height {height:.0%}: {acc[i, j]:.1%}")
    return acc, used, len(chosen)


class _SafeUniform:
    """A seeded generator for ``render.place``, whose ``uniform(low, high)`` tolerates
    ``high`` a rounding error below ``low``: for a digit as wide as the canvas allows,
    ``place`` asks for a position in an empty range."""

    def __init__(self, seed) -> None:
        self.rng = np.random.default_rng(seed)

    def uniform(self, low, high, size=None):
        return self.rng.uniform(low, max(low, high), size)


def threshold_table(probs: np.ndarray, labels: np.ndarray) -> list[dict]:
    """For each threshold t: share of answers below t ("not sure"), their accuracy, and
    the accuracy of the answers at or above t."""
    conf, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    rows = []
    for t in THRESHOLDS:
        low = conf < t
        rows.append(
            {
                "t": float(t),
                "flagged": float(low.mean()),
                "acc_flagged": float(correct[low].mean()) if low.any() else float("nan"),
                "acc_sure": float(correct[~low].mean()) if (~low).any() else float("nan"),
                "errors": int((~correct).sum()),
                "errors_flagged": int((~correct & low).sum()),
            }
        )
    return rows


def recommend_threshold(mnist_rows: list[dict]) -> float:
    """The largest threshold that flags at most MNIST_FLAG_BUDGET of the MNIST test digits.

    Clean, MNIST-like digits should almost never get "not sure"; within that
    budget, the higher the threshold, the more of the doubtful drawings it catches.
    """
    within = [r["t"] for r in mnist_rows if r["flagged"] <= MNIST_FLAG_BUDGET]
    return max(within) if within else mnist_rows[0]["t"]


def stroke_widths(canvases: list[np.ndarray]) -> np.ndarray:
    """:func:`digitnet.preprocess.digit_stroke_width` of each canvas (px at 28×28)."""
    widths = [pp.digit_stroke_width(c) for c in canvases]
    return np.array([w for w in widths if w is not None])


# --------------------------------------------------------------------------
# Writer-level cross-validation: train `best` on 20 writers, read the other 10
# --------------------------------------------------------------------------
CV_FOLDS = 3
#: How the held-out writers' digits are drawn: as the development set was rendered
#: (its render.py: an 18 px pen, the digit 45-85% of the canvas tall, anywhere on it).
HELD_OUT_STYLE = strokes.StrokeStyle(
    pen=(18.0, 18.0),
    height=(0.45, 0.85),
    rotate=0.0,
    shear=0.0,
    stretch=0.0,
    stroke_shift=0.0,
    wobble=0.0,
    spacing=(0.0, 0.0),
    smooth=0.0,
)

HELD_OUT_SEED = 7  #: seeds the held-out renders (never the training renders' seed, 1)


def writer_folds(writers: np.ndarray, k: int = CV_FOLDS) -> list[np.ndarray]:
    """The writers held out in each of ``k`` folds: every k-th writer id, from the f-th."""
    ids = np.unique(writers)
    return [ids[f::k] for f in range(k)]


def app_inputs(pen, style=HELD_OUT_STYLE, seed: int = HELD_OUT_SEED, width=None, height=None):
    """Every digit of ``pen`` drawn on a canvas and turned into the network's input as the
    Draw tab does (``preprocess_steps(canvas, background="dark")``): float32 (N, 28, 28).
    ``width``/``height`` fix the pen and the digit's height (the robustness sweep)."""
    if width is not None:
        style = dataclasses.replace(style, pen=(width, width), height=(height, height))
    out = np.zeros((len(pen), 28, 28), np.float32)
    for i in range(len(pen)):
        rng = np.random.default_rng([seed, int(pen.writers[i]), int(pen.sample_no[i])])
        out[i] = pp.preprocess_steps(strokes.render(pen, i, rng, style), background="dark").image
    return out


def train_fold(pen_train, X, y, seed: int = 1):
    """``best`` trained as the shipped weights are, on the training writers' strokes only."""
    model = presets.build("best", seed=seed)
    (X_train, y_train), valid = presets.training_set("best", X, y, seed=seed, pen_strokes=pen_train)
    log(f"  training on {len(X_train):,} images ...")
    t0 = time.perf_counter()
    model.fit(X_train, y_train, validation_data=valid)
    log(f"  trained in {time.perf_counter() - t0:.0f} s")
    return model


def cross_validate(
    pen, data_dir: Path, cv_dir: Path, sweep_digits: int, only: list[int] | None = None
) -> dict | None:
    """Each fold: train (or reuse from ``cv_dir``) its network and read its held-out writers,
    keeping the figures in ``cv_dir/foldF.results.npz``. With ``only``, just those folds are
    computed (several processes can share the work). Returns the figures of every fold
    done so far (None if none is)."""
    X, y = load_mnist("train", data_dir)
    Xt, yt = load_mnist("test", data_dir)
    cv_dir.mkdir(parents=True, exist_ok=True)
    folds = []
    for f, held in enumerate(writer_folds(pen.writers)):
        results = cv_dir / f"fold{f}.results.npz"
        if not results.exists() and (only is None or f in only):
            fold_figures(f, held, pen, X, y, Xt, cv_dir, sweep_digits, results)
        if not results.exists():
            continue  # another process's fold, not done yet
        with np.load(results) as npz:
            folds.append({k: npz[k] for k in npz.files})
        fold = folds[-1]
        held_acc = float((fold["probs"].argmax(1) == fold["labels"]).mean())
        mnist_acc = float((fold["mnist_probs"].argmax(1) == yt).mean())
        log(f"fold {f}: held-out writers {pct(held_acc, 2)}, MNIST test {pct(mnist_acc, 2)}")
    return {"folds": folds, "mnist_labels": yt} if folds else None


def fold_figures(f, held, pen, X, y, Xt, cv_dir: Path, sweep_digits: int, out: Path) -> None:
    """Fold ``f``: its network (trained unless ``cv_dir`` has it) read on its held-out
    writers, on MNIST test, and in the robustness sweep; saved to ``out``."""
    from digitnet.weights import save_model

    path = cv_dir / f"fold{f}.npz"
    test_mask = np.isin(pen.writers, held)
    if path.exists():
        model = load_model(path)
        log(f"fold {f}: reusing {path}")
    else:
        log(f"fold {f}: holding out writers {held.tolist()}")
        model = train_fold(pen.select(~test_mask), X, y)
        save_model(model, path, dtype="float16")  # as the shipped weights are stored
        model = load_model(path)
    held_pen = pen.select(test_mask)
    inputs = app_inputs(held_pen)
    # the sweep: a sample of the held-out digits at each pen width and height
    step = max(1, len(held_pen) // sweep_digits)
    sample = held_pen.select(np.arange(0, len(held_pen), step)[:sweep_digits])
    sweep_acc = np.zeros((len(SWEEP_WIDTHS), len(SWEEP_HEIGHTS)))
    for i, w in enumerate(SWEEP_WIDTHS):
        for j, h in enumerate(SWEEP_HEIGHTS):
            read = tta.predict(model, app_inputs(sample, width=w, height=h))
            sweep_acc[i, j] = float((read == sample.labels).mean())
    np.savez(
        out,
        held_out=held,
        labels=held_pen.labels,
        writers=held_pen.writers,
        probs=tta.predict_proba(model, inputs),
        once=model.predict_proba(inputs.reshape(len(inputs), -1)),
        mnist_probs=tta.predict_proba(model, Xt),
        mnist_once=model.predict_proba(Xt),
        sweep=sweep_acc,
        n_sweep=len(sample),
    )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def report(r: dict) -> str:
    """The Markdown section, from the measurements gathered by :func:`main`."""
    results, n = r["results"], r["n"]
    lines = [
        "## Drawings: reading real pen-drawn digits",
        "",
        machine_info_markdown(),
        f"Weights: `{r['weights']}`. Drawings: pendigits-dev, {n} digits by "
        f"{len(results['(c) final pipeline']['per_writer'])} writers, 280×280 canvases "
        "(18 px pen, digit height 45-85% of the canvas, random position). "
        + (
            "**These writers' strokes are in these weights' training data** (the `best` "
            "preset trains on all 30 writers): the figures below are on writers *seen in "
            "training*. They show the pipeline, the timing and the calibration on MNIST, and "
            "are **not** an accuracy to quote: how the weights read strangers is measured by "
            "the writer-level cross-validation "
            "([below](#strangers-handwriting-writer-level-cross-validation))."
            if r["seen"]
            else "Never used for training."
        ),
        "",
        "### Accuracy" + (" (on writers seen in training)" if r["seen"] else ""),
        "",
        f"- MNIST test set (10,000 digits), same weights: **{pct(r['mnist_acc'], 2)}** as "
        f"the app reads (d), {pct(r['mnist_acc_once'], 2)} read once",
        f"- Canvas → probabilities as the app reads: **{r['ms']['app']:.2f} ms** per drawing "
        f"(one at a time; the median of {r['ms']['rounds']} rounds, each the median of "
        f"{r['ms']['per_round']} drawings; rounds ranged {_range(r['ms'], 'app')}), as the "
        'Draw tab does it: `preprocess_steps(canvas, background="dark")` '
        f"{r['ms']['prep']:.2f} ms ({_range(r['ms'], 'prep')}), then "
        f"`tta.predict_proba`. Read once (`predict_proba`): {r['ms']['once']:.2f} ms "
        f"({_range(r['ms'], 'once')})",
        "",
        "| canvas → 28×28 | drawings | first / second half of the writers | worst digit "
        "| writers: min / median / max | worst 5 writers |",
        "|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        pw = res["per_writer"]
        values = np.array(list(pw.values()))
        worst = int(np.argmin(res["per_class"]))
        worst5 = sorted(pw, key=lambda w: (pw[w], w))[:5]
        lines.append(
            f"| {name} | **{pct(res['overall'])}** | {' / '.join(map(pct, res['halves']))} "
            f"| {worst}: {pct(res['per_class'][worst])} "
            f"| {pct(values.min())} / {pct(float(np.median(values)))} / {pct(values.max())} "
            f"| {', '.join(f'#{w} {pct(pw[w])}' for w in worst5)} |"
        )
    lines += [
        "",
        "Per digit (%):",
        "",
        "| canvas → 28×28 | " + " | ".join(map(str, range(10))) + " |",
    ]
    lines.append("|---" * 11 + "|")
    for name, res in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * a:.0f}" for a in res["per_class"]) + " |")
    q_mnist, q_draw = r["stroke_quartiles"]["mnist"], r["stroke_quartiles"]["drawings"]
    lines += [
        "",
        "Stroke width once the digit is 20 px tall (`digit_stroke_width`; 25th / 50th / 75th "
        f"percentile): MNIST training digits (2,000, enlarged 10×) {_q(q_mnist)} px, the "
        f"drawings {_q(q_draw)} px; the pipeline brings strokes into "
        f"{pp.STROKE_RANGE[0]:.1f}-{pp.STROKE_RANGE[1]:.1f} px.",
    ]

    acc, used = r["sweep_acc"], r["sweep_used"]
    capped = ", ".join(f"{w} px: {used[i, -1]:.0%}" for i, w in enumerate(SWEEP_WIDTHS))
    lines += [
        "",
        "### Robustness: other pens and sizes",
        "",
        f"The drawings re-rendered from their strokes with the set's `render.py` "
        f"({r['n_sweep']} digits from every writer, random positions), read as the app "
        "reads them (d). Rows: pen width on the 280 px canvas; columns: digit height. Where the "
        f"pen would not fit, the digit is drawn as tall as fits ({capped} for 95%).",
        "",
        *sweep_lines(acc),
        "",
        '### Calibration and the "not sure" threshold',
        "",
        "The app's probabilities (d). Expected calibration error (15 bins): MNIST test "
        f"**{r['ece']['mnist']:.4f}**, drawings **{r['ece']['drawings']:.4f}** (read once: "
        f"{r['ece']['mnist_once']:.4f} and {r['ece']['drawings_once']:.4f}).",
        "",
        "| top probability < t | drawings flagged | flagged read right | the rest read right "
        "| MNIST flagged | MNIST: the rest read right |",
        "|---|---|---|---|---|---|",
    ]
    for d, m in zip(r["rows"]["drawings"], r["rows"]["mnist"]):
        lines.append(
            f"| {d['t']:.2f} | {pct(d['flagged'])} | {pct(d['acc_flagged'])} | "
            f"{pct(d['acc_sure'])} | {pct(m['flagged'])} | {pct(m['acc_sure'])} |"
        )
    t = r["threshold"]
    chosen = next(d for d in r["rows"]["drawings"] if d["t"] == t)
    chosen_mnist = next(m for m in r["rows"]["mnist"] if m["t"] == t)
    lines += [
        "",
        f'**Recommended: show "not sure" when the top probability is below {t:.2f}.** '
        f"Rule: the largest threshold that flags at most {MNIST_FLAG_BUDGET:.0%} of the MNIST "
        "test digits -- clean digits should almost never be doubted -- as the drawings' own "
        "errors are mostly confident ones, a threshold set from the drawings alone would flag "
        f"too much or nothing. At {t:.2f} it flags {pct(chosen_mnist['flagged'])} of MNIST and "
        f"{pct(chosen['flagged'])} of the drawings; those are read right only "
        f"{pct(chosen['acc_flagged'])} of the time, the others {pct(chosen['acc_sure'])}. "
        f"Errors caught: {chosen['errors_flagged']} of {chosen['errors']} on the drawings.",
        "",
        "Run: `python -m benchmarks.drawings [--weights FILE] [--data-dir DIR] "
        "[--pendigits DIR] [--sweep-digits N]`.",
    ]
    return "\n".join(lines)


def cv_report(cv: dict, baseline: dict | None) -> str:
    """The Markdown section of the writer-level cross-validation."""
    folds, yt = cv["folds"], cv["mnist_labels"]
    labels = np.concatenate([f["labels"] for f in folds])
    writers = np.concatenate([f["writers"] for f in folds])
    probs = np.concatenate([f["probs"] for f in folds])
    once = np.concatenate([f["once"] for f in folds])
    res = scores(probs.argmax(1), labels, writers)
    res_once = scores(once.argmax(1), labels, writers)
    pw = res["per_writer"]
    values = np.array(list(pw.values()))
    worst5 = sorted(pw, key=lambda w: (pw[w], w))[:5]
    mnist = [float((f["mnist_probs"].argmax(1) == yt).mean()) for f in folds]
    mnist_once = [float((f["mnist_once"].argmax(1) == yt).mean()) for f in folds]
    partial = len(folds) < CV_FOLDS
    lines = [
        "## Strangers' handwriting: writer-level cross-validation",
        "",
        machine_info_markdown(),
        *(
            [
                f"**Partial: {len(folds)} of the {CV_FOLDS} folds measured so far** (the "
                "others: `python -m benchmarks.drawings --cv DIR`). The figures below are on "
                "the held-out writers of those folds only.",
                "",
            ]
            if partial
            else []
        ),
        f"The 7,494 pen-drawn digits of the data set's 30 development writers, in {CV_FOLDS} "
        "folds of 10 writers: for each fold, `best` is trained exactly as the shipped weights "
        "(MNIST's 55,000, the styled digits, "
        f"{presets.PEN_STROKE_COPIES['best']} renders of each pen-drawn digit and "
        f"{strokes.RESTYLED_COPIES} more of each of their {strokes.restyled_digits()} redrawn "
        "in other writers' styles) "
        "but on the other "
        "20 writers' strokes only, and then reads the 10 held-out writers' digits as the app "
        "reads them (each drawn like pendigits-dev: an 18 px pen, 45-85% of the canvas tall, "
        'anywhere on it; `preprocess_steps(canvas, background="dark")`, then '
        "`tta.predict_proba`). Every digit is read by a network that never saw its writer.",
        "",
        "| | held-out writers' digits | one view | writers: min / median / max | worst 5 writers "
        "| MNIST test (as the app reads / one view) |",
        "|---|---|---|---|---|---|",
        f"| **{'the folds measured' if partial else 'all folds'}** "
        f"| **{pct(res['overall'], 2)}** | {pct(res_once['overall'], 2)} "
        f"| {pct(values.min())} / {pct(float(np.median(values)))} / {pct(values.max())} "
        f"| {', '.join(f'#{w} {pct(pw[w])}' for w in worst5)} "
        f"| {' / '.join(pct(float(np.mean(v)), 2) for v in (mnist, mnist_once))} (mean) |",
    ]
    for k, f in enumerate(folds):
        r = scores(f["probs"].argmax(1), f["labels"], f["writers"])
        v = np.array(list(r["per_writer"].values()))
        o = float((f["once"].argmax(1) == f["labels"]).mean())
        lines.append(
            f"| fold {k + 1}: writers {', '.join(map(str, f['held_out']))} "
            f"| {pct(r['overall'], 2)} | {pct(o, 2)} "
            f"| {pct(v.min())} / {pct(float(np.median(v)))} / {pct(v.max())} | "
            f"| {pct(mnist[k], 2)} / {pct(mnist_once[k], 2)} |"
        )
    if baseline is not None:
        b = baseline["scores"]
        bv = np.array(list(b["per_writer"].values()))
        lines.append(
            f"| before (`{baseline['weights']}`, trained on no writer's strokes), the same "
            "writers "
            f"| {pct(b['overall'], 2)} | {pct(baseline['once'], 2)} "
            f"| {pct(bv.min())} / {pct(float(np.median(bv)))} / {pct(bv.max())} | | |"
        )
    lines += [
        "",
        "Per digit, held-out writers (%): "
        + ", ".join(f"{d}: {100 * a:.1f}" for d, a in enumerate(res["per_class"])),
    ]
    acc = np.mean([f["sweep"] for f in folds], axis=0)
    lines += [
        "",
        "### Robustness on held-out writers: other pens and sizes",
        "",
        f"Each fold's network reads {folds[0]['n_sweep']} of its held-out writers' digits drawn "
        "at each pen width (rows, px on the 280 px canvas) and digit height (columns; as tall "
        "as fits with the pen), as the app reads them; the mean of the folds.",
        "",
        *sweep_lines(acc),
    ]
    mnist_probs = np.concatenate([f["mnist_probs"] for f in folds])
    mnist_labels = np.tile(yt, len(folds))
    rows = {
        "drawings": threshold_table(probs, labels),
        "mnist": threshold_table(mnist_probs, mnist_labels),
    }
    t = recommend_threshold(rows["mnist"])
    chosen = next(d for d in rows["drawings"] if d["t"] == t)
    chosen_mnist = next(m for m in rows["mnist"] if m["t"] == t)
    lines += [
        "",
        '### Calibration and the "not sure" threshold, on held-out writers',
        "",
        "Expected calibration error (15 bins) of the app's probabilities: held-out writers "
        f"**{expected_calibration_error(probs, labels):.4f}** (one view "
        f"{expected_calibration_error(once, labels):.4f}), MNIST test "
        f"{expected_calibration_error(mnist_probs, mnist_labels):.4f} (the folds' networks).",
        "",
        "| top probability < t | held-out digits flagged | flagged read right "
        "| the rest read right | MNIST flagged | MNIST: the rest read right |",
        "|---|---|---|---|---|---|",
    ]
    for d, m in zip(rows["drawings"], rows["mnist"]):
        lines.append(
            f"| {d['t']:.2f} | {pct(d['flagged'])} | {pct(d['acc_flagged'])} | "
            f"{pct(d['acc_sure'])} | {pct(m['flagged'])} | {pct(m['acc_sure'])} |"
        )
    lines += [
        "",
        f"By the rule (the largest threshold that flags at most {MNIST_FLAG_BUDGET:.0%} of MNIST "
        f"test digits): **{t:.2f}**. It flags {pct(chosen_mnist['flagged'])} of MNIST and "
        f"{pct(chosen['flagged'])} of the held-out writers' digits, which are read right "
        f"{pct(chosen['acc_flagged'])} of the time (the others {pct(chosen['acc_sure'])}); "
        f"errors caught: {chosen['errors_flagged']} of {chosen['errors']}.",
        "",
        "Run: `python -m benchmarks.drawings --cv DIR [--pen-strokes DIR] [--data-dir DIR]` "
        "(trains the folds' networks into DIR, or reuses them from there).",
    ]
    return "\n".join(lines)


def sweep_lines(acc: np.ndarray) -> list[str]:
    """The robustness sweep's table (pen widths × digit heights) and its range."""
    heights = " | ".join(f"{h:.0%}" for h in SWEEP_HEIGHTS)
    lines = [f"| pen \\ height | {heights} |", "|---" * (len(SWEEP_HEIGHTS) + 1) + "|"]
    for i, w in enumerate(SWEEP_WIDTHS):
        lines.append(f"| {w} px | " + " | ".join(pct(a) for a in acc[i]) + " |")
    spread = 100 * (acc.max() - acc.min())
    return [*lines, "", f"Range: {pct(acc.min())} to {pct(acc.max())} ({spread:.1f} points)."]


def _range(ms: dict, key: str) -> str:
    low, high = ms["range"][key]
    return f"{low:.2f}-{high:.2f} ms"


def _q(q: np.ndarray) -> str:
    return " / ".join(f"{v:.2f}" for v in q)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_input_arguments(parser)
    parser.add_argument(
        "--sweep-digits", type=int, default=500, help="drawings re-rendered per sweep cell"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the RESULTS.md to update")
    parser.add_argument(
        "--cv",
        type=Path,
        metavar="DIR",
        help="writer-level cross-validation instead: train (or reuse) the folds' networks in DIR",
    )
    parser.add_argument(
        "--pen-copies",
        type=int,
        default=None,
        help="with --cv: renders of each pen-drawn digit in training (default: the best "
        "preset's), to compare recipes",
    )
    parser.add_argument(
        "--restyled",
        type=int,
        default=None,
        help="with --cv: restyled renders of each pen-drawn 1, 7 and 9 in training (default: "
        "the best preset's), to compare recipes",
    )
    parser.add_argument(
        "--folds",
        type=int,
        nargs="+",
        metavar="F",
        help="with --cv: only these folds (0-2), to share the work between processes",
    )
    parser.add_argument(
        "--pen-strokes",
        type=Path,
        default=None,
        help="the writers' strokes (default: $"
        "DIGITNET_PENDIGITS_TRAIN, else ../shared/data/pendigits-train)",
    )
    args = parser.parse_args(argv)
    if args.cv:
        return main_cv(parser, args)

    model, pendigits, data_dir = resolve_inputs(parser, args)
    canvases, labels, writers = load_pendigits(pendigits)
    Xt, yt = load_mnist("test", data_dir)

    r: dict = {"n": len(labels), "weights": args.weights or "weights/digitnet.npz"}
    # weights trained on the writers' strokes have seen the drawings' writers
    r["seen"] = bool((model.metadata_.get("data") or {}).get("pen_strokes"))
    log("MNIST test ...")
    mnist_once = model.predict_proba(Xt)
    mnist_probs = tta.predict_proba(model, Xt)  # as the app reads
    r["mnist_acc_once"] = float((mnist_once.argmax(axis=1) == yt).mean())
    r["mnist_acc"] = float((mnist_probs.argmax(axis=1) == yt).mean())
    r["results"] = {}
    for name, fn in PIPELINES.items():
        log(f"drawings, {name} ...")
        inputs = np.stack([fn(c) for c in canvases])
        probs = model.predict_proba(inputs)
        r["results"][name] = scores(probs.argmax(axis=1), labels, writers)
    once_probs = probs  # the last pipeline is the final one
    final_probs = tta.predict_proba(model, inputs)
    r["results"][APP] = scores(final_probs.argmax(axis=1), labels, writers)

    log("stroke widths ...")
    X, _ = load_mnist("train", data_dir)
    enlarged = [
        np.asarray(Image.fromarray(x).resize((280, 280), Image.Resampling.BILINEAR))
        for x in X[:: len(X) // 2000][:2000]
    ]
    quartiles = [25, 50, 75]
    r["stroke_quartiles"] = {
        "mnist": np.percentile(stroke_widths(enlarged), quartiles),
        "drawings": np.percentile(stroke_widths(list(canvases)), quartiles),
    }
    log("timing ...")
    r["ms"] = time_per_drawing(model, canvases)
    log("sweep ...")
    r["sweep_acc"], r["sweep_used"], r["n_sweep"] = sweep(model, pendigits, args.sweep_digits)
    r["ece"] = {
        "mnist": expected_calibration_error(mnist_probs, yt),
        "drawings": expected_calibration_error(final_probs, labels),
        "mnist_once": expected_calibration_error(mnist_once, yt),
        "drawings_once": expected_calibration_error(once_probs, labels),
    }
    r["rows"] = {
        "drawings": threshold_table(final_probs, labels),
        "mnist": threshold_table(mnist_probs, yt),
    }
    r["threshold"] = recommend_threshold(r["rows"]["mnist"])
    text = report(r)
    write_section(args.results, "drawings", text)
    print(text)
    return 0


def default_pen_strokes_dir() -> Path:
    """``$DIGITNET_PENDIGITS_TRAIN``, else ``../shared/data/pendigits-train``."""
    value = os.environ.get("DIGITNET_PENDIGITS_TRAIN")
    return Path(value) if value else (ROOT / ".." / "shared" / "data" / "pendigits-train").resolve()


def main_cv(parser: argparse.ArgumentParser, args) -> int:
    """The writer-level cross-validation (``--cv DIR``): writes the ``drawings-cv`` section."""
    if args.pen_copies is not None:  # another recipe, for comparison
        presets.PEN_STROKE_COPIES["best"] = args.pen_copies
    if args.restyled is not None:
        strokes.RESTYLED_COPIES = args.restyled
    pen = load_pen_strokes(args.pen_strokes or default_pen_strokes_dir(), download=False)
    data_dir = args.data_dir or default_data_dir()
    cv = cross_validate(pen, data_dir, args.cv, args.sweep_digits, args.folds)
    if cv is None:
        return 0
    baseline = None
    if args.weights is not None:  # weights trained on no writer: read all 30 the same way
        model = load_model(args.weights)
        if (model.metadata_.get("data") or {}).get("pen_strokes"):
            parser.error(f"{args.weights} was trained on these writers: not a baseline")
        held = pen.select(
            np.isin(pen.writers, np.concatenate([f["held_out"] for f in cv["folds"]]))
        )
        inputs = app_inputs(held)
        probs = tta.predict_proba(model, inputs)
        baseline = {
            "weights": str(args.weights),
            "scores": scores(probs.argmax(1), held.labels, held.writers),
            "once": float(model.score(inputs.reshape(len(inputs), -1), held.labels)),
        }
    text = cv_report(cv, baseline)
    write_section(args.results, "drawings-cv", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
