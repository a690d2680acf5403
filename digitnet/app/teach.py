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
from . import i18n, memory, models, pictures, state
from .i18n import message, t

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
    return st.session_state.setdefault(state.TEACH_EXAMPLES_KEY, [])


def keep(kept: list[Example], image: np.ndarray, label: int, read_as: int | None) -> i18n.Message:
    """Add a drawing with its label, or relabel it if it is already kept; says what it did."""
    image = np.asarray(image, np.float32).reshape(28, 28)
    for i, ex in enumerate(kept):
        if np.array_equal(ex.image, image):
            kept[i] = Example(ex.image, label, ex.read_as)
            return message("teach.relabelled", label=label)
    if len(kept) >= MAX_EXAMPLES:
        return message("teach.full", max=MAX_EXAMPLES)
    kept.append(Example(image.copy(), int(label), read_as))
    return message("teach.kept", label=label, count=len(kept))


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
        t("teach.correct", read=read_as),
        [d for d in range(10) if d != read_as],
        key=state.CORRECTION_KEY,
        wrap=True,
        on_change=_corrected,
        args=(read_as,),
        help=t("teach.correct_help"),
    )
    if st.session_state.get(state.TEACH_SAID_KEY):
        st.caption(str(st.session_state[state.TEACH_SAID_KEY]))


def _corrected(read_as: int) -> None:
    label = st.session_state.get(state.CORRECTION_KEY)
    image = st.session_state.get(state.DRAWING_KEY)
    st.session_state[state.CORRECTION_KEY] = None  # ready for the next drawing
    if label is None or image is None:
        return
    st.session_state[state.TEACH_SAID_KEY] = keep(examples(), image, int(label), read_as)


# ---------------------------------------------------------------- the panel
def panel() -> None:
    """The drawings kept, Teach, and what teaching did (shown once there is something)."""
    kept = examples()
    report = st.session_state.get(state.TEACH_REPORT_KEY)
    if not kept and report is None:
        return
    st.markdown("#### " + t("teach.heading"))
    if kept:
        st.caption(t("teach.kept_caption"))
        st.image(
            [pictures.big(ex.image, 3) for ex in kept],
            caption=[
                str(ex.label) if ex.read_as is None else t("teach.read", label=ex.label,
                                                           read=ex.read_as)
                for ex in kept
            ],
            alt=[t("teach.kept_alt", label=ex.label) for ex in kept],
            width=64,
        )  # fmt: skip
        bar = st.container(horizontal=True, gap="small")
        bar.button(t("teach.teach"), key=state.TEACH_BUTTON_KEY, type="primary",
                   icon=":material/school:")  # fmt: skip
        bar.button(
            t("teach.forget_last"), key="teach_undo", icon=":material/undo:", on_click=_forget_last
        )
        bar.button(
            t("teach.forget_all"), key="teach_forget", icon=":material/delete:",
            on_click=_forget_all,
        )  # fmt: skip
        bar.download_button(
            t("teach.download_drawings"),
            data=examples_npz(kept),
            file_name="my-digits.npz",
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="teach_download_drawings",
        )
        if st.session_state.get(state.TEACH_BUTTON_KEY):
            run_teach(kept)
            report = st.session_state.get(state.TEACH_REPORT_KEY)
    if report is not None:
        show_report(report)


def _forget_last() -> None:
    kept = examples()
    if kept:
        kept.pop()
    st.session_state[state.TEACH_SAID_KEY] = ""


def _forget_all() -> None:
    examples().clear()
    st.session_state[state.TEACH_SAID_KEY] = ""


def run_teach(kept: list[Example]) -> None:
    """Teach pressed: fine-tune, measure, and (if accepted) answer with the taught model."""
    who = state.answering_model()
    if who.model is None:
        st.error(t("teach.no_model"))
        return
    base = st.session_state.get(state.TEACH_BASE_KEY)
    if who.source != models.TAUGHT or base is None:
        base = (who.source, who.description, who.model)
    _, description, model = base
    # what is being taught, in the page's language (base's description may be in another)
    what = who.description if base[0] == who.source else t(f"model.base.{base[0]}")
    what = what[:1].upper() + what[1:]
    try:  # fine-tuning a copy with Adam takes memory too: the same budget as a run
        budget.check_run(_as_fine_tuned(model), budget.app_run_memory_bytes(), copies=1)
    except budget.BudgetError as e:
        st.warning(t("teach.too_large", model=what, detail=e), icon=":material/memory:")
        return
    try:
        with st.spinner(t("teach.loading")):
            bar = st.empty()
            progress = state.download_progress(bar)
            data = state.training_data(progress)
            state.test_data(progress)
            bar.empty()
    except DataError as e:
        st.error(t("data.failed", detail=str(e).splitlines()[0]), icon=":material/cloud_off:")
        return
    size = memory.arrays_mb([model])  # fine-tuning: Adam's state, copies, the replay digits
    why = state.memory_refusal(6 * size + 10, 2 * size)  # keeps the taught model and its base
    if why:
        st.info(str(why), icon=":material/hourglass_top:")
        return
    ctx = get_script_run_ctx()
    slots, me = state.training_slots(), f"teach-{ctx.session_id if ctx else 'no-session'}"
    with st.spinner(t("teach.teaching", count=len(kept))):
        if not slots.acquire(me, timeout=SLOT_WAIT_S):
            st.warning(t("teach.busy"), icon=":material/hourglass_top:")
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
            st.error(t("teach.diverged", model=what), icon=":material/error:")
            return
        except state.EvaluationBusy:
            st.warning(t("data.busy"), icon=":material/hourglass_top:")
            return
        finally:
            slots.release(me)
    st.session_state[state.TEACH_REPORT_KEY] = report
    st.session_state[state.TEACH_SAID_KEY] = ""
    if report.accepted:
        st.session_state[state.TEACH_BASE_KEY] = base
        n = len(kept)
        facts = {"base": base[0], "count": n, "accuracy": report.acc_after}
        st.session_state[state.TAUGHT_KEY] = (facts, tuned)  # described in the page's language
        state.set_source(models.TAUGHT)
    st.rerun()  # the whole page: the answer, and the model picker, use the taught model


def _as_fine_tuned(model: MLP) -> MLP:
    """The settings :func:`digitnet.finetune.finetune` trains ``model`` with (for the budget)."""
    rows = int(TEACH_ARGS["replay"] / (1 - TEACH_ARGS["share"]))  # replay + the drawings
    params = model.get_params()
    params.update(optimizer="adam", train_metrics="running", early_stopping=False,
                  augment=None, batch_size=min(model.batch_size, rows))  # fmt: skip
    return MLP(**params)


def show_report(report: Report) -> None:
    """Before/after: each drawing's right-digit probability, MNIST test accuracy, time."""
    lines = [t("teach.table_head"), "|---|---|---|---|"]
    for i, (label, pb, pa, rb, ra) in enumerate(
        zip(report.labels, report.p_before, report.p_after, report.read_before, report.read_after),
        start=1,
    ):
        lines.append(f"| {i} | {label} | {_cell(pb, rb, label)} | {_cell(pa, ra, label)} |")
    right_before = int((report.read_before == report.labels).sum())
    right_after = int((report.read_after == report.labels).sum())
    k = len(report.labels)
    summary = t(
        "teach.summary", right_before=right_before, right_after=right_after, count=k,
        acc_before=report.acc_before, acc_after=report.acc_after, change=-report.drop * 100,
        seconds=report.seconds,
    )  # fmt: skip
    if report.accepted:
        taught = t("model.source.taught")
        st.success(i18n.join(summary, t("teach.accepted", taught=taught)), icon=":material/school:")
    else:
        st.warning(
            i18n.join(summary, t("teach.rejected", max=MAX_DROP * 100)), icon=":material/warning:"
        )
    with st.expander(t("teach.details")):
        st.markdown("\n".join(lines))
        st.caption(t("teach.details_caption", replay=TEACH_ARGS["replay"]))
    taught = st.session_state.get(state.TAUGHT_KEY)
    if report.accepted and taught is not None:
        st.download_button(
            t("teach.download_weights"),
            data=lambda: models.weights_file(taught[1], models.TAUGHT),
            file_name="digitnet-taught.npz",
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="teach_download_weights",
        )


def _cell(p: float, read: int, label: int) -> str:
    return f"{p:.0%}" if read == label else t("teach.cell_read", p=p, read=read)
