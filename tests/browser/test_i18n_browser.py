"""The app in Japanese in a real browser: chosen by the browser's language, read the same.

A Chromium context with ``locale="ja-JP"`` (``navigator.language`` "ja-JP") gets the
Japanese page without any ``?lang=``; the same strokes drawn there and in an English
page are read the same (the same digit, the same probability); the language switch
changes the words but keeps the drawing on the canvas and its answer. The Draw, Train
and How it works tabs in Japanese show no English word (what the browser draws, chart
text included) and no KaTeX warning, their Japanese is set in a font that has its
glyphs, and they are screenshotted for README.ja.md (``*_ja.png``).
"""

from __future__ import annotations

import re

import pytest
from harness import ONE, SEVEN, ZERO
from playwright.sync_api import Page, expect
from prose import english_words
from test_app_browser import shot, stroke, watch

from digitnet.app import i18n

pytestmark = pytest.mark.browser

JA = i18n.LANGUAGES["ja"].texts
TABS_JA = [JA[f"tab.{n}"] for n in ("draw", "explore", "how", "train")]
TABS_EN = ["Draw", "Explore", "How it works", "Train"]

#: Counts the ink on the canvas's drawing layer (fabric's lower canvas: white strokes on
#: black), in device pixels.
INK_JS = """(c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
  return n;
}"""


def answer(page: Page):
    """The answer's metric: its value ("7", "7?", "–") and its delta (the probability)."""
    metric = page.locator('[data-testid="stMetric"]').first
    return metric.locator('[data-testid="stMetricValue"]'), metric.locator(
        '[data-testid="stMetricDelta"]'
    )


def read(page: Page, points) -> tuple[str, str]:
    """Draw one stroke on an empty canvas; the digit read and its probability ("99.6%")."""
    value, delta = answer(page)
    expect(value).to_have_text("–", timeout=20_000)
    stroke(page, points)
    expect(value).not_to_have_text("–", timeout=20_000)
    probability = re.search(r"\d+(\.\d)?%", delta.text_content() or "")
    assert probability, delta.text_content()
    return value.text_content(), probability.group()


def clear(page: Page) -> None:
    page.locator(".st-key-clear button").click()
    expect(answer(page)[0]).to_have_text("–", timeout=20_000)
    page.wait_for_timeout(300)  # let the canvas redraw itself empty


def ink(page: Page) -> int:
    return page.locator("canvas.dc-canvas.lower-canvas").first.evaluate(INK_JS)


def tab_labels(page: Page) -> list[str]:
    return [t.strip() for t in page.get_by_role("tab").all_text_contents()]


def open_page(browser, server, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1000, "height": 1000})
    page = context.new_page()
    errors = watch(page)
    page.goto(server.url)
    expect(answer(page)[0]).to_have_text("–", timeout=60_000)
    return context, page, errors


def test_a_japanese_browser_gets_japanese_and_digits_are_read_the_same(browser, server):
    readings = {}
    for locale, tabs in (("en-US", TABS_EN), ("ja-JP", TABS_JA)):
        context, page, errors = open_page(browser, server, locale)
        try:
            assert tab_labels(page) == tabs
            assert "lang=" not in page.url  # the browser's language chose, no parameter
            readings[locale] = []
            for points in (SEVEN, ZERO, ONE):
                readings[locale].append(read(page, points[0]))
                clear(page)
            assert not errors, errors
        finally:
            context.close()
    assert readings["ja-JP"] == readings["en-US"]
    assert [digit.rstrip("?") for digit, _ in readings["en-US"]] == ["7", "0", "1"]


def test_the_switch_keeps_the_drawing_and_its_answer(browser, server):
    context, page, errors = open_page(browser, server, "ja-JP")
    try:
        before = read(page, SEVEN[0])
        drawn = ink(page)
        assert drawn > 1000
        page.locator(".st-key-lang_switch button", has_text="English").click()
        expect(page.get_by_role("tab", name="How it works")).to_be_visible(timeout=20_000)
        assert tab_labels(page) == TABS_EN
        assert "lang=en" in page.url  # the address now says which language it shows
        value, delta = answer(page)
        expect(value).to_have_text(before[0])
        expect(delta).to_contain_text(before[1])
        page.wait_for_timeout(500)  # the canvas, if it was rebuilt, draws the strokes again
        assert abs(ink(page) - drawn) <= 0.02 * drawn  # the same strokes are on the canvas
        # and the canvas still draws and answers
        clear(page)
        assert read(page, ONE[0])[0].rstrip("?") == "1"
        page.locator(".st-key-lang_switch button", has_text=i18n.LANGUAGES["ja"].name).click()
        expect(page.get_by_role("tab", name=TABS_JA[0])).to_be_visible(timeout=20_000)
        assert "lang=ja" in page.url
        expect(answer(page)[0]).to_have_text(re.compile(r"^1\??$"))
        assert not errors, errors
    finally:
        context.close()


#: Every piece of text the browser draws in the main area, with the font it is drawn in:
#: text nodes (chart labels in SVG too) that are rendered (not hidden, not shrunk to
#: nothing: see i18n.streamlit_css), leaving out code, formulas and icon ligatures.
VISIBLE_TEXT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const out = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el) continue;
    if (el.closest('pre, code, .katex, style, script, [data-testid="stIconMaterial"]')) continue;
    const css = getComputedStyle(el);
    if (parseFloat(css.fontSize) === 0 || css.visibility === 'hidden') continue;
    if (!el.checkVisibility()) continue;
    out.push([text, css.fontFamily]);
  }
  return out;
}"""

#: Draws a kana-and-kanji sample and a character no font has (U+10FFFD, drawn as the
#: "missing glyph" box) in the page's font, and says whether they differ: if they do not,
#: the Japanese would be tofu boxes.
GLYPHS_JS = """(font) => {
  const draw = (text) => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 32;
    const g = c.getContext('2d');
    g.font = '24px ' + font;
    g.fillText(text, 2, 26);
    return c.toDataURL();
  };
  const missing = draw('\\u{10FFFD}');
  return ['あ', '数', '学', 'ア'].map((ch) => draw(ch) !== missing && draw(ch) !== draw(''));
}"""


def no_english_shown(page: Page) -> list[str]:
    """The browser-drawn texts of the page that hold English words (names allowed)."""
    return [text for text, _ in page.evaluate(VISIBLE_TEXT_JS) if english_words(text)]


def test_japanese_tabs_show_no_english_and_are_screenshotted(browser, server, screenshots):
    context, page, errors = open_page(browser, server, "ja-JP")
    try:
        # Draw: a digit drawn, answered, its four steps; the weights files' panel open.
        read(page, SEVEN[0])
        page.get_by_text(JA["draw.weights_files"]).click()
        expect(page.locator('[data-testid="stFileUploaderDropzone"]')).to_be_visible()
        assert page.evaluate("document.documentElement.lang") == "ja"
        fonts = {font for _, font in page.evaluate(VISIBLE_TEXT_JS)}
        assert all("Noto Sans CJK JP" in f or "Hiragino" in f for f in fonts), fonts
        assert all(
            page.evaluate(
                GLYPHS_JS,
                page.evaluate(
                    "getComputedStyle(document.querySelector('[data-testid=stMain] p')).fontFamily"
                ),
            )
        ), "the page's font has no Japanese glyphs (tofu): install fonts-noto-cjk"
        assert not no_english_shown(page), no_english_shown(page)
        page.get_by_text(JA["draw.weights_files"]).click()  # closed, for the picture
        shot(page, screenshots / "draw_ja.png")

        # How it works: the formulas (Japanese inside \\text{}: no KaTeX warning), the check.
        page.get_by_role("tab", name=JA["tab.how"]).click()
        expect(page.get_by_text(re.compile("^最大の相対誤差は"))).to_be_visible(timeout=60_000)
        expect(page.locator(".katex .text", has_text="交差エントロピー")).to_be_visible()
        # every formula's code drawn (the highlighter loads on the page's first code block:
        # an earlier screenshot caught the blocks empty)
        page.wait_for_function(
            "[...document.querySelectorAll('[data-testid=stCode] code')]"
            ".every((c) => c.innerText.trim().length > 0)"
        )
        assert not no_english_shown(page), no_english_shown(page)
        shot(page, screenshots / "howitworks_ja.png")

        # Train: fast, a short run to the end.
        page.get_by_role("tab", name=JA["tab.train"]).click()
        opener = page.get_by_text(re.compile("のハイパーパラメータ$"))
        opener.click()
        epochs = page.get_by_label(JA["train.hp.epochs"])
        epochs.fill("5")
        epochs.press("Enter")
        opener.click()  # closed again, for the picture
        page.get_by_role("button", name=JA["train.start"]).click()
        expect(page.get_by_text(re.compile("^完了：MNIST のテスト画像"))).to_be_visible(
            timeout=180_000
        )
        # the curves (cost, accuracy), then (issue 16) the first layer's pictures, the drawing
        # and the six digits re-read: drawn by the page's run after the last refresh
        expect(page.locator('[data-testid="stVegaLiteChart"]:visible').nth(1)).to_be_visible()
        expect(page.get_by_text(JA["live.units.heading"])).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile(r"^エポック 5 の後、\d と読んでいます"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"^エポック 5 の後：6 個中"))).to_be_visible()
        probabilities = page.locator(  # the drawing's chart, drawn
            '[data-testid="stVegaLiteChart"]:visible', has_text=JA["chart.probability"]
        )
        expect(probabilities.first).to_be_visible()
        page.wait_for_function(
            "[...document.querySelectorAll('[data-testid=stMain] img')]"
            ".every((i) => i.complete && i.naturalWidth > 0)"
        )  # the pictures loaded
        # below: the run set beside the shipped weights, how each reads the drawing
        expect(page.get_by_text(re.compile("^あなたの手書きの読み"))).to_be_visible()
        page.wait_for_timeout(1000)  # the last charts drawn at their size
        assert not no_english_shown(page), no_english_shown(page)
        shot(page, screenshots / "train_ja.png")
        assert not errors, errors
    finally:
        context.close()
