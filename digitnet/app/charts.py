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
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
    spec = {
        "height": 170,
        "encoding": {
            "y": {
                "field": "p",
                "type": "quantitative",
                "title": "probability",
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%", "tickCount": 5},
            },
        },
        "layer": [
            {  # first, so that it is drawn behind the bars
                "mark": {"type": "rule", "strokeDash": [4, 4], "strokeWidth": 1.5},
                "encoding": {
                    "y": {"datum": threshold},
                    "color": {"datum": THRESHOLD, "scale": colors["scale"], "legend": None},
                    "tooltip": {"value": f"not sure below {threshold:.0%}"},
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
                        {"field": "digit", "type": "nominal"},
                        {"field": "p", "type": "quantitative", "format": ".1%"},
                    ],
                },
            },
        ],
    }
    return data, spec


def probabilities_summary(probs: np.ndarray, threshold: float) -> str:
    """The bars in one line of words, for whoever cannot see them."""
    order = np.argsort(probs)[::-1]
    first, second, third = (int(d) for d in order[:3])
    return (
        f"The bars: {first} at {probs[first]:.1%}, then {second} at {probs[second]:.1%} and "
        f"{third} at {probs[third]:.1%}; not sure below the dashed line, {threshold:.0%}."
    )


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
        [("cost", "cost")]
        if metric == "cost"
        else [("train_acc", "training"), ("valid_acc", "validation")]
    )
    rows = []
    for label, history in runs:
        for h in history:
            for key, name in series:
                value = h.get(key)
                if value is not None:
                    rows.append((label, float(h["epoch"]), name, float(value)))
    if now is not None:
        rows.append(("", float(now), "now", None))
    for c in changes:
        rows.append((change_label(c), float(c["epoch"]), COURSE, None))
    data = pd.DataFrame(rows, columns=["run", "epoch", "series", "value"])
    labels = [label for label, _ in runs]
    values = [r[3] for r in rows if r[3] is not None]
    if metric == "cost":
        domain = nice_domain(values)
        y_axis = {"title": "cost J", "format": ",d" if domain[1] >= 1000 else ".3~g"}
    else:
        domain = nice_domain(values, lowest=0.0, highest=1.0)
        y_axis = {"title": "accuracy", "format": ".1~%"}
    names = [name for _, name in series]
    colors = palette_domain({MAIN: names[0], **({SECOND: names[1]} if len(names) > 1 else {}),
                       GUIDE: "now", **({CHANGE: COURSE} if changes else {})})  # fmt: skip
    # One legend for the colours of both layers (Vega-Lite merges them); the cost's chart
    # has one too, so that the two charts side by side have plots of the same height.
    legend = {"orient": "bottom", "title": None, "values": names}
    line = {
        "transform": [{"filter": f"datum.series != 'now' && datum.series != '{COURSE}'"}],
        "mark": {
            "type": "line",
            "strokeWidth": 2,
            **({"point": {"size": 24}} if x_max <= POINTS_UP_TO else {}),
        },
        "encoding": {
            "x": {
                "field": "epoch",
                "type": "quantitative",
                "title": "epoch",
                "scale": {"domain": [0, max(1.0, float(x_max))]},
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": y_axis.pop("title"),
                "scale": {"domain": domain, "nice": False, "zero": False},
                "axis": {**y_axis, "tickCount": 5},
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
                {"field": "run", "type": "nominal"},
                {"field": "epoch", "type": "quantitative"},
                {"field": "series", "type": "nominal"},
                {"field": "value", "type": "quantitative", "format": ".4~g"},
            ],
        },
    }
    layers = [line]
    if now is not None:
        layers.append(
            {
                "transform": [{"filter": "datum.series == 'now'"}],
                "mark": {"type": "rule", "strokeDash": [2, 3]},
                "encoding": {
                    "x": {"field": "epoch", "type": "quantitative"},
                    "color": {"datum": "now", "scale": {"domain": colors}, "legend": legend},
                },
            }
        )
    if changes:
        marks = {"transform": [{"filter": f"datum.series == '{COURSE}'"}]}
        color = {"datum": COURSE, "scale": {"domain": colors}, "legend": legend}
        layers.append(
            {**marks, "mark": {"type": "rule", "strokeDash": [5, 3], "strokeWidth": 1.5},
             "encoding": {"x": {"field": "epoch", "type": "quantitative"}, "color": color,
                          "tooltip": [{"field": "run", "type": "nominal", "title": "change"},
                                      {"field": "epoch", "type": "quantitative",
                                       "format": ".2f"}]}}
        )  # fmt: skip
        layers.append(
            {**marks, "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 3,
                               "y": 2, "fontSize": 10},
             "encoding": {"x": {"field": "epoch", "type": "quantitative"}, "color": color,
                          "text": {"field": "run", "type": "nominal"}}}
        )  # fmt: skip
    return data, {"height": height, "layer": layers}


COURSE = "course changed"  #: the series of the marks of a change of course


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
    n = len(history)
    text = (
        f"Over {n} epoch{'s' if n != 1 else ''}, the cost went from {_number(first['cost'])} "
        f"to {_number(last['cost'])}"
    )
    valid = [(h["valid_acc"], h["epoch"]) for h in history if h.get("valid_acc") is not None]
    text += f" and the training accuracy from {first['train_acc']:.2%} to {last['train_acc']:.2%}"
    if valid:
        best, when = max(valid)
        text += f"; validation accuracy {valid[-1][0]:.2%} (best {best:.2%}, epoch {when:g})"
    return text + "."


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
