"""Teach it my handwriting: correct a wrong answer, keep the drawing, fine-tune on it.

On the Draw tab, under the answer, :func:`correction` asks "Not a 7? It's a …" (the digit it read):
the visitor's pick keeps the drawing (as the network sees it: 28×28, floats in
[0, 1]) with that label in their session. :func:`panel`, under the
preprocessing steps, shows the drawings kept and a **Teach** button that
fine-tunes the model answering (:func:`digitnet.finetune.finetune`) on them,
mixed with a replay sample of MNIST training digits so that it does not forget
MNIST. It then shows, before and after, the probability of the right digit on
each drawing and the accuracy on the 10,000 MNIST test digits. If that accuracy
dropped by more than :data:`MAX_DROP`, the old model is kept and the page says
so; otherwise the taught model answers on the Draw tab ("Taught by you").

The drawings (``.npz``: ``images`` float32 (k, 28, 28), ``labels`` uint8) and
the taught weights can be downloaded.

A taught model is always fine-tuned from the model the visitor had chosen
before teaching (its *base*) on every drawing kept so far, never from an earlier
taught model: teaching twice does not compound the drift away from MNIST.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .. import budget, tta
from ..errors import DataError, TrainingDiverged
from ..finetune import finetune
from ..model import MLP
from . import memory, models, state

EXAMPLES_KEY = "teach_examples"  # list of Example
REPORT_KEY = "teach_report"  # the last Report
BASE_KEY = "teach_base"  # (source, description, MLP): what the taught model was taught from
BASE_NAMES = {
    models.SHIPPED: "the shipped weights",
    models.TRAINED: "the network trained here",
    models.UPLOADED: "the uploaded weights",
}
MAX_EXAMPLES = 50  #: drawings kept per visitor
MAX_DROP = 0.005  #: the largest MNIST test accuracy drop accepted (0.5 points)
SLOT_WAIT_S = 30.0  #: how long Teach waits for a free training slot

#: finetune's settings for the app. Chosen on an earlier 784-800-10 network: with
#: finetune's default distortions (they apply to the replay digits too) MNIST test
#: accuracy dropped by 0.3-0.9 points, above the 0.5 allowed; without them, by 0.04-0.18.
#: On the shipped weights (benchmarks/teach.py: each of the 13 pen-drawing writers they
#: misread, 25 drawings in all) MNIST drops by at most 0.03 points and every drawing
#: taught is then read right (p >= 0.71, as the Draw tab reads), in about 1 s.
TEACH_ARGS = {"replay": 3000, "share": 0.25, "epochs": 4, "eta": 1e-4, "augment": None}


@dataclass(frozen=True)
class Example:
    image: np.ndarray  # float32 (28, 28) in [0, 1]: the network's input
    label: int
    read_as: int | None  # what the network answered when it was kept


@dataclass(frozen=True)
class Report:
    """Before and after one Teach."""

    labels: np.ndarray  # (k,)
    p_before: np.ndarray  # (k,) probability of the right digit
    p_after: np.ndarray
    read_before: np.ndarray  # (k,) the answers
    read_after: np.ndarray
    acc_before: float  # MNIST test accuracy
    acc_after: float
    seconds: float  # fine-tuning
    accepted: bool
    base: str  # the base model's description

    @property
    def drop(self) -> float:
        return self.acc_before - self.acc_after


# ---------------------------------------------------------------- pure helpers
def examples() -> list[Example]:
    return st.session_state.setdefault(EXAMPLES_KEY, [])


def keep(kept: list[Example], image: np.ndarray, label: int, read_as: int | None) -> str:
    """Add a drawing with its label, or relabel it if it is already kept; says what it did."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    for i, ex in enumerate(kept):
        if np.array_equal(ex.image, image):
            kept[i] = Example(ex.image, label, ex.read_as)
            return f"This drawing is now kept as a {label}."
    if len(kept) >= MAX_EXAMPLES:
        return f"{MAX_EXAMPLES} drawings are kept already: teach, or forget some first."
    kept.append(Example(image.copy(), int(label), read_as))
    n = len(kept)
    return f"Kept as a {label} ({n} drawing{'s' if n != 1 else ''} to teach): press Teach below."


def examples_npz(kept: list[Example]) -> bytes:
    """The drawings as an ``.npz``: ``images`` float32 (k, 28, 28), ``labels`` uint8 (k,)."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        images=np.stack([ex.image for ex in kept]).astype(np.float32),
        labels=np.array([ex.label for ex in kept], np.uint8),
    )
    return buf.getvalue()


def teach(
    base: MLP,
    kept: list[Example],
    replay_images: np.ndarray,
    replay_labels: np.ndarray,
    accuracy,
    *,
    base_description: str = "",
    **overrides,
) -> tuple[MLP, Report]:
    """Fine-tune ``base`` on the drawings; measure before and after.

    ``accuracy(model)`` gives a model's MNIST test accuracy (the app's cached
    evaluation). Returns the tuned model and the report; ``report.accepted`` is
    False when the accuracy dropped by more than :data:`MAX_DROP`.
    """
    images = np.stack([ex.image for ex in kept])
    labels = np.array([ex.label for ex in kept])
    rows = np.arange(len(kept))
    before = tta.predict_proba(base, images)  # as the Draw tab reads them
    t0 = time.perf_counter()
    tuned = finetune(base, images, labels, replay_images, replay_labels,
                     **{**TEACH_ARGS, **overrides})  # fmt: skip
    seconds = time.perf_counter() - t0
    after = tta.predict_proba(tuned, images)
    acc_before, acc_after = accuracy(base), accuracy(tuned)
    tuned.metadata_["metrics"] = {"mnist_test_accuracy": acc_after}
    report = Report(
        labels=labels,
        p_before=before[rows, labels],
        p_after=after[rows, labels],
        read_before=before.argmax(axis=1),
        read_after=after.argmax(axis=1),
        acc_before=acc_before,
        acc_after=acc_after,
        seconds=seconds,
        accepted=acc_before - acc_after <= MAX_DROP + 1e-12,
        base=base_description,
    )
    return tuned, report


# ---------------------------------------------------------------- under the answer
def correction(image: np.ndarray | None, read_as: int | None) -> None:
    """ "Not a 7? It's a …": the nine other digits; picking one keeps the drawing with it."""
    if image is None or read_as is None:
        return
    st.segmented_control(
        f"Not a {read_as}? It's a…",
        [d for d in range(10) if d != read_as],
        key="correct",
        wrap=True,
        on_change=_corrected,
        args=(read_as,),
        help="Pick the digit you meant: your drawing is kept with it, and **Teach** "
        "(below) teaches the network your handwriting.",
    )
    if st.session_state.get("teach_said"):
        st.caption(st.session_state.teach_said)


def _corrected(read_as: int) -> None:
    label = st.session_state.get("correct")
    image = st.session_state.get(state.DRAWING_KEY)
    st.session_state.correct = None  # ready for the next drawing
    if label is None or image is None:
        return
    st.session_state.teach_said = keep(examples(), image, int(label), read_as)


# ---------------------------------------------------------------- the panel
def panel() -> None:
    """The drawings kept, Teach, and what teaching did (shown once there is something)."""
    kept = examples()
    report = st.session_state.get(REPORT_KEY)
    if not kept and report is None:
        return
    st.markdown("#### Teach it your handwriting")
    if kept:
        st.caption(
            "Your drawings, as the network sees them, with the digit you meant "
            "(and what it read when you corrected it):"
        )
        st.image(
            [_big(ex.image) for ex in kept],
            caption=[
                f"{ex.label}" + (f" (read {ex.read_as})" if ex.read_as is not None else "")
                for ex in kept
            ],
            alt=[f"Your drawing of a {ex.label}, as the network sees it" for ex in kept],
            width=64,
        )
        bar = st.container(horizontal=True, gap="small")
        bar.button("Teach", key="teach", type="primary", icon=":material/school:")
        bar.button(
            "Forget the last", key="teach_undo", icon=":material/undo:", on_click=_forget_last
        )
        bar.button("Forget all", key="teach_forget", icon=":material/delete:", on_click=_forget_all)
        bar.download_button(
            "Drawings (.npz)",
            data=examples_npz(kept),
            file_name="my-digits.npz",
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="teach_download_drawings",
        )
        if st.session_state.get("teach"):
            run_teach(kept)
            report = st.session_state.get(REPORT_KEY)
    if report is not None:
        show_report(report)


def _forget_last() -> None:
    kept = examples()
    if kept:
        kept.pop()
    st.session_state.teach_said = ""


def _forget_all() -> None:
    examples().clear()
    st.session_state.teach_said = ""


def run_teach(kept: list[Example]) -> None:
    """Teach pressed: fine-tune, measure, and (if accepted) answer with the taught model."""
    who = state.answering_model()
    if who.model is None:
        st.error("No model to teach.")
        return
    base = st.session_state.get(BASE_KEY)
    if who.source != models.TAUGHT or base is None:
        base = (who.source, who.description, who.model)
    _, description, model = base
    try:  # fine-tuning a copy with Adam takes memory too: the same budget as a run
        budget.check_run(_as_fine_tuned(model), budget.app_run_memory_bytes(), copies=1)
    except budget.BudgetError as e:
        st.warning(f"{description[:1].upper()}{description[1:]} is too large to teach on "
                   f"this server: {e}.", icon=":material/memory:")  # fmt: skip
        return
    try:
        with st.spinner("Loading MNIST (once per server)…"):
            bar = st.empty()
            data = state.training_data(_progress(bar))
            state.test_data(_progress(bar))
            bar.empty()
    except DataError as e:
        st.error(str(e).splitlines()[0], icon=":material/cloud_off:")
        return
    size = memory.arrays_mb([model])  # fine-tuning: Adam's state, copies, the replay digits
    why = state.memory_refusal(6 * size + 10, 2 * size)  # keeps the taught model and its base
    if why:
        st.info(why, icon=":material/hourglass_top:")
        return
    ctx = get_script_run_ctx()
    slots, me = state.training_slots(), f"teach-{ctx.session_id if ctx else 'no-session'}"
    with st.spinner(f"Teaching it your {len(kept)} drawing{'s' if len(kept) != 1 else ''}…"):
        if not slots.acquire(me, timeout=SLOT_WAIT_S):
            st.warning(
                "Every training slot of this server is busy: try Teach again in a moment.",
                icon=":material/hourglass_top:",
            )
            return
        try:
            tuned, report = teach(
                model,
                kept,
                data.X_train,
                data.y_train,
                lambda m: state.test_evaluation(m)["accuracy"],
                base_description=description,
            )
        except TrainingDiverged:  # its own advice (a smaller learning rate) does not apply here
            st.error(
                f"{description[:1].upper()}{description[1:]} cannot be taught: fine-tuning made "
                "its cost NaN or infinite (its weights are too large to learn from), so it "
                "is left as it was and keeps answering.",
                icon=":material/error:",
            )
            return
        except state.EvaluationBusy as e:
            st.warning(str(e), icon=":material/hourglass_top:")
            return
        finally:
            slots.release(me)
    st.session_state[REPORT_KEY] = report
    st.session_state.teach_said = ""
    if report.accepted:
        st.session_state[BASE_KEY] = base
        n = len(kept)
        st.session_state[state.TAUGHT_KEY] = (
            f"{BASE_NAMES.get(base[0], 'the network')}, taught {n} drawing"
            f"{'s' if n != 1 else ''} of yours ({report.acc_after:.2%} on the MNIST test set)",
            tuned,
        )
        state.set_source(models.TAUGHT)
    st.rerun()  # the whole page: the answer, and the model picker, use the taught model


def _as_fine_tuned(model: MLP) -> MLP:
    """The settings :func:`digitnet.finetune.finetune` trains ``model`` with (for the budget)."""
    rows = int(TEACH_ARGS["replay"] / (1 - TEACH_ARGS["share"]))  # replay + the drawings
    params = model.get_params()
    params.update(optimizer="adam", train_metrics="running", early_stopping=False,
                  augment=None, batch_size=min(model.batch_size, rows))  # fmt: skip
    return MLP(**params)


def _progress(bar):
    def progress(name: str, done: int, total: int | None) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0,
                     text=f"Downloading MNIST (once per server): {name}")  # fmt: skip

    return progress


def show_report(report: Report) -> None:
    """Before/after: each drawing's right-digit probability, MNIST test accuracy, time."""
    lines = ["| drawing | your digit | before | after |", "|---|---|---|---|"]
    for i, (label, pb, pa, rb, ra) in enumerate(
        zip(report.labels, report.p_before, report.p_after, report.read_before, report.read_after),
        start=1,
    ):
        lines.append(f"| {i} | {label} | {_cell(pb, rb, label)} | {_cell(pa, ra, label)} |")
    right_before = int((report.read_before == report.labels).sum())
    right_after = int((report.read_after == report.labels).sum())
    k = len(report.labels)
    summary = (
        f"Your drawings read right: **{right_before} of {k}** before, **{right_after} of {k}** "
        f"after. MNIST test accuracy: **{report.acc_before:.2%}** before, "
        f"**{report.acc_after:.2%}** after ({-report.drop * 100:+.2f} points). "
        f"Fine-tuning took {report.seconds:.1f} s."
    )
    if report.accepted:
        st.success(
            summary + " The Draw tab now answers with the taught network (“Taught by you”).",
            icon=":material/school:",
        )
    else:
        st.warning(
            summary + f" That is a drop of more than {MAX_DROP * 100:.1f} points: it would "
            "forget too much of MNIST, so the old model is kept. Try fewer, or clearer, "
            "drawings.",
            icon=":material/warning:",
        )
    with st.expander("Before and after, drawing by drawing"):
        st.markdown("\n".join(lines))
        st.caption(
            "The probability the network gives the digit you meant, and (when it is not "
            "that digit) what it read. It learned from these very drawings, mixed with "
            f"{TEACH_ARGS['replay']:,} MNIST training digits; a new drawing of yours is the "
            "real test."
        )
    taught = st.session_state.get(state.TAUGHT_KEY)
    if report.accepted and taught is not None:
        st.download_button(
            "Taught weights (.npz)",
            data=lambda: models.weights_file(taught[1], models.TAUGHT),
            file_name="digitnet-taught.npz",
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="teach_download_weights",
        )


def _cell(p: float, read: int, label: int) -> str:
    return f"{p:.0%}" if read == label else f"{p:.0%} (read {read})"


def _big(image: np.ndarray, k: int = 3) -> np.ndarray:
    """A 28×28 image in [0, 1] as uint8, enlarged k× (nearest): one square per pixel."""
    return np.kron(np.clip(image, 0, 1) * 255, np.ones((k, k))).astype(np.uint8)
