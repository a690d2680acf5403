"""Vega-Lite charts for the app: the ten probabilities, the training curves, and the
Explore tab's pushes towards an answer, confusion matrix and accuracy per digit.

Each function returns ``(data, spec)`` for ``st.vega_lite_chart(data, spec)`` (the
confusion matrix: a spec with its data in it). The specs are written by hand rather
than built with ``st.line_chart`` or Altair: the live training view redraws its charts
twice a second, and a hand-written spec costs about 3 ms a call where ``st.line_chart``
costs about 50. A spec that stays the same between refreshes also lets the browser
update the chart's data in place instead of rebuilding it. The confusion matrix, with
its layers and click selection, is built with Altair, once per matrix and choice
(:func:`confusion_spec`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from . import i18n
from .i18n import t

#: Every chart's marks take their colours from the theme's categorical palette
#: (``chartCategoricalColors`` in ``.streamlit/config.toml``, one palette for the light
#: theme and one for the dark), by position in the colour scale's domain. These are the
#: positions: the main series (the answer, training, the cost), the second one (an
#: answer not sure, validation), what is less important (the other digits), and guides
#: (the "not sure" line, "now"), a change of course mid-run (:data:`CHANGE`), one more,
#: then :data:`EXCITE` and :data:`INHIBIT`. No
#: colour is written in a spec, so every chart follows
#: the visitor's theme, and a test checks the palettes' contrast against the background.
MAIN, SECOND, MUTED, GUIDE, CHANGE = range(5)
#: ... and for the Explore tab: red where ink pushes towards an answer (excites a unit),
#: blue where it pushes away (inhibits), as in the pictures of the weights.
EXCITE, INHIBIT = 6, 7
SURE, UNSURE, OTHER = "answer", "answer (not sure)", "other digits"
THRESHOLD = "not sure below this"


def described(spec: dict, description: str, lang: str | None = None) -> dict:
    """``spec`` with a description in the page's language, for screen readers.

    Vega names a chart "Vega visualization" and describes its axes and marks itself, in
    English ("X-axis titled … for a discrete scale with 10 values"); on a page in another
    language those descriptions are turned off (``aria: false``): the description, and
    the summary in words under each chart, say what it shows.
    """
    spec = {**spec, "description": description}
    if (lang or i18n.current()) != i18n.DEFAULT:
        spec["config"] = {**spec.get("config", {}), "aria": False}
    return spec


#: Kana, kanji, hangul and full-width forms: words that a rotated axis title lays on their side.
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def y_title(text: str) -> tuple[str | list[str], dict]:
    """A vertical axis's title and the axis settings it needs: ``(title, axis)``.

    Latin words are rotated, as usual. Japanese (Chinese, Korean) words are written the
    way those languages write vertically, one upright character under the other; a
    rotated title would lay them on their side.
    """
    if not _CJK.search(text):
        return text, {}
    return re.findall(r"[A-Za-z0-9]+|\S", text), {"titleAngle": 0, "titleBaseline": "middle"}


def palette_domain(names: dict[int, str]) -> list[str]:
    """A colour scale's domain that puts each of ``names`` at its palette position.

    Unused positions get placeholders (never in the data, never in a legend).
    """
    return [names.get(i, f"(unused {i})") for i in range(max(names) + 1)]


# ---------------------------------------------------------------- Draw tab
def probabilities(probs: np.ndarray, threshold: float) -> tuple[pd.DataFrame, dict]:
    """Bars of the ten probabilities; the answer highlighted; the "not sure" line behind."""
    top = int(np.argmax(probs))
    kind = SURE if probs[top] >= threshold else UNSURE
    data = pd.DataFrame(
        {
            "digit": [str(d) for d in range(10)],
            "p": np.asarray(probs, dtype=float),
            "kind": [kind if d == top else OTHER for d in range(10)],
        }
    )
    colors = {"field": "kind", "type": "nominal", "legend": None,
              "scale": {"domain": palette_domain({MAIN: SURE, SECOND: UNSURE, MUTED: OTHER,
                                            GUIDE: THRESHOLD})}}  # fmt: skip
    y_name, y_axis = y_title(t("chart.probability"))
    spec = {
        "height": 170,
        "encoding": {
            "y": {
                "field": "p",
                "type": "quantitative",
                "title": y_name,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%", "tickCount": 5, **y_axis},
            },
        },
        "layer": [
            {  # first, so that it is drawn behind the bars
                "mark": {"type": "rule", "strokeDash": [4, 4], "strokeWidth": 1.5},
                "encoding": {
                    "y": {"datum": threshold},
                    "color": {"datum": THRESHOLD, "scale": colors["scale"], "legend": None},
                    "tooltip": {"value": t("chart.not_sure_below", threshold=threshold)},
                },
            },
            {
                "mark": {"type": "bar", "cornerRadiusEnd": 2},
                "encoding": {
                    "x": {
                        "field": "digit",
                        "type": "nominal",
                        "sort": None,
                        "title": None,
                        "axis": {"labelAngle": 0, "labelFontSize": 13},
                    },
                    "color": colors,
                    "tooltip": [
                        {"field": "digit", "type": "nominal", "title": t("chart.digit")},
                        {
                            "field": "p",
                            "type": "quantitative",
                            "format": ".1%",
                            "title": t("chart.probability"),
                        },
                    ],
                },
            },
        ],
    }
    return data, described(spec, t("chart.probabilities_description"))


def probabilities_summary(probs: np.ndarray, threshold: float) -> str:
    """The bars in one line of words, for whoever cannot see them."""
    order = np.argsort(probs)[::-1]
    first, second, third = (int(d) for d in order[:3])
    return t(
        "chart.bars", first=first, p1=probs[first], second=second, p2=probs[second],
        third=third, p3=probs[third], threshold=threshold,
    )  # fmt: skip


# ---------------------------------------------------------------- Train tab
#: Dash patterns of the runs on the training charts: this run solid, earlier ones dashed.
RUN_DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 3]]
#: Up to this many epochs the curves have a point per epoch (more would hide the dashes).
POINTS_UP_TO = 30


def curves(
    runs: Sequence[tuple[str, Sequence[dict]]],
    metric: str,
    *,
    x_max: float,
    now: float | None = None,
    changes: Sequence[dict] = (),
    height: int = 210,
) -> tuple[pd.DataFrame, dict]:
    """Per-epoch curves of one run or several.

    Parameters
    ----------
    runs : sequence of (label, history)
        ``history`` is :attr:`MLP.history_`: one dict per epoch. The first run is
        drawn solid, earlier ones dashed (named in a legend when there are several).
    metric : {"cost", "accuracy"}
        ``cost``: J on the training set. ``accuracy``: training and validation
        accuracy, in two colours, named in a legend.
    x_max : float
        The x axis runs from 0 to ``x_max`` epochs (fixed, so the chart doesn't jump).
    now : float, optional
        Where the current run is, in epochs (2.4 = 40% into epoch 3): a dotted line.
    changes : sequence of dict
        The current run's changes of course (:meth:`digitnet.train.Trainer.change`'s
        records: ``epoch``, ``eta``, ``eta_before``, ...): a dashed upright line each,
        labelled with the new learning rate.

    Both axes have a set domain (the y axis's rounded outwards to a step, so it changes
    only now and then during a run): Vega never computes an extent from an empty data
    set (Streamlit draws a chart before it inserts the data), which it would warn about
    in the browser's console.
    """
    series = (
        [("cost", t("chart.cost"))]
        if metric == "cost"
        else [("train_acc", t("chart.training")), ("valid_acc", t("chart.validation"))]
    )
    rows = []
    for label, history in runs:
        for h in history:
            for key, name in series:
                value = h.get(key)
                if value is not None:
                    rows.append((label, float(h["epoch"]), name, float(value)))
    if now is not None:
        rows.append(("", float(now), "", None))  # the dotted line: a row with no series
    for c in changes:
        rows.append((change_label(c), float(c["epoch"]), COURSE, None))
    data = pd.DataFrame(rows, columns=["run", "epoch", "series", "value"])
    labels = [label for label, _ in runs]
    values = [r[3] for r in rows if r[3] is not None]
    if metric == "cost":
        domain = nice_domain(values)
        y_axis = {"title": t("chart.cost_j"), "format": ",d" if domain[1] >= 1000 else ".3~g"}
    else:
        domain = nice_domain(values, lowest=0.0, highest=1.0)
        y_axis = {"title": t("chart.accuracy"), "format": ".1~%"}
    y_name, y_title_axis = y_title(y_axis.pop("title"))
    names = [name for _, name in series]
    colors = palette_domain({MAIN: names[0], **({SECOND: names[1]} if len(names) > 1 else {}),
                       GUIDE: "now", **({CHANGE: COURSE} if changes else {})})  # fmt: skip
    # One legend for the colours of both layers (Vega-Lite merges them); the cost's chart
    # has one too, so that the two charts side by side have plots of the same height.
    legend = {"orient": "bottom", "title": None, "values": names}
    line = {
        "transform": [{"filter": f"datum.series != '' && datum.series != '{COURSE}'"}],
        "mark": {
            "type": "line",
            "strokeWidth": 2,
            **({"point": {"size": 24}} if x_max <= POINTS_UP_TO else {}),
        },
        "encoding": {
            "x": {
                "field": "epoch",
                "type": "quantitative",
                "title": t("chart.epoch"),
                "scale": {"domain": [0, max(1.0, float(x_max))]},
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": y_name,
                "scale": {"domain": domain, "nice": False, "zero": False},
                "axis": {**y_axis, **y_title_axis, "tickCount": 5},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": colors},
                "legend": legend,
            },
            "strokeDash": {
                "field": "run",
                "type": "nominal",
                "scale": {"domain": labels, "range": RUN_DASHES},
                # a run by its number ("#2 fast 128 relu η=0.002": "#2"; the caption below
                # names each whole), one a line: in a row of whole names beside the
                # colours' legend, they ran off the chart
                "legend": (
                    {
                        "orient": "bottom",
                        "direction": "vertical",
                        "title": None,
                        "labelExpr": "split(datum.label, ' ')[0]",
                        "symbolStrokeWidth": 2,
                    }
                    if len(labels) > 1
                    else None
                ),
            },
            "tooltip": [
                {"field": "run", "type": "nominal", "title": t("chart.run")},
                {"field": "epoch", "type": "quantitative", "title": t("chart.epoch")},
                {"field": "series", "type": "nominal", "title": t("chart.series")},
                {
                    "field": "value",
                    "type": "quantitative",
                    "format": ".4~g",
                    "title": t("chart.value"),
                },
            ],
        },
    }
    layers = [line]
    if now is not None:
        layers.append(
            {
                "transform": [{"filter": "datum.series == ''"}],
                "mark": {"type": "rule", "strokeDash": [2, 3]},
                "encoding": {
                    # the same title as the line's x: layers with different ones would
                    # show both ("epoch, エポック")
                    "x": {"field": "epoch", "type": "quantitative", "title": t("chart.epoch")},
                    "color": {"datum": "now", "scale": {"domain": colors}, "legend": legend},
                },
            }
        )
    if changes:
        marks = {"transform": [{"filter": f"datum.series == '{COURSE}'"}]}
        color = {"datum": COURSE, "scale": {"domain": colors}, "legend": legend}
        # every layer's x has the line's title: layers with different ones would show both
        x = {"field": "epoch", "type": "quantitative", "title": t("chart.epoch")}
        layers.append(
            {**marks, "mark": {"type": "rule", "strokeDash": [5, 3], "strokeWidth": 1.5},
             "encoding": {"x": x, "color": color,
                          "tooltip": [{"field": "run", "type": "nominal",
                                       "title": t("chart.change")},
                                      {"field": "epoch", "type": "quantitative",
                                       "format": ".2f", "title": t("chart.epoch")}]}}
        )  # fmt: skip
        layers.append(
            {**marks, "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3,
                               "y": 2, "fontSize": 10},
             "encoding": {"x": x, "color": color, "text": {"field": "run", "type": "nominal"}}}
        )  # fmt: skip
    return data, described(
        {"height": height, "layer": layers}, t(f"chart.curves_description.{metric}")
    )


#: The series of the marks of a change of course: never written on the page (the marks are
#: labelled by :func:`change_label`), but in its data, so not in words of one language.
COURSE = "Δη"


def change_label(change: dict) -> str:
    """A change of course in a few characters, for its mark: ``η→0.0005 μ→0.5``."""
    parts = [f"{symbol}→{change[name]:g}" for name, symbol in (("eta", "η"), ("momentum", "μ"))
             if name in change]  # fmt: skip
    return " ".join(parts)


def curves_summary(history: Sequence[dict]) -> str:
    """The curves of one run in one line of words, for whoever cannot see them."""
    if not history:
        return ""
    first, last = history[0], history[-1]
    fields = {
        "count": len(history),
        "cost0": _number(first["cost"]),
        "cost1": _number(last["cost"]),
        "acc0": first["train_acc"],
        "acc1": last["train_acc"],
    }
    valid = [(h["valid_acc"], h["epoch"]) for h in history if h.get("valid_acc") is not None]
    if not valid:
        return t("chart.summary", **fields)
    best, when = max(valid)
    return t("chart.summary_valid", **fields, valid=valid[-1][0], best=best, when=when)


def _number(x: float) -> str:
    """12456.663 -> "12,457"; 0.51234 -> "0.512"."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def nice_domain(
    values: Sequence[float], *, lowest: float = -math.inf, highest: float = math.inf
) -> list[float]:
    """``[low, high]`` around ``values``, rounded outwards to a step of 1, 2 or 5 × 10ⁿ.

    The step is about a fifth of the span of the values (a few hundredths of the value
    when they are all equal, e.g. after the first epoch), so that an axis over it has a
    few round ticks; the bounds stay within ``[lowest, highest]``. ``[0, 1]`` when
    there are no values.
    """
    values = [float(v) for v in values]
    if not values:
        return [max(0.0, lowest), min(1.0, highest)]
    lo, hi = min(values), max(values)
    span = hi - lo if hi > lo else max(abs(hi) * 0.05, 1e-9)
    rough = span / 5
    power = 10 ** math.floor(math.log10(rough))
    step = next(k * power for k in (1, 2, 5, 10) if k * power >= rough)
    low = max(lowest, math.floor(lo / step) * step)
    high = min(highest, math.ceil(hi / step) * step)
    if high - low < step:  # the values sit on a step: keep some room around them
        low, high = max(lowest, low - step), min(highest, high + step)
    return [round(low, 12), round(high, 12)]


# ---------------------------------------------------------------- Explore tab
#: The gallery's choice of every true digit, or of every answer (a confusion matrix's
#: row or column not chosen).
ALL = "all"
#: The confusion matrix is a dark panel of its own in both themes: its cells' colours and
#: the counts written on them (each pair contrasts 4.5:1 or more: tests/test_theme.py).
CELL_RIGHT, TEXT_RIGHT = "#20344a", "#9fb3c8"  # the diagonal: read right
CELL_NONE = "#1e2128"  # no mistake
CELL_MISTAKES = ("#3a1f24", "#c62828")  # one mistake ... the most, on a square-root scale
TEXT_OTHER = "#ffffff"  # the counts off the diagonal
CHOSEN = "#ffbd45"  # the frame of the chosen cell(s)


def contributions_chart(c, k: int) -> tuple[pd.DataFrame, dict]:
    """Horizontal bars: the k strongest pushes each way, largest at the top."""
    units = np.concatenate([c.top(k, 1), c.top(k, -1)[::-1]])
    data = pd.DataFrame(
        {
            "unit": [f"#{u}" for u in units],
            "push": c.contributions[units],
            "activation": c.activations[units],
            "weight": c.weights[units],
            "way": ["towards" if v > 0 else "away" for v in c.contributions[units]],
        }
    )
    spec = {
        "height": max(120, 22 * len(units)),
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "y": {"field": "unit", "type": "nominal", "sort": None, "title": None,
                  "axis": {"labelOverlap": False}},
            "x": {"field": "push", "type": "quantitative",
                  "title": t("explore.chart.push_title", target=c.target),
                  # a set domain: no extent computed from the empty data Vega starts with
                  "scale": {"domain": nice_domain([0.0, *data["push"]])}},
            "color": {"field": "way", "type": "nominal", "legend": None,
                      "scale": {"domain": palette_domain({EXCITE: "towards", INHIBIT: "away"})}},
            "tooltip": [{"field": "unit", "title": t("explore.chart.unit")},
                        {"field": "activation", "format": ".3f",
                         "title": t("explore.chart.activation")},
                        {"field": "weight", "format": "+.3f", "title": t("explore.chart.weight")},
                        {"field": "push", "format": "+.3f", "title": t("explore.chart.push")}],
        },
    }  # fmt: skip
    return data, described(spec, t("explore.chart.push_description", target=c.target))


@st.cache_data(show_spinner=False, max_entries=64)
def confusion_spec(cm: tuple, chosen: tuple, lang: str) -> dict:
    """:func:`confusion_chart` as a Vega-Lite spec, made once per matrix, choice and language.

    Building the Altair chart and validating it takes about 0.25 s, most of a
    rerun of this tab; the spec it gives is drawn by ``st.vega_lite_chart``.
    ``lang`` is the language of its words (part of the cache's key).
    """
    spec = confusion_chart(np.asarray(cm), chosen, lang).to_dict()
    return described(spec, i18n.translate(lang, "explore.chart.confusion"), lang)


def confusion_chart(cm: np.ndarray, chosen: tuple, lang: str = i18n.DEFAULT) -> alt.LayerChart:
    """10×10 heat map: rows the true digit, columns what was read; mistakes in red.

    Layers: the cells (right answers dark blue, no mistake dark grey), the
    mistakes coloured by their count, the counts, and on top an invisible layer
    that takes the clicks (the ``cell`` selection) and frames the chosen cell(s).
    """
    rows = [
        {"actual": t, "read": p, "count": int(cm[t, p]), "right": t == p,
         "chosen": (chosen[0] in (ALL, t)) and (chosen[1] in (ALL, p)) and chosen != (ALL, ALL)}
        for t in range(10)
        for p in range(10)
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    df["label"] = [str(c) if c else "" for c in df["count"]]
    worst = max(1, int(cm[~np.eye(10, dtype=bool)].max()))
    read_as, true_digit = (i18n.translate(lang, k) for k in ("explore.read_as", "explore.true"))
    true_title, true_axis = y_title(true_digit)
    base = alt.Chart(df).encode(
        x=alt.X("read:O", title=read_as, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("actual:O", title=true_title, axis=alt.Axis(**true_axis)),
    )
    cells = base.mark_rect().encode(
        color=alt.condition("datum.right", alt.value(CELL_RIGHT), alt.value(CELL_NONE))
    )
    mistakes = (
        base.transform_filter("!datum.right && datum.count > 0")
        .mark_rect()
        .encode(
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(type="sqrt", domain=[0, worst], range=list(CELL_MISTAKES)),
                legend=None,
            )
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition("datum.right", alt.value(TEXT_RIGHT), alt.value(TEXT_OTHER)),
    )
    cell = alt.selection_point(name="cell", fields=["actual", "read"], on="click", clear="dblclick")
    clicks = (
        base.mark_rect(fill="transparent", cursor="pointer")
        .encode(
            stroke=alt.condition("datum.chosen", alt.value(CHOSEN), alt.value("transparent")),
            strokeWidth=alt.condition("datum.chosen", alt.value(2.5), alt.value(0)),
            tooltip=[
                alt.Tooltip("actual:O", title=true_digit),
                alt.Tooltip("read:O", title=read_as),
                alt.Tooltip("count:Q", title=i18n.translate(lang, "explore.test_digits")),
            ],
        )
        .add_params(cell)
    )
    return (cells + mistakes + text + clicks).properties(height=330)


def mistakes_caption(r: dict, cm: np.ndarray) -> str:
    """The evaluation and the matrix's message in words: how many mistakes, which the most."""
    fields = {"accuracy": r["accuracy"], "n": r["n"], "errors": len(r["errors"])}
    off = cm * (1 - np.eye(len(cm), dtype=cm.dtype))
    if not off.any():
        return t("explore.mistakes.caption_none", **fields)
    true, read = np.unravel_index(int(off.argmax()), off.shape)
    most = {"true": int(true), "read": int(read), "count": int(off[true, read])}
    return t("explore.mistakes.caption", **fields, **most)


def per_class_summary(per_class) -> str:
    """The per-digit accuracy chart in one line of words."""
    acc = np.asarray(per_class)
    low, high = int(acc.argmin()), int(acc.argmax())
    return t("explore.per_class", low=low, lo=acc[low], high=high, hi=acc[high])


def per_class_chart(per_class) -> tuple[pd.DataFrame, dict]:
    """Accuracy per true digit, as points (the axis does not start at 0: they are all high)."""
    data = pd.DataFrame({"digit": [str(d) for d in range(10)], "accuracy": np.asarray(per_class)})
    # the theme's colours (above): the points in the main one, the labels
    # in the guides'
    colors = {"scale": {"domain": palette_domain({MAIN: "accuracy", GUIDE: "label"})},
              "legend": None}  # fmt: skip
    spec = {
        "height": 330,
        "title": {"text": t("explore.chart.per_digit"), "fontSize": 13, "fontWeight": "normal",
                  "aria": False},  # said by the description (:func:`described`)
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "title": None, "axis": {"labelAngle": 0}},
            "y": {"field": "accuracy", "type": "quantitative", "title": None,
                  "scale": {"domain": nice_domain(data["accuracy"], lowest=0, highest=1),
                            "nice": False, "padding": 24},
                  "axis": {"format": ".1%", "tickCount": 5}},
            "tooltip": [{"field": "digit", "title": t("explore.chart.digit")},
                        {"field": "accuracy", "format": ".2%",
                         "title": t("explore.chart.accuracy")}],
        },
        "layer": [
            {"mark": {"type": "point", "filled": True, "size": 70},
             "encoding": {"color": {"datum": "accuracy", **colors}}},
            {"mark": {"type": "text", "dy": -11, "fontSize": 10},
             "encoding": {"text": {"field": "accuracy", "format": ".1%"},
                          "color": {"datum": "label", **colors}}},
        ],
    }  # fmt: skip
    return data, described(spec, t("explore.chart.per_digit"))
