"""The Train tab: choose a preset and hyperparameters, train, and watch it learn.

The run itself happens in a worker thread (:mod:`digitnet.app.jobs`); this
page only starts, stops and resumes it, and reads its progress. While a run
is active, :func:`live_view` redraws itself every :data:`REFRESH_S` seconds
(``st.fragment(run_every=...)``): progress bar, epoch, elapsed time and ETA,
and the article's three curves -- cost, training accuracy and validation
accuracy per epoch; below them, the first layer's pictures and the readings of the
drawing and the validation digits (:mod:`digitnet.app.live`) redraw themselves in a
fragment of their own, less often (:data:`digitnet.app.live.REFRESH_S`): they change at
most once an epoch or so. When the run ends, the page stops refreshing.

Every run of the session is kept (its history), and earlier ones can be
overlaid on the charts to compare them.
"""

from __future__ import annotations

import streamlit as st

from .. import budget
from ..errors import DataError
from ..model import PARAMETERS
from ..presets import (
    DESCRIPTIONS,
    PEN_STROKE_COPIES,
    PRESETS,
    STYLED_DIGITS,
    build,
    preset_params,
)
from . import charts, compare, i18n, jobs, link, live, models, state
from .i18n import t

REFRESH_S = 0.5  #: live view period while a run is active (twice a second)
MAX_EPOCHS = 200  #: per run, on a shared server (the article's run is 100)
MAX_WEIGHTS = 2_500_000  #: per network, on a shared server (``best`` has 636,010)
DEFAULT_PRESET = "fast"
MIN_RUN_INTERVAL_S = state.PANEL_PACE_S  #: the panel's pace per visitor: the Draw panel's


def render() -> None:
    """The whole Train tab (only run while it is the open tab)."""
    train_panel()


def open_link() -> link.Link | None:
    """On a visit's first run, the link it was opened with (:mod:`digitnet.app.link`)."""
    return link.on_first_run({"epochs": (1, MAX_EPOCHS)})


@st.fragment
def train_panel() -> None:
    """Settings, Start/Stop/Resume, the live view, and the runs of this session."""
    # Its widgets rerun this fragment alone, outside the Draw panel's pace: a crafted page
    # sending changes as fast as the server answers ran it back to back, about 45 ms of
    # CPU each with two runs to compare, a whole core holding the GIL.
    state.keep_pace(state.TRAIN_RUN_KEY, MIN_RUN_INTERVAL_S)
    job = state.job()
    opened = link.linked()
    preset = st.segmented_control(
        t("train.preset"),
        list(PRESETS),
        default=opened.preset or DEFAULT_PRESET,
        required=True,
        key="preset",
        persist_state="page",
    )
    st.caption(t("train.preset_caption", preset=preset, description=describe_preset(preset)))
    if opened.problems and not st.session_state.get(state.LINK_DISMISSED_KEY):
        st.warning(opened.message(opened.preset), icon=":material/link_off:")
    params = hyperparameters(preset, opened.values if preset == opened.preset else {})
    link.follow(preset, params)
    model, error = check(preset, params)
    if error:
        st.error(error)

    buttons = st.container(horizontal=True, gap="small")  # filled once the run has started
    # What starting says (its download progress, a refusal) goes in a container that is
    # there in every run: the live view's fragments below keep their place on the page,
    # and so their identity (Streamlit names a fragment by where it is drawn; moved by
    # one element, a fragment redrawn on its own timer left a copy of itself behind).
    notes = st.container()
    if st.session_state.pop(state.START_REQUESTED_KEY, False) and model is not None:
        with notes:
            start(job, preset, params)  # its download progress or error, under the buttons
    snap = job.snapshot()
    buttons.button(
        t("train.start"),
        key="start",
        type="primary",
        icon=":material/play_arrow:",
        disabled=model is None or snap.active,
        on_click=_request_start,
    )
    if snap.can_resume:
        buttons.button(
            t("train.resume"), key="resume", icon=":material/resume:", on_click=job.resume
        )
    else:
        buttons.button(
            t("train.stop"), key="stop", icon=":material/stop:", on_click=job.stop,
            disabled=not snap.active,
        )  # fmt: skip
    live.course_control(snap, job, buttons)
    link.copy_button(buttons)
    if snap.active:
        live_view()
        live.watching()  # the pictures and readings: a fragment of their own, less often
    else:
        progress_view(snap, job)
        live.render(snap, job)
    runs_table(job)
    compare.panel(job)


@st.fragment(run_every=REFRESH_S)
def live_view() -> None:
    """Redrawn every REFRESH_S s while the run is active (only rendered then)."""
    job = state.job()
    job.beat()
    snap = job.snapshot()
    progress_view(snap, job)
    live.pending_caption(job)
    if not snap.active:
        st.rerun()  # the whole page: it no longer renders this fragment, so its timer stops


# ---------------------------------------------------------------- settings
def hyperparameters(preset: str, linked: dict | None = None) -> dict:
    """The hyperparameter inputs, filled with the preset's values; returns what is set.

    Every input has a key of its own per preset, so switching presets shows that
    preset's values, and switching back shows your edits again. ``linked``: the values
    of a link the page was opened with (:mod:`digitnet.app.link`), shown instead.
    """
    linked = linked or {}
    p = preset_params(preset)
    defaults = build(preset)  # the MLP defaults for what the preset does not set

    def key(name: str) -> str:
        return f"hp_{preset}_{name}"

    def value(name: str):
        return linked[name] if name in linked else p.get(name, getattr(defaults, name))

    def choice(col, label, name):
        options = PARAMETERS[name].choices
        return col.selectbox(label, options, index=list(options).index(value(name)),
                             format_func=i18n.labeller(f"train.choice.{name}."),
                             key=key(name), persist_state="page")  # fmt: skip

    def number(col, label, name, *, step, fmt="%g", low=0.0, high=None):
        v = value(name)
        integer = isinstance(v, int) and not isinstance(v, bool)
        return col.number_input(
            label,
            min_value=int(low) if integer else low,
            max_value=high,
            value=v,
            step=step,
            format=None if integer else fmt,
            key=key(name),
            persist_state="page",
        )

    out: dict = {}
    hidden = linked.get("hidden", ", ".join(str(u) for u in defaults.hidden_layers))
    with st.expander(t("train.hyperparameters", preset=preset), expanded=False):
        c1, c2, c3 = st.columns(3)
        out["hidden"] = c1.text_input(
            t("train.hp.hidden"),
            hidden,
            max_chars=link.MAX_TEXT,  # Streamlit cuts what a crafted message sends, too
            key=key("hidden"),
            persist_state="page",
            help=t("train.hp.hidden_help"),
        )
        out["activation"] = choice(c2, t("train.hp.activation"), "activation")
        out["output"] = choice(c3, t("train.hp.output"), "output")
        out["optimizer"] = choice(c1, t("train.hp.optimizer"), "optimizer")
        out["eta"] = number(c2, t("train.hp.eta"), "eta", step=0.0001)
        out["l2"] = number(c3, t("train.hp.l2"), "l2", step=0.001)
        out["batch_size"] = number(c1, t("train.hp.batch_size"), "batch_size", step=10, low=1)
        out["epochs"] = number(c2, t("train.hp.epochs"), "epochs", step=1, low=1, high=MAX_EPOCHS)
        out["seed"] = number(c3, t("train.hp.seed"), "seed", step=1, low=0)
        st.caption(t("train.hp.more"))
        d1, d2, d3 = st.columns(3)
        out["momentum"] = number(d1, t("train.hp.momentum"), "momentum", step=0.05)
        out["schedule"] = choice(d2, t("train.hp.schedule"), "schedule")
        out["warmup"] = number(d3, t("train.hp.warmup"), "warmup", step=0.05)
        out["init"] = choice(d1, t("train.hp.init"), "init")
        out["init_scale"] = number(d2, t("train.hp.init_scale"), "init_scale", step=0.01)
        out["input_scaling"] = choice(d3, t("train.hp.input_scaling"), "input_scaling")
        out["precision"] = choice(d1, t("train.hp.precision"), "precision")
        out["train_metrics"] = choice(d2, t("train.hp.train_metrics"), "train_metrics")
        out["early_stopping"] = d3.checkbox(
            t("train.hp.early_stopping"),
            value=value("early_stopping"),
            key=key("early_stopping"),
            persist_state="page",
        )
        if value("augment"):
            use = d1.checkbox(
                t("train.hp.augment"),
                value=linked.get("augment", True),
                key=key("augment"),
                persist_state="page",
                help=f"`{value('augment')}`",
            )
            out["augment"] = value("augment") if use else {}  # {}: none (None = preset's)
    return out


def check(preset: str, params: dict):
    """Build the network the settings describe: ``(model, None)`` or ``(None, message)``."""
    try:
        hidden = parse_hidden(params["hidden"])
    except ValueError:
        return None, t("train.bad_hidden", text=repr(str(params["hidden"])))
    try:
        model = build(preset, **{**params, "hidden": hidden})
    except ValueError as e:  # the library's own words for what is wrong
        return None, t("train.cannot", detail=e)
    n_weights = sum(a * b + b for a, b in zip(model.layer_sizes, model.layer_sizes[1:]))
    if n_weights > MAX_WEIGHTS:
        return None, t("train.too_big", weights=n_weights, most=MAX_WEIGHTS)
    try:  # weights, optimizer, a minibatch's activations, evaluation: before anything runs
        budget.check_run(model, budget.app_run_memory_bytes(), copies=jobs.COPIES_HELD)
    except budget.BudgetError as e:
        return None, t("train.cannot", detail=e)
    return model, None


def describe_preset(preset: str) -> str:
    """What a preset is, in the page's language (the library's words if it has no text)."""
    key = f"train.preset.{preset}"
    return t(key) if key in i18n.LANGUAGES[i18n.DEFAULT].texts else DESCRIPTIONS[preset]


def parse_hidden(text: str) -> list[int]:
    """``"256, 128"`` -> ``[256, 128]``, with a clear message for anything else."""
    parts = [t.strip() for t in str(text).replace(";", ",").split(",") if t.strip()]
    if not parts or not all(t.isdigit() for t in parts):
        raise ValueError(
            f"hidden layers must be whole numbers separated by commas, like 100 or "
            f"256, 128; got {text!r}"
        )
    return [int(t) for t in parts]


# ---------------------------------------------------------------- starting a run
def _request_start() -> None:
    """Start clicked (runs before the rerun): the Draw tab will use the new model."""
    st.session_state[state.START_REQUESTED_KEY] = True
    st.session_state[state.LINK_DISMISSED_KEY] = True  # the link's one line has been read by now
    state.set_source(models.TRAINED)


def start(job: jobs.TrainJob, preset: str, params: dict) -> None:
    """Load MNIST (downloading it the first time, with a progress bar) and start the run."""
    model, error = check(preset, params)
    if model is None:
        st.error(error)
        return
    need = budget.run_memory(model)  # the run's peak, and what the session keeps after it
    why = state.memory_refusal(need.total / 2**20, (need.weights + need.optimizer) / 2**20,
                               with_job=False)  # fmt: skip
    if why:
        st.info(str(why), icon=":material/hourglass_top:")
        return
    bar = st.empty()
    progress = state.download_progress(bar)
    try:
        data = state.training_data(progress)
        if PEN_STROKE_COPIES.get(preset):  # best also trains on the writers' pen strokes
            state.pen_strokes(progress)
    except DataError as e:  # offline, or a bad file: the message says what to do
        bar.empty()
        first, *rest = str(e).splitlines()
        st.error(t("train.data_failed", detail=first), icon=":material/cloud_off:")
        if rest:
            st.code("\n".join(rest), language=None, wrap_lines=True)
        return
    bar.empty()
    if STYLED_DIGITS.get(preset) or PEN_STROKE_COPIES.get(preset):  # as the shipped weights
        data = state.styled_training_data(STYLED_DIGITS[preset], PEN_STROKE_COPIES.get(preset, 0))
    hidden = "-".join(str(u) for u in model.hidden_layers)
    label = f"{preset} {hidden} {model.activation} η={model.eta:g}"
    try:
        job.set_drawing(st.session_state.get(state.DRAWING_KEY))  # read after every epoch
        job.start(model, data, preset=preset, label=label)
    except ValueError as e:
        st.error(t("train.cannot", detail=e))


# ---------------------------------------------------------------- progress
def progress_view(snap: jobs.Snapshot, job: jobs.TrainJob) -> None:
    """Progress bar, epoch / elapsed / ETA, the curves, and how the run ended."""
    if snap.state == "idle":
        st.info(t("train.idle", start=t("train.start")))
        return
    if snap.state == "waiting":
        st.info(
            t("train.waiting", in_use=snap.slots_in_use, cap=snap.slots_cap),
            icon=":material/hourglass_top:",
        )
    epoch = min(snap.epoch + 1, snap.epochs) if snap.batch else snap.epoch
    st.progress(min(1.0, snap.fraction), text=t("train.epoch_of", epoch=epoch, epochs=snap.epochs))
    facts = [t("train.elapsed", time=_duration(snap.elapsed))]
    if snap.seconds_left is not None:
        facts.append(t("train.eta", time=_duration(snap.seconds_left)))
    if snap.history:
        last = snap.history[-1]
        facts.append(t("train.cost", cost=last["cost"]))
        facts.append(t("train.training", accuracy=last["train_acc"]))
        if last.get("valid_acc") is not None:
            facts.append(t("train.validation", accuracy=last["valid_acc"]))
    state_name = t(f"train.state.{snap.state}")
    st.caption(" · ".join([t("train.run", run=snap.run), state_name, *facts]))

    current = (t("train.this_run", run=snap.run), list(snap.history))
    earlier = [
        (r.label, r.history)
        for r in job.runs()
        if r.label in st.session_state.get(state.COMPARE_KEY, []) and r.number != snap.run
    ]
    x_max = max([snap.epochs] + [len(h) for _, h in earlier])
    now = snap.epoch_float if snap.active else None
    if snap.history or earlier:
        for column, metric in zip(st.columns(2), ("cost", "accuracy")):
            column.vega_lite_chart(
                *charts.curves(
                    [current, *earlier], metric, x_max=x_max, now=now, changes=snap.changes
                ),
                width="stretch",
            )
        st.caption(
            i18n.join(
                t("train.curves"),
                t("train.curves_earlier") if earlier else "",
                t("train.curves_now") if now is not None else "",
                charts.curves_summary(snap.history),
                live.changes_caption(snap.changes),
            )
        )
    elif snap.active:
        st.caption(t("train.curves_later"))

    if snap.state == "done" and snap.test_acc is not None:
        drawing_with_it = st.session_state.get(state.SOURCE_KEY) == models.TRAINED
        then = (
            t("train.draws_with_it")
            if drawing_with_it
            else t("train.choose_it", source=t("model.source.trained"))
        )
        st.success(
            i18n.join(t("train.done", accuracy=snap.test_acc), then),
            icon=":material/check_circle:",
        )
    elif snap.state == "stopped":
        st.info(
            t(
                "train.stopped",
                epoch=snap.epoch_float,
                epochs=snap.epochs,
                resume=t("train.resume"),
            ),
            icon=":material/pause_circle:",
        )
    elif snap.state in ("diverged", "failed"):  # the library's words, after a lead of ours
        st.error(t(f"train.{snap.state}", detail=snap.message))
    elif snap.state == "ended":
        st.warning(t("train.ended"))
    elif snap.state == "timeout":
        st.warning(
            t("train.timeout", limit=_duration(job.time_limit), env=budget.RUN_MINUTES_ENV,
              epoch=snap.epoch_float, epochs=snap.epochs)
        )  # fmt: skip


def runs_table(job: jobs.TrainJob) -> None:
    """This session's runs, and which earlier ones to overlay on the charts."""
    runs = job.runs()
    if len(runs) < 2:
        return
    current = runs[-1].number
    st.multiselect(
        t("train.compare"),
        [r.label for r in runs if r.number != current],
        key=state.COMPARE_KEY,
        persist_state="page",
        placeholder=t("train.compare_placeholder"),
    )
    lines = [t("train.runs_head"), "|---|---|---|---|---|"]
    for r in reversed(runs):
        valid = r.history[-1].get("valid_acc") if r.history else None
        lines.append(
            f"| {r.label} | {len(r.history)}/{r.epochs} | "
            f"{'' if valid is None else f'{valid:.2%}'} | "
            f"{'' if r.test_acc is None else f'{r.test_acc:.2%}'} | {t(f'train.state.{r.state}')} |"
        )
    st.markdown("\n".join(lines))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return t("train.seconds", seconds=seconds)
    minutes, s = divmod(round(seconds), 60)
    return t("train.minutes", minutes=minutes, seconds=s)
