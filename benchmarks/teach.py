"""What the app's Teach does for real visitors. Writes the ``teach`` section of RESULTS.md.

The visitors are the writers of the pen-drawn development set (``pendigits-dev``:
1,000 digits by 30 writers, rendered as the app's canvas renders them). Each
drawing goes through the app's pipeline (:func:`digitnet.preprocess.canvas_to_mnist`,
``background="dark"``) and is read as the app reads it (:func:`digitnet.tta.predict_proba`);
for every writer whose drawings the weights misread, this
does what the app does when that visitor corrects those drawings and presses
**Teach**: :func:`digitnet.finetune.finetune` of the weights on them, with the
app's arguments (``TEACH_ARGS`` of :mod:`digitnet.app.teach`) and the app's replay
data (the 55,000 MNIST training digits of the article's split). Per writer it
reports:

1. the drawings taught: the probability of the right digit before and after
   (min, median), and how many are read right after;
2. the MNIST test accuracy before and after (the app refuses a drop of more
   than ``MAX_DROP``, 0.5 points);
3. the accuracy on the writer's other drawings (not taught) and on every other
   writer's drawings, before and after: does teaching one person's handwriting
   help their next drawings, and does it hurt other people's?
4. the seconds fine-tuning took.

The app's settings are read from ``digitnet/app/teach.py`` without importing it
(it imports Streamlit), so this measures whatever the app ships.

Run: ``python benchmarks/teach.py [--weights FILE] [--data-dir DIR] [--pendigits DIR]
[--max-writers N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    log,
    machine_info_markdown,
    median,
    pct,
    write_section,
)
from benchmarks.drawings import add_input_arguments, resolve_inputs  # noqa: E402
from digitnet import (  # noqa: E402
    load_mnist,
    tta,
)
from digitnet import preprocess as pp  # noqa: E402
from digitnet.app.teach import MAX_DROP, TEACH_ARGS  # noqa: E402 (the app's settings)
from digitnet.data import load_pendigits  # noqa: E402
from digitnet.evaluate import evaluate  # noqa: E402
from digitnet.finetune import finetune  # noqa: E402
from digitnet.presets import split  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """MNIST test accuracy as the app measures it (:func:`digitnet.evaluate.evaluate`)."""
    return evaluate(model, images, labels)["accuracy"]


def teach_writer(model, before, inputs, labels, writers, writer, replay, test, teach_args) -> dict:
    """Teach ``writer``'s misread drawings as the app would; measure before and after.

    ``before`` holds the weights' probabilities for every drawing (``inputs``).
    """
    right_before = before.argmax(axis=1) == labels
    taught = (writers == writer) & ~right_before
    own_rest = (writers == writer) & ~taught
    others = writers != writer
    images, y = inputs[taught], labels[taught]
    rows = np.arange(len(y))
    t0 = time.perf_counter()
    tuned = finetune(model, images, y, *replay, **teach_args)  # the app's call
    seconds = time.perf_counter() - t0
    after = tta.predict_proba(tuned, inputs)  # as the app reads them
    read_after = after.argmax(axis=1)
    right_after = read_after == labels
    newly_wrong = right_before & ~right_after
    p_before = before[taught][rows, y]
    p_after = after[taught][rows, y]
    return {
        "writer": int(writer),
        "taught": [(int(label), int(read)) for label, read in zip(y, before[taught].argmax(1))],
        "p_before": p_before,
        "p_after": p_after,
        "right_after": int(right_after[taught].sum()),
        "acc_after": accuracy(tuned, *test),
        "own": (
            int(own_rest.sum()),
            int(right_before[own_rest].sum()),
            int(right_after[own_rest].sum()),
        ),
        "others": (
            int(others.sum()),
            int(right_before[others].sum()),
            int(right_after[others].sum()),
        ),
        # (digit, now read as) of the drawings read right before and wrong after
        "own_broken": [
            (int(labels[i]), int(read_after[i])) for i in np.flatnonzero(newly_wrong & own_rest)
        ],
        "others_broken": [
            (int(labels[i]), int(read_after[i])) for i in np.flatnonzero(newly_wrong & others)
        ],
        "others_fixed": int((~right_before & right_after & others).sum()),
        "seconds": seconds,
    }


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def _counts(n: int, before: int, after: int) -> str:
    """Accuracy on ``n`` drawings, ``before`` → ``after`` of them right."""
    if n == 0:
        return "–"
    return f"{n}: {pct(before / n)} → {pct(after / n)}"


def _broken(pairs: list) -> str:
    """The drawings newly misread, as " (7→1, …)"."""
    return f" ({', '.join(f'{d}→{a}' for d, a in pairs)})" if pairs else ""


def report(r: dict) -> str:
    rows, acc0, max_drop = r["rows"], r["acc_before"], r["max_drop"]
    drops = [acc0 - row["acc_after"] for row in rows]
    lines = [
        "## Teach: fine-tuning on a visitor's misread drawings",
        "",
        machine_info_markdown().rstrip(),
        "",
        f"Weights: `{r['weights']}`: {pct(acc0, 2)} on the MNIST test set, "
        f"{pct(r['drawings_acc'])} on the {r['n']} pen-drawn digits (pendigits-dev, "
        f'{r["n_writers"]} writers, the app\'s `canvas_to_mnist(background="dark")` '
        "and `tta.predict_proba`), "
        f"of which {r['n_wrong']} misread, by {r['n_writers_wrong']} writers."
        + (
            " These weights were trained on these writers' pen strokes (the `best` preset), "
            "so few of their drawings are misread; a stranger's would be more often "
            "(benchmarks/RESULTS.md, writer-level cross-validation)."
            if r["seen"]
            else ""
        ),
        "",
        f"Each writer with misread drawings ({len(rows)} taught"
        + (f", the {len(rows)} with the most misreads" if r["limited"] else "")
        + ") plays a visitor who corrects every one of them and presses **Teach**: "
        f"`finetune(weights, drawings, digits, X_train, y_train, **TEACH_ARGS)` with the app's "
        f"`TEACH_ARGS` = `{r['teach_args']}`, the replay drawn from the 55,000 MNIST training "
        "digits of the article's split, always from the same weights (never from an "
        f"earlier writer's taught model). The app refuses a drop of more than "
        f"{max_drop * 100:.1f} points of MNIST test accuracy.",
        "",
        "| writer | taught (digit ← read as) | p(right digit), min: before → after "
        "| median: before → after | read right after | MNIST test: before → after "
        "(points) | the writer's other drawings | other writers' drawings "
        "(newly right / newly wrong) | fine-tuning, s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row, drop in zip(rows, drops):
        k = len(row["taught"])
        taught = ", ".join(f"{d}←{read}" for d, read in row["taught"])
        flag = " **refused**" if drop > max_drop + 1e-12 else ""
        change = (row["acc_after"] - acc0) * 100  # not -drop: no "-0.00"
        lines.append(
            f"| #{row['writer']} | {k}: {taught} "
            f"| {row['p_before'].min():.3f} → {row['p_after'].min():.3f} "
            f"| {median(row['p_before']):.3f} → {median(row['p_after']):.3f} "
            f"| {row['right_after']} of {k} "
            f"| {pct(acc0, 2)} → {pct(row['acc_after'], 2)} ({change:+.2f}){flag} "
            f"| {_counts(*row['own'])}{_broken(row['own_broken'])} "
            f"| {_counts(*row['others'])} (+{row['others_fixed']} / −{len(row['others_broken'])}) "
            f"| {row['seconds']:.1f} |"
        )
    worst = [row["writer"] for row, d in zip(rows, drops) if d >= max(drops) - 1e-12]
    worst_by = ("writers " if len(worst) > 1 else "writer ") + ", ".join(f"#{w}" for w in worst)
    k_total = sum(len(row["taught"]) for row in rows)
    right_total = sum(row["right_after"] for row in rows)
    refused = [row["writer"] for row, d in zip(rows, drops) if d > max_drop + 1e-12]
    own_n = sum(row["own"][0] for row in rows)
    own_b = sum(row["own"][1] for row in rows)
    own_a = sum(row["own"][2] for row in rows)
    other_change = [(row["others"][2] - row["others"][1]) / row["others"][0] for row in rows]
    broken = [len(row["others_broken"]) for row in rows]
    hurt = rows[int(np.argmin(other_change))]["writer"]
    confusions = Counter(pair for row in rows for pair in row["others_broken"]).most_common(3)
    seconds = [row["seconds"] for row in rows]
    lines += [
        "",
        f"- Drawings taught read right afterwards: **{right_total} of {k_total}** "
        f"(lowest p(right digit) after: {min(row['p_after'].min() for row in rows):.3f})",
        f"- Worst MNIST test drop: **{max(drops) * 100:.2f} points** ({worst_by}); "
        f"median {median(drops) * 100:.2f}; "
        + (
            f"above the {max_drop * 100:.1f} allowed, so refused by the app: "
            + ", ".join(f"#{w}" for w in refused)
            if refused
            else f"every one within the {max_drop * 100:.1f} allowed"
        ),
        f"- The writers' other drawings (not taught; all read right before, since every "
        f"misread one was taught), all writers together: {_counts(own_n, own_b, own_a)} "
        f"({own_b - own_a} newly misread)",
        f"- Other writers' drawings: change in accuracy median {median(other_change) * 100:+.2f} "
        f"points, worst {min(other_change) * 100:+.2f} (teaching writer #{hurt}); drawings "
        "newly misread per teach: "
        f"median {median(broken):g}, max {max(broken)}"
        + (
            "; most often (digit→now read as, over all teaches): "
            + ", ".join(f"{d}→{a} ×{n}" for (d, a), n in confusions)
            if confusions
            else ""
        ),
        f"- Fine-tuning: median **{median(seconds):.1f} s**, max {max(seconds):.1f} s "
        "(on this machine, which is shared)",
        "",
        "Run: `python benchmarks/teach.py [--weights FILE] [--data-dir DIR] [--pendigits DIR] "
        "[--max-writers N]`.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_input_arguments(parser)
    parser.add_argument(
        "--max-writers",
        type=int,
        default=0,
        help="teach at most N writers, those with the most misread drawings (default: all)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the RESULTS.md to update")
    args = parser.parse_args(argv)

    teach_args, max_drop = TEACH_ARGS, MAX_DROP
    model, pendigits, data_dir = resolve_inputs(parser, args)
    canvases, labels, writers = load_pendigits(pendigits)
    log("MNIST ...")
    (X_train, y_train), _ = split(*load_mnist("train", data_dir))  # the app's replay data
    test = load_mnist("test", data_dir)
    acc_before = accuracy(model, *test)

    log("drawings ...")
    inputs = np.stack([pp.canvas_to_mnist(c, background="dark") for c in canvases])
    before = tta.predict_proba(model, inputs)  # as the app reads them
    wrong = before.argmax(axis=1) != labels
    ids, counts = np.unique(writers[wrong], return_counts=True)
    order = sorted(zip(ids, counts), key=lambda wc: (-wc[1], wc[0]))
    limited = 0 < args.max_writers < len(order)
    chosen = sorted(int(w) for w, _ in (order[: args.max_writers] if limited else order))

    rows = []
    for i, writer in enumerate(chosen, start=1):
        row = teach_writer(
            model, before, inputs, labels, writers, writer, (X_train, y_train), test, teach_args
        )
        log(
            f"[{i}/{len(chosen)}] writer #{writer}: {row['right_after']} of "
            f"{len(row['taught'])} right, MNIST {pct(acc_before, 2)} → "
            f"{pct(row['acc_after'], 2)}, {row['seconds']:.1f} s"
        )
        rows.append(row)

    r = {
        "weights": args.weights or "weights/digitnet.npz",
        "n": len(labels),
        "n_writers": len(np.unique(writers)),
        "n_wrong": int(wrong.sum()),
        "n_writers_wrong": len(ids),
        "drawings_acc": float(1 - wrong.mean()),
        "acc_before": acc_before,
        "max_drop": max_drop,
        "teach_args": teach_args,
        "limited": limited,
        "rows": rows,
        "seen": bool((model.metadata_.get("data") or {}).get("pen_strokes")),
    }
    if not rows:
        text = "## Teach\n\nThe weights read every drawing right: nothing to teach."
    else:
        text = report(r)
    write_section(args.results, "teach", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
