"""Watch it learn, in a real browser: the first layer's pictures change while a run goes,
the drawing is re-read every epoch, and a change of course is marked on the curves.

Also makes README's screenshot of a run mid-way (``train_live.png``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time

import pytest
from harness import SEVEN
from playwright.sync_api import Page, expect
from test_app_browser import assert_pictures_described, draw, open_app, shot, watch

pytestmark = pytest.mark.browser


def grid(page: Page):
    """The first layer's pictures (one image, in one of its two places)."""
    return page.locator('[class*="st-key-live_grid"] [data-testid="stImage"] img').first


def grid_seen(page: Page) -> tuple[str, str] | None:
    """(src, hash of the pixels shown) of the grid, or None while it is not loaded."""
    img = grid(page)
    try:
        if not img.count() or not img.evaluate("i => i.complete && i.naturalWidth > 0"):
            return None
        return img.get_attribute("src"), hashlib.md5(img.screenshot(timeout=2000)).hexdigest()
    except Exception:  # replaced by a refresh meanwhile
        return None


def test_watch_it_learn(page: Page, server, screenshots):
    page.set_viewport_size({"width": 1000, "height": 1000})
    errors = watch(page)
    missing = []  # what a "Failed to load resource" was
    page.on("response", lambda r: r.status >= 400 and missing.append(f"{r.status} {r.url}"))
    open_app(page, server.url)
    assert draw(page, SEVEN).rstrip("?") == "7"
    page.get_by_role("tab", name="Train").click()
    page.get_by_text("Hyperparameters of").click()
    epochs = page.get_by_label("Epochs")
    epochs.fill("20")  # long enough to watch on a busy machine; stopped below
    epochs.press("Enter")
    page.get_by_text("Hyperparameters of").click()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("The first layer forming")).to_be_visible(timeout=60_000)

    # 1. The pictures change between two refreshes (a new one at least every epoch).
    first = None
    t0 = time.monotonic()
    while first is None and time.monotonic() - t0 < 60:
        first = grid_seen(page)
        time.sleep(0.2)
    assert first is not None, "the first layer's pictures never showed"
    later = None
    while time.monotonic() - t0 < 180:
        later = grid_seen(page)
        if later is not None and later[0] != first[0] and later[1] != first[1]:
            break  # a new picture, and what is shown changed (not only its address)
        time.sleep(0.3)
    assert later is not None and later[0] != first[0], "the pictures never changed"
    assert later[1] != first[1], "a new picture was sent but what is shown did not change"
    expect(
        page.get_by_text(re.compile(r"^16 of the 128 units after \d+\.\d\d epochs"))
    ).to_be_visible()

    # 2. The drawing, re-read every epoch: its chart and its words.
    expect(page.get_by_text("Your drawing, re-read every epoch")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^After epoch \d+ it reads \d")).first).to_be_visible(
        timeout=60_000
    )
    train = page.get_by_role("tabpanel", name="Train")  # (the Draw tab has a chart too)
    probabilities = train.get_by_test_id("stVegaLiteChart").filter(
        has=page.locator("text", has_text=re.compile(r"^probability$"))
    )  # the chart of its ten probabilities over the epochs, drawn
    expect(probabilities).to_have_count(1)
    expect(probabilities).to_be_visible()
    assert probabilities.locator("g.mark-line path").count() == 10  # a line per digit
    expect(
        page.get_by_text(re.compile(r"^After epoch \d+: \d of 6 read right")).first
    ).to_be_visible()

    # 3. Change course: η from 0.002 to 0.0005; marked on the curves, said in words.
    page.get_by_role("button", name="Change course").click()
    eta = page.get_by_label("Learning rate η from now on")
    eta.fill("0.0005")
    eta.press("Enter")
    page.get_by_role("button", name="Apply from the next minibatch").click()
    expect(
        page.get_by_text(re.compile(r"Course changed: η 0\.002 → 0\.0005 at epoch"))
    ).to_be_visible(timeout=60_000)
    page.keyboard.press("Escape")  # the popover closed again
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no tooltip
    marks = page.locator('[data-testid="stVegaLiteChart"] text', has_text="η→0.0005")
    expect(marks.first).to_be_visible(timeout=30_000)
    assert marks.count() >= 2  # on the cost and on the accuracy curves

    # README's picture of a run mid-way: the curves, the pictures, the drawing's chart.
    expect(page.get_by_text(re.compile(r"^After epoch [2-9]\d* it reads")).first).to_be_visible(
        timeout=120_000
    )
    expect(page.get_by_text("The first layer forming")).to_have_count(1, timeout=30_000)
    assert_pictures_described(page)
    shot(page, screenshots / "train_live.png")
    page.get_by_test_id("stTabs").get_by_role("button", name="Stop").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible(timeout=20_000)
    assert not errors, (errors, missing)


def test_a_link_replays_a_setting(browser, server):
    """The URL follows the settings; Copy link puts it on the clipboard; opening it in
    another browser restores the settings; a bad link gives one line."""
    context = browser.new_context(viewport={"width": 1000, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    errors = watch(page)
    try:
        page.goto(server.url + "/?lang=en")  # the page's language: kept
        page.get_by_role("tab", name="Train").click()
        page.get_by_text("Hyperparameters of").click()
        eta = page.get_by_label("Learning rate η")
        eta.fill("0.0007")
        eta.press("Enter")
        seed = page.get_by_label("Seed")
        seed.fill("5")
        seed.press("Enter")
        expect(page).to_have_url(re.compile(r"seed=5"), timeout=20_000)
        expect(page).to_have_url(re.compile(r"eta=0\.0007"))
        expect(page).to_have_url(re.compile(r"lang=en"))
        page.get_by_role("button", name="Copy link to this setting").click()
        expect(page.get_by_text("Link copied to the clipboard.")).to_be_visible(timeout=20_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith(server.url) and "eta=0.0007" in copied and "seed=5" in copied
        assert not errors, errors
    finally:
        context.close()

    # A student opens the link: the Train tab, with the same settings.
    student = browser.new_context(viewport={"width": 1000, "height": 1000})
    page = student.new_page()
    errors = watch(page)
    try:
        page.goto(copied)
        expect(page.get_by_role("tab", name="Train")).to_have_attribute(
            "aria-selected", "true", timeout=60_000
        )
        page.get_by_text("Hyperparameters of").click()
        expect(page.get_by_label("Learning rate η")).to_have_value("0.0007", timeout=30_000)
        expect(page.get_by_label("Seed")).to_have_value("5")
        expect(page.get_by_text(re.compile(r"^This link's"))).to_have_count(0)

        # A link with bad values: one line, and the preset's values.
        page.goto(server.url + "/?preset=fast&eta=-1&epochs=lots&lang=en")
        expect(
            page.get_by_text(
                "This link's eta=-1 (eta must be > 0); epochs=lots (a whole number): fast's "
                "own values are shown instead.",
                exact=True,
            )
        ).to_be_visible(timeout=60_000)
        page.get_by_text("Hyperparameters of").click()
        expect(page.get_by_label("Learning rate η")).to_have_value("0.002", timeout=30_000)
        expect(page).to_have_url(re.compile(r"eta=0\.002"), timeout=20_000)
        expect(page).to_have_url(re.compile(r"lang=en"))
        assert not errors, errors
    finally:
        student.close()


def test_two_runs_side_by_side(page: Page, server):
    """Two finished runs, then a run and the shipped weights: their accuracies, curves,
    the difference of their mistakes, how each reads the drawing."""
    page.set_viewport_size({"width": 1000, "height": 1000})
    errors = watch(page)
    open_app(page, server.url)
    assert draw(page, SEVEN).rstrip("?") == "7"
    page.get_by_role("tab", name="Train").click()
    page.get_by_text("Hyperparameters of").click()
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    for n, size in enumerate(("32", "16"), start=1):
        hidden = page.get_by_role("textbox", name="Hidden layers")
        hidden.fill(size)
        hidden.press("Enter")
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text(re.compile(rf"^run #{n} · done"))).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Compare two runs side by side")).to_be_visible(timeout=30_000)
    first, second = "#1 fast 32 relu η=0.002", "#2 fast 16 relu η=0.002"
    for label in (first, second):
        accuracy = page.get_by_test_id("stMetric").filter(has_text=f"Test accuracy · {label}")
        expect(accuracy.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d+\.\d\d%$"))
    expect(
        page.get_by_text(re.compile(rf"^Per epoch, {re.escape(first)} solid, .* dashed\."))
    ).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"^The mistakes of #2 .* against those of #1"))
    ).to_be_visible()
    expect(
        page.get_by_text(re.compile(rf"^Your drawing: {re.escape(first)} reads \d \(\d+%\); #2"))
    ).to_be_visible()

    # The newest run against the shipped weights.
    option = page.get_by_role("option", name="the shipped weights")
    for _ in range(5):  # on a busy machine a click may land while the page redraws
        page.locator(".st-key-compare_first_2").get_by_role("button", name="Open").click()
        with contextlib.suppress(AssertionError):
            expect(option).to_be_visible(timeout=5_000)
            break
    option.click()
    shipped = page.get_by_test_id("stMetric").filter(has_text="Test accuracy · the shipped weights")
    expect(shipped.get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^9\d\.\d\d%$"), timeout=60_000
    )  # the shipped weights read over 90% of the test digits right
    expect(
        page.get_by_text(re.compile(r"^Your drawing: the shipped weights reads 7"))
    ).to_be_visible()
    assert not errors, errors
