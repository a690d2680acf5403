"""Vega-Lite charts for the app: the ten probabilities, and the training curves.

Each function returns ``(data, spec)`` for ``st.vega_lite_chart(data, spec)``.
The specs are written by hand rather than built with ``st.line_chart`` or
Altair: the live training view redraws its charts twice a second, and a
hand-written spec costs about 3 ms a call where ``st.line_chart`` costs about
50. A spec that stays the same between refreshes also lets the browser update
the chart's data in place instead of rebuilding it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import i18n
from .i18n import t

#: Every chart's marks take their colours from the theme's categorical palette
#: (``chartCategoricalColors`` in ``.streamlit/config.toml``, one palette for the light
#: theme and one for the dark), by position in the colour scale's domain. These are the
#: positions: the main series (the answer, training, the cost), the second one (an
#: answer not sure, validation), what is less important (the other digits), and guides
#: (the "not sure" line, "now"), two more, then :data:`EXCITE` and :data:`INHIBIT`. No
#: colour is written in a spec, so every chart follows
#: the visitor's theme, and a test checks the palettes' contrast against the background.
MAIN, SECOND, MUTED, GUIDE = range(4)
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
                       GUIDE: "now"})  # fmt: skip
    # One legend for the colours of both layers (Vega-Lite merges them); the cost's chart
    # has one too, so that the two charts side by side have plots of the same height.
    legend = {"orient": "bottom", "title": None, "values": names}
    line = {
        "transform": [{"filter": "datum.series != ''"}],
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
                "legend": (
                    {"orient": "bottom", "title": None, "labelLimit": 320, "symbolStrokeWidth": 2}
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
    return data, described(
        {"height": height, "layer": layers}, t(f"chart.curves_description.{metric}")
    )


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
