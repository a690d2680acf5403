"""The app in a real browser: drawing with the mouse and a finger, live training, screenshots.

Each test opens its own page on the session's server (``conftest.py``), fails on
any console error or warning or off-host request, and saves screenshots (README's,
with ``make screenshots``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import statistics
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import tomllib
from harness import FOUR, LATENCY_JS, ONE, SEVEN, ZERO, answer_timing, percentile
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def rgb(color: str) -> tuple[int, int, int]:
    """``"#1c6fd1"`` -> ``(28, 111, 209)``."""
    return tuple(int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))


# ---------------------------------------------------------------- helpers
def watch(page: Page) -> list[str]:
    """Collect console errors and warnings (Vega's among them) and page errors; abort (and
    report) off-host requests."""
    errors: list[str] = []
    page.on(
        "console",
        lambda m: m.type in ("error", "warning") and errors.append(f"console {m.type}: {m.text}"),
    )
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

    def guard(route):
        url = route.request.url
        if url.startswith("data:") or urlparse(url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            errors.append(f"off-host request: {url}")
            route.abort()

    page.context.route("**/*", guard)
    return errors


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    expect(metric_value(page)).to_have_text("–", timeout=60_000)


def metric_value(page: Page):
    return page.locator('[data-testid="stMetric"]', has_text="Prediction").locator(
        '[data-testid="stMetricValue"]'
    )


def canvas_box(page: Page) -> dict:
    """The canvas's box on the screen, once it is all in view (a page scrolled down, after
    an upload say, can leave its top under Streamlit's header, which takes the mouse)."""
    upper = page.locator("canvas.upper-canvas").first  # in the component's shadow root
    expect(upper).to_be_visible()
    box = upper.bounding_box()
    if box["y"] < 80 or box["y"] + box["height"] > page.viewport_size["height"]:
        upper.evaluate("(e) => e.scrollIntoView({block: 'center'})")
        box = upper.bounding_box()
    return box


def stroke(page: Page, points, steps: int = 6) -> None:
    """One stroke with the mouse; ``points`` in unit coordinates of the canvas."""
    box = canvas_box(page)
    xy = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def draw(page: Page, strokes, already: int = 0) -> str:
    """Draw ``strokes``; wait for the answer to the last one; return the predicted digit."""
    for i, points in enumerate(strokes, start=already + 1):
        stroke(page, points)
        strokes_shown(page, i)
    return metric_value(page).text_content()


def clear(page: Page) -> None:
    page.locator(".st-key-clear button").click()
    expect(metric_value(page)).to_have_text("–", timeout=20_000)
    page.wait_for_timeout(300)  # let the canvas redraw itself empty


def strokes_shown(page: Page, n: int) -> None:
    """Wait until the first picture's caption counts ``n`` strokes."""
    plural = "s" if n != 1 else ""
    expect(page.get_by_text(re.compile(rf"^1 · canvas .*, {n} stroke{plural}$"))).to_be_visible(
        timeout=20_000
    )


FOCUSED_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const box = el.closest('[class*="st-key-"]');
  const key = box ? [...box.classList].find((c) => c.startsWith('st-key-')) : null;
  return {tag: el.tagName, role: el.getAttribute('role'), key: key && key.slice(7),
          text: (el.getAttribute('aria-label') || el.innerText || '').trim().slice(0, 40),
          inCanvasToolbar: !!(el.closest && el.closest('.dc-toolbar'))};
}"""


def assert_pictures_described(page: Page) -> None:
    """Every picture on the page has an alt text (a screen reader says what it shows)."""
    alts = page.evaluate(
        "[...document.querySelectorAll('[data-testid=\"stMain\"] img')].map((i) => i.alt)"
    )
    assert alts and all(a.strip() for a in alts), alts


def tab_until(page: Page, found, limit: int = 40) -> list[dict]:
    """Press Tab until ``found(focused)``; returns the elements focused on the way."""
    path = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        path.append(focused)
        if focused and found(focused):
            return path
    raise AssertionError(f"not reached by the keyboard in {limit} steps: {path}")


def shot(page: Page, path, height: int | None = None) -> None:
    """Screenshot of the whole app: the page scrolls inside stMain, so grow the viewport."""
    page.mouse.move(2, 2)  # no hover effects in the picture
    size = page.viewport_size
    if height is None:
        height = page.evaluate(
            "Math.max(document.querySelector('[data-testid=\"stMain\"]').scrollHeight,"
            " window.innerHeight)"
        )
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def progress(page: Page) -> tuple[int, str]:
    """(aria-valuenow, text) of the training progress bar; (-1, "") when there is none."""
    bar = page.locator('[data-testid="stProgress"]')
    if not bar.count():
        return -1, ""
    now = bar.first.locator('[role="progressbar"]').get_attribute("aria-valuenow")
    return int(float(now or 0)), bar.first.text_content() or ""


# ---------------------------------------------------------------- tests
def test_draw_digits_with_the_mouse(page: Page, server, screenshots, measured):
    """0, 1, 4 and 7 drawn with the mouse are read right; the answer's latency."""
    page.set_viewport_size({"width": 1000, "height": 1000})
    page.add_init_script(LATENCY_JS)
    errors = watch(page)
    open_app(page, server.url)
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()

    read = {}
    for name, strokes in (("0", ZERO), ("1", ONE), ("4", FOUR), ("7", SEVEN)):
        read[name] = draw(page, strokes).rstrip("?")
        if name == "7":
            expect(
                page.get_by_text(re.compile(r"^Answered by the shipped weights"))
            ).to_be_visible()
            expect(page.get_by_text("4 · centred 28×28, centre of mass ✚")).to_be_visible()
            shot(page, screenshots / "draw.png")
        clear(page)
    assert read == {"0": "0", "1": "1", "4": "4", "7": "7"}

    # Latency: mouse-up to the answer, on the browser's clock, one stroke on an empty
    # canvas each time (after a warm-up stroke).
    shapes = [ONE, SEVEN, ZERO]
    latencies, stages = [], []
    for i in range(11):
        n_up, n_metric = page.evaluate("[window.__lat.ups.length, window.__lat.metric.length]")
        shift = 0.03 * (i % 3)
        draw(page, [[(u + shift, v) for u, v in shapes[i % 3][0]]])
        shown, sent_arrived = answer_timing(page.evaluate("window.__lat"), n_up, n_metric)
        if i:
            latencies.append(shown)
            stages += [sent_arrived] if sent_arrived else []
        clear(page)
    median, p90 = statistics.median(latencies), percentile(latencies, 90)
    where = (
        "; drawing sent at {:.0f} ms, answer received at {:.0f} ms (medians)".format(
            *(statistics.median(c) for c in zip(*stages))
        )
        if stages
        else ""
    )
    measured(f"answer latency after mouse-up: median {median:.0f} ms, p90 {p90:.0f} ms, "
             f"all {[round(x) for x in latencies]}{where}")  # fmt: skip
    assert median < 1500  # the goals (250 ms; 350 beside two trainers): benchmarks/app_check.py
    assert not errors, errors


def test_drawing_pad_never_gets_in_the_way(page: Page, server):
    """The canvas component's own toolbar (its edit toggle among them) is gone: the tab bar
    takes a click right after a stroke, strokes always draw, and Ctrl+Z / ⌘Z undo one."""
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch(page)
    open_app(page, server.url)
    toolbar = page.locator(".dc-toolbar")  # in the canvas's shadow root
    expect(toolbar).to_have_count(1)
    draw(page, SEVEN)
    # Straight from the stroke up to the tab bar, over where the toolbar used to pop up.
    box = canvas_box(page)
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + 10)
    expect(toolbar).to_be_hidden()
    tab = page.get_by_role("tab", name="How it works")
    target = tab.bounding_box()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] * 0.75,
                    steps=5)  # fmt: skip
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('[role=tab]')?.textContent",
        [target["x"] + target["width"] / 2, target["y"] + target["height"] * 0.75],
    )
    assert hit == "How it works"  # nothing lies over the tab's label
    page.mouse.down()
    page.mouse.up()
    expect(tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text(re.compile(r"^Largest relative error"))).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Draw").click()

    # No edit mode to fall into: the toggle cannot be clicked, and every stroke draws.
    expect(page.locator('.dc-toolbar button[aria-label="Edit"]')).to_be_hidden()
    draw(page, [[(0.3, 0.55), (0.7, 0.55)]], already=1)
    draw(page, [[(0.2, 0.9), (0.8, 0.9)]], already=2)
    upper = page.locator("canvas.upper-canvas").first
    assert upper.get_attribute("role") == "img" and "Drawing pad" in upper.get_attribute(
        "aria-label"
    )

    # Ctrl+Z (⌘Z on a Mac) undoes the last stroke, as the Undo button does.
    page.keyboard.press("Control+z")
    strokes_shown(page, 2)
    page.keyboard.press("Meta+z")
    strokes_shown(page, 1)
    assert not errors, errors


def test_keyboard_alone_draw_answer_train_start_stop(page: Page, server):
    """After a digit drawn with the mouse, everything else with the keyboard: the app's
    Undo/Clear/Pen straight after the tabs, the answer corrected, the Train tab, Start, Stop."""
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch(page)
    open_app(page, server.url)
    read = draw(page, SEVEN).rstrip("?")
    draw(page, [[(0.3, 0.55), (0.7, 0.55)]], already=1)

    page.get_by_role("tab", name="Draw").focus()
    path = tab_until(page, lambda f: f["key"] == "undo")
    assert len(path) == 1, path  # the canvas's own buttons are not in the way
    page.keyboard.press("Enter")  # Undo
    strokes_shown(page, 1)
    path = tab_until(page, lambda f: f["key"] == "clear")
    assert len(path) == 1, path
    path = tab_until(page, lambda f: f["text"].startswith("edit") or "Pen" in f["text"])
    assert len(path) == 1, path
    expect(metric_value(page)).to_have_text(re.compile(rf"^{read}\??$"))

    # The answer: "Not a 7? It's a…", by the keyboard.
    other = "1" if read != "1" else "7"
    tab_until(page, lambda f: f["key"] == "correct" and f["role"] == "radio")
    for _ in range(9):  # a radio group: the arrows move within it
        if page.evaluate(FOCUSED_JS)["text"] == other:
            break
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(rf"^Kept as a {other} \(1 drawing"))).to_be_visible(
        timeout=20_000
    )

    # The Train tab: back to the tab bar, End (the last tab; the arrows would open each tab
    # on the way, every one a full rerun), then Start and Stop.
    page.get_by_role("tab", name="Draw").focus()
    page.keyboard.press("End")
    train = page.get_by_role("tab", name="Train")
    expect(train).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("button", name="Start training")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Train").focus()
    tab_until(page, lambda f: f["text"].endswith("Start training"))
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"^run #\d+ · running"))).to_be_visible(timeout=60_000)
    tab_until(page, lambda f: f["key"] == "stop")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Resume")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(re.compile(r"^Stopped after"))).to_be_visible()
    assert not errors, errors


def test_a_good_upload_clears_a_refused_files_chip(page: Page, server, tmp_path):
    """The uploader's own red chip for a refused file goes once a good weights file is in."""
    from digitnet.weights import SHIPPED_WEIGHTS

    if not SHIPPED_WEIGHTS.exists():
        pytest.skip("no shipped weights file to upload")
    page.set_viewport_size({"width": 1280, "height": 900})
    errors = watch(page)
    open_app(page, server.url)
    page.get_by_text("Weights files: upload or download").click()
    wrong = tmp_path / "notes.txt"
    wrong.write_text("not weights")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(wrong)
    uploader = page.locator('[data-testid="stFileUploader"]')
    expect(uploader).to_contain_text("notes.txt")  # refused by the uploader itself
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(SHIPPED_WEIGHTS)
    expect(page.get_by_text(f"Uploaded: {SHIPPED_WEIGHTS.name}")).to_be_visible(timeout=20_000)
    expect(uploader).not_to_contain_text("notes.txt")
    expect(uploader).not_to_contain_text("not allowed")
    expect(page.get_by_role("radio", name="Uploaded")).to_be_checked()
    assert not errors, errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_follows_the_systems_light_or_dark_theme(browser, server, screenshots, scheme):
    """The visitor's system setting picks the theme: the background is that theme's, the
    charts draw without a warning, and a screenshot of each shows it."""
    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"][scheme]
    context = browser.new_context(viewport={"width": 1000, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    errors = watch(page)
    try:
        open_app(page, server.url)
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.stApp')).backgroundColor"
        )
        assert background == "rgb({}, {}, {})".format(*rgb(theme["backgroundColor"]))
        assert draw(page, SEVEN).rstrip("?") == "7"
        expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(1)
        # The chart's words in the theme's text colour (Streamlit's grey is too faint on
        # white), its message in words below it, and every picture described.
        label = page.locator('[data-testid="stVegaLiteChart"] .role-axis-label text').first
        expect(label).to_have_css("fill", "rgb({}, {}, {})".format(*rgb(theme["textColor"])))
        expect(page.get_by_text(re.compile(r"^The bars: 7 at \d"))).to_be_visible()
        assert_pictures_described(page)
        page.wait_for_timeout(300)
        shot(page, screenshots / f"draw_{scheme}.png")
        assert not errors, errors
    finally:
        context.close()


def test_train_live_stop_resume_and_page_close(page: Page, browser, server, screenshots):
    """`fast` for 20 epochs: progress and charts move; Stop, Resume; the Draw tab uses
    the model mid-training; closing the page ends a run."""
    page.set_viewport_size({"width": 1000, "height": 1000})
    errors = watch(page)
    open_app(page, server.url)
    page.get_by_role("tab", name="Train").click()
    page.get_by_text("Hyperparameters of").click()
    epochs = page.get_by_label("Epochs")
    epochs.fill("20")  # long enough to watch it run on a busy machine
    epochs.press("Enter")
    page.get_by_text("Hyperparameters of").click()  # closed again, for the screenshots
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text(re.compile(r"^run #1 · running"))).to_be_visible(timeout=60_000)
    page.locator(".st-key-stop button").click()  # at once (not the header's Stop)
    page.get_by_role("button", name="Resume").click()

    seen, charts = [], set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 90:
        value, text = progress(page)
        if value >= 0:
            seen.append(value)
        chart = page.locator('[data-testid="stVegaLiteChart"]:visible')
        if chart.count() >= 2:  # cost, accuracy (then the readings' charts, issue 16)
            with contextlib.suppress(Exception):  # replaced by a refresh mid-screenshot
                charts.add(hashlib.md5(chart.nth(1).screenshot(timeout=2000)).hexdigest())
        shown = re.search(r"Epoch (\d+) of 20", text)
        if shown and int(shown[1]) >= 3 and len(charts) >= 2 and len(set(seen)) >= 3:
            break  # seen moving: enough
        time.sleep(0.2)
    assert len(set(seen)) >= 3 and seen == sorted(seen), seen  # the bar moves, forwards
    assert len(charts) >= 2  # the accuracy chart was redrawn with new epochs
    expect(page.get_by_text(re.compile(r"^run #1 · running · elapsed"))).to_be_visible()
    shot(page, screenshots / "train.png")

    # The Draw tab answers with the model as it is now.
    page.get_by_role("tab", name="Draw").click()
    draw(page, SEVEN)
    expect(
        page.get_by_text(re.compile(r"^Answered by your run #1 \(fast\) after .* \(training\)"))
    ).to_be_visible()
    page.get_by_role("tab", name="Train").click()

    # Stop: within a minibatch; the progress freezes; Resume continues to the end.
    page.locator(".st-key-stop button").click()  # not the header's Stop (slow run)
    expect(page.get_by_role("button", name="Resume")).to_be_visible(timeout=10_000)
    frozen = progress(page)
    page.wait_for_timeout(1500)
    assert progress(page) == frozen
    expect(page.get_by_text(re.compile(r"^Stopped after"))).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(  # seconds on an idle machine; minutes at a load average of 15 (20 epochs)
        page.get_by_text(re.compile(r"^Done: .*% of the 10,000 MNIST test digits"))
    ).to_be_visible(timeout=400_000)
    assert progress(page)[0] == 100
    shot(page, screenshots / "train_done.png")
    page.set_viewport_size({"width": 360, "height": 740})  # a phone's width
    shot(page, screenshots / "phone_train.png")
    page.set_viewport_size({"width": 1000, "height": 1000})
    assert not errors, errors

    # Closing the page mid-run ends the run on the server.
    if server.log is None:
        return
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text(re.compile(r"^run #2 · running"))).to_be_visible(timeout=30_000)
    page.context.close()
    t0 = time.monotonic()
    while "run=2 reason=session-ended" not in server.log_text():
        assert time.monotonic() - t0 < 20, server.log_text()[-2000:]
        time.sleep(0.2)


def test_phone_finger_drawing_and_layout(browser, server, screenshots):
    """At 360 px wide with a touch screen: drawing with a finger doesn't scroll the page,
    nothing overflows sideways, and the answer shows without scrolling."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    errors = watch(page)
    try:
        open_app(page, server.url)
        box = canvas_box(page)
        scroll = "[window.scrollY, document.querySelector('[data-testid=\"stMain\"]').scrollTop]"
        before = page.evaluate(scroll)
        cdp = context.new_cdp_session(page)
        xy = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in SEVEN[0]]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
            {"x": xy[0][0], "y": xy[0][1]}]})  # fmt: skip
        for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
            for k in range(1, 11):
                x, y = x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10
                cdp.send("Input.dispatchTouchEvent",
                         {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})  # fmt: skip
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(metric_value(page)).to_have_text(re.compile(r"^7\??$"), timeout=20_000)
        assert page.evaluate(scroll) == before  # the finger drew; the page did not move
        widths = page.evaluate(
            "[document.documentElement.scrollWidth,"
            " document.querySelector('[data-testid=\"stMain\"]').scrollWidth]"
        )
        assert max(widths) <= 360, widths
        answer = metric_value(page).bounding_box()
        assert answer["y"] + answer["height"] <= 740  # the digit shows while drawing
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshots / "phone_draw.png"))
        assert not errors, errors
    finally:
        context.close()
