"""Teach, Explore and How it works in a real browser, and their screenshots.

One page (one visitor): a digit drawn with the mouse, a wrong answer corrected,
Teach, and the answer changes; then the Explore tab (a click on the confusion
matrix shows that cell's digits) and the How it works tab (the gradient check).
The digit is a continental "1" with a flat lead-in stroke, which MNIST-trained
networks tend to read as a 7 (the shipped weights too, though they read steeper
lead-ins right); whatever the network reads, the test teaches it another digit,
so it does not depend on the weights shipped.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from test_app_browser import assert_pictures_described, draw, metric_value, open_app, shot, watch

pytestmark = pytest.mark.browser

LEAD_IN_ONE = [[(0.30, 0.30), (0.60, 0.15), (0.55, 0.85)]]


def test_teach_explore_and_how_it_works(page: Page, server, screenshots):
    page.set_viewport_size({"width": 1000, "height": 1000})
    errors = watch(page)
    open_app(page, server.url)
    read = draw(page, LEAD_IN_ONE).rstrip("?")
    label = "1" if read != "1" else "7"

    # "Not a 7? It's a …": the drawing is kept with the right digit.
    page.locator(".st-key-correct button", has_text=re.compile(rf"^{label}$")).click()
    expect(
        page.get_by_text(re.compile(rf"^Kept as a {label} \(1 drawing to teach\)"))
    ).to_be_visible(timeout=20_000)
    expect(page.get_by_text("Teach it your handwriting")).to_be_visible()

    # Teach: fine-tuned in a few seconds; the taught network answers the drawing.
    page.locator(".st-key-teach button").click()
    expect(page.get_by_text(re.compile(r"MNIST test accuracy: .* before, .* after"))).to_be_visible(
        timeout=120_000
    )
    expect(page.get_by_text(re.compile(r"now answers with the taught network"))).to_be_visible()
    expect(metric_value(page)).to_have_text(label, timeout=20_000)
    expect(
        page.get_by_text(re.compile(r"^Answered by .*taught 1 drawing of yours"))
    ).to_be_visible()
    expect(page.get_by_role("radio", name="Taught by you")).to_be_checked()
    assert_pictures_described(page)
    shot(page, screenshots / "teach.png")

    # Explore: why this answer, the mistakes, a click on a cell of the confusion matrix.
    page.get_by_role("tab", name="Explore").click()
    expect(page.get_by_text(re.compile(rf"^The network read {label} "))).to_be_visible(
        timeout=60_000
    )
    expect(
        page.get_by_text(re.compile(r"^[\d.]+% of the 10,000 test digits read right"))
    ).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"^\d+ mistakes, page 1 of \d+"))).to_be_visible()
    cells = page.locator(
        '[data-testid="stVegaLiteChart"] path[aria-label^="read as: 9; true digit: 4"]'
    )
    cells.last.click()
    expect(page.get_by_text(re.compile(r"^\d+ 4s misread as 9"))).to_be_visible(timeout=20_000)
    expect(page.get_by_text(re.compile(r"^Accuracy per true digit: from"))).to_be_visible()
    assert_pictures_described(page)
    shot(page, screenshots / "explore.png")
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_timeout(800)  # the charts redraw at the new width
    widths = page.evaluate(
        "[document.documentElement.scrollWidth,"
        " document.querySelector('[data-testid=\"stMain\"]').scrollWidth]"
    )
    assert max(widths) <= 360, widths
    shot(page, screenshots / "phone_explore.png")
    page.set_viewport_size({"width": 1000, "height": 1000})

    # How it works: the formulas beside their code, and the gradient check.
    page.get_by_role("tab", name="How it works").click()
    expect(page.get_by_text(re.compile(r"^Largest relative error"))).to_be_visible(timeout=60_000)
    where = re.compile(r"digitnet/model.py, lines? \d+.*in MLP.backward")
    backward = page.locator('[data-testid="stCaptionContainer"]', has_text=where)
    expect(backward.first).to_be_visible()
    assert backward.count() == 4  # δ_out, δ⁽ˡ⁾, the weights' and the biases' gradients
    shot(page, screenshots / "howitworks.png")
    assert not errors, errors
