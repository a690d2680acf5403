"""Two runs side by side, on the Train tab: any two finished runs of the session, or a run
and the shipped weights.

For the two: their curves (one chart each for the cost and the accuracy, the second run
dashed), their accuracy on the 10,000 MNIST test digits, the difference of their
confusion matrices (where the second makes more mistakes than the first, and where
fewer), and how each reads the drawing on the Draw tab now.

A finished run's confusion matrix is measured by its worker when the run ends; its
weights are kept (as float32) while they fit in :data:`digitnet.app.jobs.KEPT_WEIGHTS_BYTES`
per visitor, newest first: an older run can still be compared by its curves, accuracy and
mistakes, not by how it reads a drawing. The shipped weights' figures come from the
server's cached evaluation (:func:`digitnet.app.state.test_evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from .. import tta
from ..errors import DataError, WeightsError
from ..model import MLP
from . import charts, i18n, jobs, state
from .i18n import t

SHIPPED = "the shipped weights"  #: the choice of the shipped weights (shown in words)
FIRST, SECOND = "compare_first", "compare_second"  #: the two choices' keys (+ "_<runs>")
MORE, FEWER = "compare.more", "compare.fewer"  #: the difference chart's two colours (keys)


@dataclass(frozen=True)
class Side:
    """One side of the comparison."""

    label: str
    history: list
    test_acc: float | None
    confusion: np.ndarray | None
    model: MLP | None  # None: its weights are no longer kept


def panel(job: jobs.TrainJob) -> None:
    """The comparison, once the session has a finished run."""
    runs = [r for r in job.runs() if r.state == "done" and r.confusion is not None]
    if not runs:
        return
    options = [r.label for r in reversed(runs)] + [SHIPPED]
    shipped = t("compare.shipped")  # in this page's language (Streamlit may call the
    named = {SHIPPED: shipped}  # format_func from another thread)
    st.markdown("#### " + t("compare.heading"))
    left, right = st.columns(2)
    # new keys when a run finishes: the choices start again from the newest run
    # against the one before (or the shipped weights)
    first = left.selectbox(t("compare.first"), options, index=1, key=f"{FIRST}_{len(runs)}",
                           format_func=lambda v: named.get(v, v))  # fmt: skip
    second = right.selectbox(t("compare.second"), options, index=0, key=f"{SECOND}_{len(runs)}",
                             format_func=lambda v: named.get(v, v))  # fmt: skip
    if first == second:
        st.caption(t("compare.same"))
        return
    a, b = side(first, runs), side(second, runs)
    if a is None or b is None:
        return
    accuracy_row(a, b)
    curves_row(a, b)
    confusion_row(a, b)
    drawing_row(a, b)


def side(label: str, runs: list[jobs.RunRecord]) -> Side | None:
    """A run of the session by its label, or the shipped weights (None if unavailable)."""
    if label != SHIPPED:
        run = next(r for r in runs if r.label == label)
        return Side(run.label, run.history, run.test_acc, run.confusion, run.model)
    try:
        model = state.shipped_model()
        state.test_data(lambda *_: None)  # the cached test set (downloaded with the runs')
        r = state.test_evaluation(model)
    except (WeightsError, DataError) as e:  # the library's own words for what is wrong
        st.error(t("compare.shipped_failed", detail=str(e).splitlines()[0]))
        return None
    shipped = t("compare.shipped")
    return Side(shipped, model.history_, r["accuracy"], np.asarray(r["confusion"]), model)


def accuracy_row(a: Side, b: Side) -> None:
    left, right = st.columns(2)
    left.metric(t("compare.test_accuracy", run=a.label), f"{a.test_acc:.2%}")
    delta = (b.test_acc - a.test_acc) * 100
    right.metric(t("compare.test_accuracy", run=b.label), f"{b.test_acc:.2%}",
                 delta=t("compare.points", delta=delta))  # fmt: skip


def curves_row(a: Side, b: Side) -> None:
    histories = [(a.label, a.history), (b.label, b.history)]
    shown = [(label, h) for label, h in histories if h]
    if not shown:
        return
    x_max = max(len(h) for _, h in shown)
    for column, metric in zip(st.columns(2), ("cost", "accuracy")):
        column.vega_lite_chart(*charts.curves(shown, metric, x_max=x_max), width="stretch")
    missing = [label for label, h in histories if not h]
    st.caption(
        i18n.join(
            t("compare.curves_two", first=shown[0][0], second=shown[1][0])
            if len(shown) > 1
            else t("compare.curves_one", first=shown[0][0]),
            t("compare.no_history", run=missing[0]) if missing else "",
        )
    )


def confusion_row(a: Side, b: Side) -> None:
    diff = b.confusion.astype(int) - a.confusion.astype(int)
    st.vega_lite_chart(*difference_chart(diff), width="stretch")
    st.caption(difference_summary(diff, a.label, b.label))


def difference_chart(diff: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The second confusion matrix minus the first: off the diagonal, red where the second
    makes more mistakes, blue where fewer; the counts written in the cells."""
    more, fewer = t(MORE), t(FEWER)  # the legend's words
    rows = [
        (true, p, int(diff[true, p]), true == p, more if diff[true, p] > 0 else fewer)
        for true in range(10)
        for p in range(10)
    ]
    data = pd.DataFrame(rows, columns=["actual", "read", "change", "right", "way"])
    data["size"] = np.where(data["right"], 0, np.abs(data["change"]))
    data["label"] = [f"{c:+d}" if c else "" for c in data["change"]]
    worst = max(1, int(data["size"].max()))
    colors = {"domain": charts.palette_domain({charts.EXCITE: more, charts.INHIBIT: fewer})}
    read_as, true_digit = t("explore.read_as"), t("explore.true")
    x = {"field": "read", "type": "ordinal", "title": read_as, "axis": {"labelAngle": 0,
         "orient": "top"}}  # fmt: skip
    y_name, y_axis = charts.y_title(true_digit)
    y = {"field": "actual", "type": "ordinal", "title": y_name, "axis": y_axis}
    spec = {
        "height": 300,
        "encoding": {"x": x, "y": y},
        "layer": [
            {
                "transform": [{"filter": "!datum.right && datum.change != 0"}],
                "mark": {"type": "rect"},
                "encoding": {
                    "color": {"field": "way", "type": "nominal", "scale": colors,
                              "legend": {"orient": "bottom", "title": None,
                                         "values": [more, fewer]}},
                    "opacity": {"field": "size", "type": "quantitative", "legend": None,
                                "scale": {"domain": [0, worst], "range": [0.15, 0.9]}},
                },
            },
            {
                "mark": {"type": "text", "fontSize": 11},
                "encoding": {
                    "text": {"field": "label", "type": "nominal"},
                    "tooltip": [{"field": "actual", "title": true_digit},
                                {"field": "read", "title": read_as},
                                {"field": "change", "title": t("compare.second_minus_first")}],
                },
            },
        ],
    }  # fmt: skip
    return data, charts.described(spec, t("compare.difference_description"))


def difference_summary(diff: np.ndarray, first: str, second: str) -> str:
    """The difference in words."""
    off = diff * (1 - np.eye(10, dtype=int))
    fewer = -int(off[off < 0].sum())
    more = int(off[off > 0].sum())
    net = more - fewer
    fields = {"first": first, "second": second, "fewer": fewer, "more": more, "net": abs(net)}
    text = t("compare.diff.net_more" if net > 0 else "compare.diff.net_fewer", **fields)
    if fewer:
        true, p = np.unravel_index(int(off.argmin()), off.shape)
        text += t("compare.diff.most_fewer", true=true, read=p, count=off[true, p])
    if more:
        true, p = np.unravel_index(int(off.argmax()), off.shape)
        text += t("compare.diff.most_more", true=true, read=p, count=off[true, p])
    return text + t("compare.diff.end")


def drawing_row(a: Side, b: Side) -> None:
    drawing = st.session_state.get(state.DRAWING_KEY)
    if drawing is None:
        st.caption(t("compare.draw_first"))
        return
    probs = {}
    for s in (a, b):
        if s.model is not None:
            probs[s.label] = tta.predict_proba(s.model, drawing)[0]
    if not probs:
        st.caption(t("compare.no_weights"))
        return
    st.vega_lite_chart(*readings_chart(probs), width="stretch")
    words = [t("compare.reads", run=label, digit=int(p.argmax()), p=p.max())
             for label, p in probs.items()]  # fmt: skip
    gone = [s.label for s in (a, b) if s.model is None]
    st.caption(
        i18n.join(
            t("compare.your_drawing", readings=t("compare.readings_sep").join(words)),
            t("compare.gone", run=gone[0]) if gone else "",
        )
    )


def readings_chart(probs: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict]:
    """The ten probabilities each gives the drawing, side by side per digit."""
    labels = list(probs)
    rows = [(str(d), label, float(p[d])) for label, p in probs.items() for d in range(10)]
    data = pd.DataFrame(rows, columns=["digit", "run", "p"])
    y_name, y_axis = charts.y_title(t("chart.probability"))
    spec = {
        # the whole chart's height, its legend below included: at 170 the bars had 50 px
        # and a Japanese title written downwards (確 over 率) was squeezed onto its side
        "height": 250,
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "title": None, "sort": None,
                  "axis": {"labelAngle": 0, "labelFontSize": 13}},
            "xOffset": {"field": "run", "type": "nominal", "sort": labels},
            "y": {"field": "p", "type": "quantitative", "title": y_name,
                  "scale": {"domain": [0, 1]}, "axis": {"format": "%", "tickCount": 5, **y_axis}},
            "color": {"field": "run", "type": "nominal",
                      "scale": {"domain": charts.palette_domain(dict(zip(
                          (charts.MAIN, charts.SECOND), labels)))},
                      "legend": {"orient": "bottom", "title": None, "values": labels,
                                 "labelLimit": 320}},
            "tooltip": [{"field": "run", "title": t("chart.run")},
                        {"field": "digit", "title": t("chart.digit")},
                        {"field": "p", "type": "quantitative", "format": ".1%",
                         "title": t("chart.probability")}],
        },
    }  # fmt: skip
    return data, charts.described(spec, t("compare.readings_description"))
