"""Watch it learn, on the Train tab: the first layer forming, the drawing re-read every epoch,
and a change of course mid-run.

Below the cost and accuracy curves of a run (:mod:`digitnet.app.train_view`):

- **The first layer forming**: the incoming weights of 16 units of the first hidden layer
  as 28×28 pictures, red where ink excites the unit and blue where it inhibits it (the
  pictures of the Explore tab, :func:`digitnet.app.explore.diverging`), drawn again at
  every epoch's end, and every few hundred minibatches within long epochs
  (:func:`digitnet.app.watch.frame`). They are made here, on the page, from the weight
  copy the worker publishes anyway for the Draw tab: the worker's loop does nothing more
  for them. One PNG of the 4×4 grid is made per picture (a few ms; about 10 kB, one pixel
  per weight in 256 colours, enlarged by the browser) and kept until the next one. It is
  sent inline (a ``data:`` URL), not as a media file: Streamlit deletes a media file as
  soon as a rerun replaces or hides it, and a browser that had not fetched it yet (a busy
  server, a tab switched mid-refresh) got a 404. Which units: a fixed sample (the same
  units all run long), the ones that moved most since the start, or the ones most active
  for the drawing.
- **Your drawing, re-read every epoch**: the ten probabilities the network being trained
  gives the drawing on the Draw tab, after every epoch (recorded by the worker:
  :class:`digitnet.app.watch.Readings`), and the probability of the right digit for six
  fixed validation digits, three clear and three hard ones.
- **Change course**: a new learning rate (and momentum, where the optimizer has one) for
  the rest of the run, taken up between two minibatches (:meth:`TrainJob.change_course`);
  every change is marked on the curves and kept in the run's history and in its weights'
  metadata (``changes``).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
from PIL import Image

from . import charts, i18n, jobs, state, watch
from .i18n import t
from .pictures import big, data_url, diverging

GRID_COLUMNS = 4  #: pictures per row in the grid (16 units: 4 × 4)
GAP = 1  #: px between the pictures, in the PNG (one px per weight)
ZOOM = 3  #: shown this many times larger, each weight a sharp square (CSS ``pixelated``)
BACKGROUND = (70, 70, 80)  #: between the pictures (the frame of Explore's pictures)
#: The grid's PNG is one pixel per weight (a few kB), enlarged by the browser without
#: smoothing, so that every weight shows as a square as on the Explore tab (in the page's
#: style sheet, :mod:`digitnet.app.main`: sent once, not with every refresh).
GRID_CSS = (
    '[class*="st-key-live_grid"] img { image-rendering: pixelated; }'
    # the choice of units wraps in a narrow column (a phone; longer words) instead of being cut
    ' .st-key-live_units [role="radiogroup"] { flex-wrap: wrap; }'
)

FIXED, CHANGED, ACTIVE = "fixed sample", "most changed", "most active"
UNIT_CHOICES = (FIXED, CHANGED, ACTIVE)
#: The choices' words (text keys)
UNIT_TEXTS = {FIXED: "live.units.fixed", CHANGED: "live.units.changed", ACTIVE: "live.units.active"}
UNITS_KEY = "live_units"  #: the control that picks which units are shown
READ_NOW, OTHER = "read now", "other digits"
SURE = 0.65  #: as the Draw tab: below this, "not sure" (digitnet.app.draw.NOT_SURE_THRESHOLD)
CLEAR, HARD = "clear", "hard"
#: The pictures and readings are redrawn in a fragment of their own, less often than the
#: progress and the curves (:data:`digitnet.app.train_view.REFRESH_S`): they change at
#: most once an epoch (or every few hundred minibatches), and each redraw is a dozen
#: elements to build and send while the run trains on the same CPU.
REFRESH_S = 2.0
#: The fragment runs at most this often per visitor: the Draw panel's pace.
MIN_RUN_INTERVAL_S = state.PANEL_PACE_S


# ---------------------------------------------------------------- the Draw tab tells the run
def follow_drawing(image: np.ndarray | None) -> None:
    """The Draw tab's drawing changed (or was read again): tell this visitor's run, if any,
    so that it reads the drawing after every epoch. Cheap when nothing changed."""
    job = st.session_state.get(state.JOB_KEY)
    if job is not None:
        job.set_drawing(image)


# ---------------------------------------------------------------- everything below the curves
def pending_caption(job: jobs.TrainJob) -> None:
    """A change of course asked for and not yet taken up (it is, within a minibatch)."""
    pending = job.pending_change()
    if pending:
        st.caption(t("live.pending", change=_course_text(pending)))


@st.fragment(run_every=REFRESH_S)
def watching() -> None:
    """:func:`render` for the active run, redrawn every :data:`REFRESH_S` s by itself."""
    # Its control reruns it alone: at the Draw panel's pace, as the Train panel.
    state.keep_pace(state.WATCH_RUN_KEY, MIN_RUN_INTERVAL_S)
    job = state.job()
    render(job.snapshot(), job)


def render(snap: jobs.Snapshot, job: jobs.TrainJob) -> None:
    """The first layer's pictures and the readings, for the current run."""
    pub = job.published()
    if pub is None or pub.run != snap.run or snap.state == "ended":
        return
    left, right = st.columns(2, gap="medium")
    with left:
        units_panel(snap, job, pub)
    with right:
        readings_panel(snap, job)


def units_panel(snap: jobs.Snapshot, job: jobs.TrainJob, pub: jobs.Published) -> None:
    W = pub.model.weights_[0]
    n = W.shape[1]
    st.markdown("**" + t("live.units.heading") + "**")
    words = {choice: t(key) for choice, key in UNIT_TEXTS.items()}  # in this page's language
    choice = st.segmented_control(
        t("live.units.label"),
        UNIT_CHOICES,
        default=FIXED,
        required=True,
        key=UNITS_KEY,
        label_visibility="collapsed",
        format_func=words.__getitem__,
        help=t("live.units.help"),
    )
    drawing = st.session_state.get(state.DRAWING_KEY)
    if choice == ACTIVE and drawing is None:
        st.caption(t("live.units.draw_first"))
        choice = FIXED
    number = watch.frame(pub.epoch, snap.n_batches)
    key = (pub.run, number, choice, _fingerprint(drawing) if choice == ACTIVE else None)
    kept = st.session_state.get(state.LIVE_FRAME_KEY)
    if kept is None or kept[0] != key:
        units = pick_units(choice, pub.model, job.start_weights(), drawing)
        kept = (key, data_url(grid_png(W[:, units])), units, pub.epoch)
        st.session_state[state.LIVE_FRAME_KEY] = kept
    _, png, units, epoch = kept
    with st.container(key="live_grid"):
        st.image(
            png,
            caption=t("live.units.caption", shown=len(units), units=n, epoch=epoch,
                      choice=words[choice], numbers=", ".join(f"#{u}" for u in units)),
            width=ZOOM * _grid_side(len(units)),
            alt=t("live.units.alt", shown=len(units), epoch=epoch),
        )  # fmt: skip
    more = watch.frames_per_epoch(snap.n_batches) - 1
    st.caption(t("live.units.explain_within", count=more) if more else t("live.units.explain"))


def pick_units(choice: str, model, W_start: np.ndarray | None, drawing) -> np.ndarray:
    """The units to show for the control's ``choice``."""
    n = model.weights_[0].shape[1]
    if choice == CHANGED and W_start is not None and W_start.shape == model.weights_[0].shape:
        return watch.most_changed(model.weights_[0], W_start)
    if choice == ACTIVE and drawing is not None:
        return watch.most_active(model, drawing)
    return watch.fixed_sample(n)


def _grid_side(k: int, columns: int = GRID_COLUMNS) -> int:
    """The width in px of the grid of ``k`` pictures, one px per weight."""
    return min(k, columns) * (28 + GAP) + GAP


def grid_png(W: np.ndarray, columns: int = GRID_COLUMNS) -> bytes:
    """The columns of ``W`` (784 × k) as red/blue pictures in a grid, one px per weight:
    one PNG in 256 colours (about 10 kB for 16 units; 35 kB in full colour)."""
    k = W.shape[1]
    rows = -(-k // columns)
    out = np.empty((rows * (28 + GAP) + GAP, _grid_side(k, columns), 3), np.uint8)
    out[...] = BACKGROUND
    for i in range(k):
        r, c = divmod(i, columns)
        top, left = GAP + r * (28 + GAP), GAP + c * (28 + GAP)
        out[top : top + 28, left : left + 28] = diverging(W[:, i], 1)
    buffer = io.BytesIO()
    image = Image.fromarray(out).quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    image.save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def _thumbnails(pixels: bytes, dtype: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    """The validation digits' pictures (the same all run long), made once."""
    images = np.frombuffer(pixels, np.dtype(dtype)).reshape(shape)
    return tuple(data_url(_big(img, 2)) for img in images)


def _fingerprint(image) -> int | None:
    return None if image is None else hash(np.asarray(image, np.float32).tobytes())


# ---------------------------------------------------------------- the readings
def readings_panel(snap: jobs.Snapshot, job: jobs.TrainJob) -> None:
    view = job.readings()
    if view is None:
        return
    x_max = max(snap.epochs, 1)
    # made again only when there is a new reading (an epoch's end, a new drawing), not at
    # every refresh: the charts' rows and specs, the words, the drawing's picture
    key = (snap.run, view.epochs, view.drawing_epochs, _fingerprint(view.drawing), x_max,
           i18n.current())  # fmt: skip
    kept = st.session_state.get(state.LIVE_READINGS_KEY)
    if kept is None or kept[0] != key:
        kept = (key, shown_readings(view, x_max))
        st.session_state[state.LIVE_READINGS_KEY] = kept
    shown: ShownReadings = kept[1]
    st.markdown("**" + t("live.drawing.heading") + "**")
    if shown.drawing is None:
        st.caption(t("live.drawing.invite"))
    else:
        thumb, chart = st.columns([1, 4], gap="small", vertical_alignment="center")
        thumb.image(shown.drawing, width=56, alt=t("live.drawing.alt"))
        chart.vega_lite_chart(*shown.drawing_chart, width="stretch")
        st.caption(shown.drawing_caption)
    st.markdown("**" + t("live.digits.heading") + "**")
    st.image(list(shown.digits), caption=list(shown.digit_captions), width=56,
             alt=list(shown.digit_alts))  # fmt: skip
    if shown.digits_chart is not None:
        st.vega_lite_chart(*shown.digits_chart, width="stretch")
        st.caption(shown.digits_caption)


@dataclass(frozen=True)
class ShownReadings:
    """What the readings panel shows for one state of the readings (:func:`shown_readings`)."""

    drawing: str | None  #: the drawing read, as a picture (data URL); None: none read yet
    drawing_chart: tuple | None  #: its probabilities over the epochs (:func:`drawing_chart`)
    drawing_caption: str
    digits: tuple[str, ...]  #: the validation digits' pictures (data URLs)
    digit_captions: tuple[str, ...]
    digit_alts: tuple[str, ...]
    digits_chart: tuple | None  #: their right digit's probability (:func:`digits_chart`)
    digits_caption: str


def shown_readings(view: watch.ReadingsView, x_max: float) -> ShownReadings:
    """The readings panel's pictures, charts and words, in this page's language."""
    drawing = drawing_chart_ = None
    drawing_caption = ""
    if view.drawing is not None and view.drawing_epochs:
        drawing = data_url(_big(view.drawing, 2))
        drawing_chart_ = _arrow(drawing_chart(view.drawing_epochs, view.drawing_probs, x_max))
        drawing_caption = i18n.join(
            drawing_summary(view.drawing_epochs, view.drawing_probs), t("live.drawing.colours")
        )
    kinds = [(d, kind) for _, d, kind in view.digits]
    return ShownReadings(
        drawing,
        drawing_chart_,
        drawing_caption,
        _thumbnails(view.images.tobytes(), view.images.dtype.str, view.images.shape),
        tuple(f"{d} · {t(f'live.kind.{kind}')}" if kind else str(d) for d, kind in kinds),
        tuple(
            t("live.digits.alt", digit=d, kind=t(f"live.kind.{kind or 'fixed'}"))
            for d, kind in kinds
        ),
        _arrow(digits_chart(view, x_max)) if view.epochs else None,
        digits_summary(view) if view.epochs else "",
    )


def _arrow(chart: tuple[pd.DataFrame, dict]) -> tuple[pa.Table, dict]:
    """A chart's rows as an Arrow table, made once: Streamlit converts a DataFrame at every
    redraw, and sends an Arrow table as it is."""
    data, spec = chart
    return pa.Table.from_pandas(data, preserve_index=False), spec


def _big(image: np.ndarray, k: int) -> np.ndarray:
    return big(image, k)


def drawing_chart(epochs, probs: np.ndarray, x_max: float) -> tuple[pd.DataFrame, dict]:
    """The ten probabilities of the drawing over the epochs; the digit read now stands out."""
    now = int(np.argmax(probs[-1]))
    rows = [
        (float(e), str(d), float(p[d]), READ_NOW if d == now else OTHER, i == len(epochs) - 1)
        for i, (e, p) in enumerate(zip(epochs, probs))
        for d in range(10)
    ]
    data = pd.DataFrame(rows, columns=["epoch", "digit", "p", "kind", "last"])
    colors = {charts.MAIN: READ_NOW, charts.MUTED: OTHER}
    spec = _lines_spec("digit", "p", t("chart.probability"), x_max, colors, "datum.p >= 0.1")
    return data, charts.described(spec, t("live.drawing.description"))


def drawing_summary(epochs, probs: np.ndarray, sure: float = SURE) -> str:
    """The drawing's chart in words: what it reads now, and since when it is sure of it."""
    now = int(np.argmax(probs[-1]))
    fields = {"epoch": epochs[-1], "digit": now, "p": probs[-1][now], "sure": sure}
    held = 0  # how many of the last readings gave ``now`` at least ``sure``
    for p in probs[::-1]:
        if int(np.argmax(p)) != now or p[now] < sure:
            break
        held += 1
    if held and len(epochs) > held:
        return t("live.drawing.sure_since", **fields, since=epochs[-held])
    if held:
        return t("live.drawing.sure_first", **fields)
    return t("live.drawing.not_sure", **fields)


def digits_chart(view: watch.ReadingsView, x_max: float) -> tuple[pd.DataFrame, dict]:
    """The probability of the right digit for each validation digit, over the epochs."""
    rows = []
    for i, (_, digit, kind) in enumerate(view.digits):
        label = f"{digit} ({t(f'live.kind.{kind}')})" if kind else str(digit)
        for j, epoch in enumerate(view.epochs):
            rows.append((float(epoch), label, float(view.probs[j, i, digit]), kind or CLEAR,
                         j == len(view.epochs) - 1))  # fmt: skip
    data = pd.DataFrame(rows, columns=["epoch", "digit", "p", "kind", "last"])
    colors = {charts.MAIN: CLEAR, charts.SECOND: HARD}
    # labelled only while not read surely: at 100% the labels would pile up
    spec = _lines_spec("digit", "p", t("live.digits.y"), x_max, colors, "datum.p < 0.9")
    return data, charts.described(spec, t("live.digits.description"))


def digits_summary(view: watch.ReadingsView) -> str:
    """The validation digits' chart in words."""
    last = view.probs[-1]
    right = [int(np.argmax(last[i])) == d for i, (_, d, _) in enumerate(view.digits)]
    hard = [r for r, (_, _, kind) in zip(right, view.digits) if kind == HARD]
    fields = {"epoch": view.epochs[-1], "right": sum(right), "n": len(right)}
    if hard:
        return t("live.digits.summary_hard", **fields, hard_right=sum(hard), hard=len(hard))
    return t("live.digits.summary", **fields)


def _lines_spec(
    series: str, value: str, title: str, x_max: float, colors: dict, label: str
) -> dict:
    """Lines over the epochs, one per ``series``, coloured by ``kind``; labelled at their
    last point where the Vega expression ``label`` holds (e.g. ``datum.p >= 0.1``)."""
    scale = {"domain": charts.palette_domain(colors)}
    y_name, y_axis = charts.y_title(title)
    x = {
        "field": "epoch",
        "type": "quantitative",
        "title": t("chart.epoch"),
        "scale": {"domain": [0, float(x_max)]},
        "axis": {"tickMinStep": 1, "format": "d"},
    }
    y = {"field": value, "type": "quantitative", "title": y_name, "scale": {"domain": [0, 1]},
         "axis": {"format": "%", "tickCount": 3, **y_axis}}  # fmt: skip
    return {
        "height": 170,
        "encoding": {"x": x, "y": y},
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 2, "point": {"size": 16}},
                "encoding": {
                    "detail": {"field": series, "type": "nominal"},
                    "color": {"field": "kind", "type": "nominal", "scale": scale, "legend": None},
                    "tooltip": [
                        {"field": series, "type": "nominal", "title": t("chart.digit")},
                        {"field": "epoch", "type": "quantitative", "title": t("chart.epoch")},
                        {
                            "field": value,
                            "type": "quantitative",
                            "format": ".1%",
                            "title": y_name if isinstance(y_name, str) else title,
                        },
                    ],
                },
            },
            {
                "transform": [{"filter": f"datum.last && ({label})"}],
                "mark": {"type": "text", "align": "left", "dx": 5, "fontSize": 11},
                "encoding": {
                    "text": {"field": series, "type": "nominal"},
                    "color": {"field": "kind", "type": "nominal", "scale": scale, "legend": None},
                },
            },
        ],
    }


# ---------------------------------------------------------------- change course
def course_control(snap: jobs.Snapshot, job: jobs.TrainJob, where) -> None:
    """A "Change course" popover in ``where`` (the buttons' row), while a run can still train."""
    can_change = snap.active or snap.can_resume
    course = job.course() if can_change else {}
    with where.popover(
        t("live.course.button"), icon=":material/tune:", disabled=not course,
        help=t("live.course.help"),
    ):  # fmt: skip
        if not course:
            return
        eta = st.number_input(
            t("live.course.eta"),
            min_value=0.0,
            value=float(course["eta"]),
            step=course["eta"] / 2,
            format="%g",
            key=f"course_eta_{snap.run}",
        )
        momentum = None
        if "momentum" in course:
            momentum = st.number_input(
                t("live.course.momentum"),
                min_value=0.0,
                max_value=0.999,
                value=float(course["momentum"]),
                step=0.05,
                format="%g",
                key=f"course_momentum_{snap.run}",
            )
        if st.button(t("live.course.apply"), key="course_apply", type="primary"):
            asked = {k: v for k, v in (("eta", eta), ("momentum", momentum))
                     if v is not None and v != course.get(k)}  # fmt: skip
            try:
                job.change_course(**asked)
            except ValueError as e:  # the library's own words for what is wrong
                st.error(t("live.course.cannot", detail=e))
            else:
                st.caption(t("live.course.asked" if asked else "live.course.nothing"))


def _course_text(change: dict) -> str:
    parts = []
    for name, symbol in (("eta", "η"), ("momentum", "μ")):
        if name in change:
            before = change.get(f"{name}_before")
            parts.append(f"{symbol} {before:g} → {change[name]:g}" if before is not None
                         else f"{symbol} → {change[name]:g}")  # fmt: skip
    return i18n.listing(parts)


def changes_caption(changes) -> str:
    """The run's changes of course, in words ("" when there was none)."""
    if not changes:
        return ""
    each = [t("live.changed_at", change=_course_text(c), epoch=c["epoch"]) for c in changes]
    return t("live.changed", changes=t("live.changes_sep").join(each))
