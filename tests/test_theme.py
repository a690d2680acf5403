"""The light and dark themes of ``.streamlit/config.toml``: text and chart marks readable.

Contrast ratios as WCAG 2 defines them (relative luminance of sRGB colours); 4.5:1 is
the level asked for normal text, here for the text and for every colour a chart draws
marks with (the charts take them from the theme's palette: :mod:`digitnet.app.charts`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from digitnet.app import charts

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
MIN_CONTRAST = 4.5


def luminance(color: str) -> float:
    """Relative luminance of ``"#rrggbb"`` (WCAG 2)."""
    channels = [int(color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_known_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def themes() -> dict:
    return tomllib.loads(CONFIG.read_text())["theme"]


def test_a_light_and_a_dark_theme_and_no_forced_base():
    theme = themes()
    assert "base" not in theme  # a base would pin one theme instead of following the system
    assert luminance(theme["light"]["backgroundColor"]) > 0.5
    assert luminance(theme["dark"]["backgroundColor"]) < 0.1


@pytest.mark.parametrize("name", ["light", "dark"])
def test_text_and_chart_marks_contrast_with_the_background(name):
    theme = themes()[name]
    background = theme["backgroundColor"]
    assert contrast(theme["textColor"], background) >= MIN_CONTRAST
    palette = theme["chartCategoricalColors"]
    # every palette position a chart uses, and the others too (a chart may cycle into them)
    assert len(palette) > max(charts.MAIN, charts.SECOND, charts.MUTED, charts.GUIDE)
    low = {color: round(contrast(color, background), 2) for color in palette}
    assert min(low.values()) >= MIN_CONTRAST, low
    # the answer and "not sure", training and validation: told apart from each other too
    assert palette[charts.MAIN] != palette[charts.SECOND]


def test_confusion_matrix_counts_contrast_with_their_cells():
    """The heat map is a dark panel of its own: its counts must read on every cell."""
    assert contrast(charts.TEXT_RIGHT, charts.CELL_RIGHT) >= MIN_CONTRAST
    assert contrast(charts.TEXT_OTHER, charts.CELL_NONE) >= MIN_CONTRAST
    low, high = charts.CELL_MISTAKES
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):  # along the scale (linear in RGB: close enough)
        cell = "#" + "".join(
            f"{round(int(low[i : i + 2], 16) * (1 - t) + int(high[i : i + 2], 16) * t):02x}"
            for i in (1, 3, 5)
        )
        assert contrast(charts.TEXT_OTHER, cell) >= MIN_CONTRAST, cell
