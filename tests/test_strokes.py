"""Stroke-level augmentation: pen strokes drawn on the app's canvas, read by its pipeline."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitnet import data, strokes
from digitnet.preprocess import preprocess_steps

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "pendigits-dev"

#: Three digits by the format's example: an 8 (one stroke), a 4 (two), a 1.
SAMPLE = [
    (
        8,
        12,
        224,
        [
            [
                (267, 333),
                (250, 380),
                (300, 430),
                (330, 380),
                (240, 280),
                (290, 230),
                (330, 280),
                (267, 333),
            ]
        ],
    ),
    (4, 3, 17, [[(100, 400), (80, 300), (160, 300)], [(150, 420), (150, 250)]]),
    (7, 5, 3, [[(100, 400), (200, 400), (130, 250)], [(120, 330), (190, 330)]]),
]


@pytest.fixture
def pen() -> data.PenStrokes:
    digits = [[np.array(s) for s in d[3]] for d in SAMPLE]
    return data._pack(digits, *zip(*[d[:3] for d in SAMPLE]))


def canvas_of(pen, i, seed, style=strokes.STYLE):
    return strokes.render(pen, i, np.random.default_rng(seed), style)


def test_render_is_a_canvas_like_the_apps(pen):
    c = canvas_of(pen, 0, 1)
    assert c.shape == (280, 280, 4) and c.dtype == np.uint8
    assert (c[..., 3] == 255).all()  # opaque
    assert (c[..., 0] == c[..., 1]).all() and (c[..., 1] == c[..., 2]).all()  # grey: white on black
    assert c[..., 0].max() == 255 and c[0, 0, 0] == 0
    assert ((c[..., 0] > 0) & (c[..., 0] < 255)).any()  # antialiased edges


def test_render_is_deterministic_with_a_seed(pen):
    assert np.array_equal(canvas_of(pen, 1, 5), canvas_of(pen, 1, 5))
    assert not np.array_equal(canvas_of(pen, 1, 5), canvas_of(pen, 1, 6))
    a, _ = strokes.training_images(pen, copies=2, seed=3, restyled=2)
    b, _ = strokes.training_images(pen, copies=2, seed=3, restyled=2)
    assert np.array_equal(a, b)
    # a digit's renders do not depend on which other digits are in the set
    alone, _ = strokes.training_images(pen.select([2]), copies=2, seed=3, restyled=2)
    assert np.array_equal(alone, a[[2, 5, 6, 7]])  # its 2 renders, then its 2 restyled ones


def test_stroke_order_and_direction_do_not_matter(pen):
    """The same digit with its strokes in another order, each drawn the other way."""
    digits = [[np.array(s) for s in d[3]] for d in SAMPLE]
    flipped = [[s[::-1] for s in d[::-1]] for d in digits]
    other = data._pack(flipped, *zip(*[d[:3] for d in SAMPLE]))
    for i in range(len(pen)):
        for seed in range(4):
            assert np.array_equal(canvas_of(pen, i, seed), canvas_of(other, i, seed))


def test_pens_heights_and_positions_stay_in_range(pen):
    style = strokes.STYLE
    heights, widths = [], []
    for seed in range(150):
        rng = np.random.default_rng(seed)
        placed, width = strokes.vary(strokes.screen_strokes(pen, seed % 3), rng, style)
        pts = np.concatenate(placed)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        half = width / 2 + strokes.MARGIN
        assert style.pen[0] <= width <= style.pen[1]
        assert (lo >= half - 1e-6).all() and (hi <= 280 - half + 1e-6).all()  # pen inside
        heights.append((hi[1] - lo[1]) / 280)
        widths.append(width)
    heights, widths = np.array(heights), np.array(widths)
    assert style.height[0] - 1e-9 <= heights.min() and heights.max() <= style.height[1] + 1e-9
    assert heights.min() < 0.35 and heights.max() > 0.8  # the whole range is used
    assert widths.min() < 11 and widths.max() > 27


def test_plain_style_is_the_data_sets_rendering(pen):
    """Without variation a render is the set's own (render.py): the same rasteriser."""
    if not (DEV / "render.py").exists():
        pytest.skip(f"no render.py in {DEV}")
    sys.path.insert(0, str(DEV))
    import render  # the pen-drawn set's renderer

    placed, _ = strokes.vary(strokes.screen_strokes(pen, 1), np.random.default_rng(0))
    ours, theirs = strokes.draw(placed, 18), render.draw(placed)
    # the same but at the edges, where segments run right to left (Pillow's wide lines
    # are not quite symmetric): under 2% of the ink, and nearly the same 28×28 input
    diff = np.abs(ours[..., 0].astype(int) - theirs[..., 0])
    assert diff.sum() < 0.02 * theirs[..., 0].astype(int).sum() and (ours[..., 3] == 255).all()
    a, b = (preprocess_steps(c, background="dark").image for c in (ours, theirs))
    assert np.abs(a - b).mean() < 0.02
    plain = strokes.vary(strokes.screen_strokes(pen, 1), np.random.default_rng(0), strokes.PLAIN)
    # the shape is kept: only scaled and moved
    src = np.concatenate(strokes.screen_strokes(pen, 1))
    got = np.concatenate(plain[0])
    scale = np.ptp(got[:, 1]) / np.ptp(src[:, 1])
    assert np.allclose(got - got.min(0), (src - src.min(0)) * scale)


def test_training_images_are_what_the_pipeline_makes(pen):
    images, labels = strokes.training_images(pen, copies=2, seed=9, restyled=2)
    assert images.shape == (8, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [8, 4, 7, 8, 4, 7, 7, 7]  # then the 7 restyled, twice
    default, _ = strokes.training_images(pen, copies=2, seed=9)  # best's number of restyles
    assert len(default) == 6 + strokes.RESTYLED_COPIES
    assert np.array_equal(default[:8], images)
    for c in range(2):
        for i in range(3):
            rng = np.random.default_rng([9, c, int(pen.writers[i]), int(pen.sample_no[i])])
            steps = preprocess_steps(strokes.render(pen, i, rng), background="dark")
            assert np.array_equal(images[c * 3 + i], np.round(steps.image * 255).astype(np.uint8))
    for r in range(2):
        rng = np.random.default_rng([9, 100 + r, int(pen.writers[2]), int(pen.sample_no[2])])
        seven = strokes.restyle(strokes.screen_strokes(pen, 2), 7, rng)
        steps = preprocess_steps(strokes.draw(*strokes.vary(seven, rng)), background="dark")
        assert np.array_equal(images[6 + r], np.round(steps.image * 255).astype(np.uint8))
    plain, _ = strokes.training_images(pen, copies=2, seed=9, restyled=0)
    assert np.array_equal(plain, images[:6])


def test_the_app_reads_a_render_as_it_was_trained(pen, apps):
    """A render sent by the canvas: the Draw tab's network input is the training image."""
    from digitnet.app import state

    images, _ = strokes.training_images(pen.select([2]), copies=1, seed=4)
    rng = np.random.default_rng([4, 0, int(pen.writers[2]), int(pen.sample_no[2])])
    canvas = strokes.render(pen, 2, rng)
    buf = io.BytesIO()
    Image.fromarray(canvas, "RGBA").save(buf, format="PNG")
    at = apps()
    at.session_state["canvas"] = {
        "drawing": {
            "raw": {"objects": [{"type": "path"}, {"type": "path"}]},
            "data": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
        }
    }
    at.run()
    seen = at.session_state[state.DRAWING_KEY]
    assert seen is not None and np.array_equal(np.round(seen * 255).astype(np.uint8), images[0])


def test_midpoint_curve_and_resampling_are_symmetric():
    s = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 12.0], [3.0, 20.0]])
    curve = strokes._midpoint_curve(s)
    assert np.allclose(curve[0], s[0]) and np.allclose(curve[-1], s[-1])
    assert np.allclose(strokes._midpoint_curve(s[::-1])[::-1], curve)
    r = strokes._resample(curve, 1.5)
    assert np.allclose(strokes._resample(curve[::-1], 1.5)[::-1], r)
    steps = np.hypot(*np.diff(r, axis=0).T)
    assert steps.max() <= 1.5 * 1.2  # about the spacing asked for


def test_every_render_has_ink(pen):
    images, _ = strokes.training_images(pen, copies=3, restyled=2)
    assert len(images) == 11 and (images.reshape(11, -1).max(axis=1) > 200).all()


# --------------------------------------------------------------------------- #
# restyle: the same writers' 1s, 7s and 9s in other writers' styles
# --------------------------------------------------------------------------- #
#: Screen coordinates (y down): a 1 with a short lead-in, a 7 with a high long bar, a 9.
ONE = [np.array([[40.0, 30.0], [60.0, 0.0], [60.0, 100.0]])]
SEVEN = [
    np.array([[0.0, 0.0], [60.0, 0.0], [20.0, 100.0]]),
    np.array([[10.0, 40.0], [60.0, 40.0]]),
]
_t = np.linspace(0, 2 * np.pi, 40)
NINE = [
    np.concatenate(
        [np.stack([50 + 20 * np.cos(_t), 20 - 20 * np.sin(_t)], 1), [[70.0, 60.0], [68.0, 100.0]]]
    )
]


def _painted(digit: list[np.ndarray]) -> np.ndarray:
    placed, width = strokes.vary(digit, np.random.default_rng(0), strokes.PLAIN)
    return strokes.draw(placed, width)


def test_restyled_ones_get_a_lead_in_that_stays_a_ones(monkeypatch):
    from digitnet import augment

    monkeypatch.setattr(strokes, "ARCH_SHARE", 0.0)  # corners left sharp: the lead-in measurable
    for seed in range(100):
        (one,) = strokes.restyle(ONE, 1, np.random.default_rng(seed))
        top = np.argmin(one[:, 1])
        assert np.allclose(one[top:], ONE[0][1:])  # the stem is the writer's own
        x0, y0 = one[0] - one[top]  # the new lead-in, from the top point
        length, angle = np.hypot(x0, y0) / 100, np.degrees(np.arctan2(y0, -x0))
        lo, hi = augment.LEAD_IN_LENGTH
        assert lo - 1e-9 <= length <= hi + 1e-9 and 20 - 1e-6 <= angle <= 65 + 1e-6
        if length > 1.1:  # long: it leans towards the (upright) stem
            assert angle >= 42
    two_strokes = [ONE[0][1:], np.array([[50.0, 100.0], [70.0, 100.0]])]  # a stick with a foot
    same = strokes.restyle(two_strokes, 1, np.random.default_rng(0))
    assert len(same) == 2 and all(np.array_equal(a, b) for a, b in zip(same, two_strokes))


def test_arched_ones_round_the_top_and_keep_the_ends(monkeypatch):
    monkeypatch.setattr(strokes, "ARCH_SHARE", 1.0)
    sharp_rng, arched_rng = np.random.default_rng(5), np.random.default_rng(5)
    monkeypatch.setattr(strokes, "_round_corners", lambda s, sigma: s)
    (sharp,) = strokes.restyle(ONE, 1, sharp_rng)
    monkeypatch.undo()
    monkeypatch.setattr(strokes, "ARCH_SHARE", 1.0)
    (arched,) = strokes.restyle(ONE, 1, arched_rng)
    assert np.allclose(arched[0], sharp[0]) and np.allclose(arched[-1], sharp[-1])  # the ends
    assert arched[:, 1].min() > sharp[:, 1].min() + 0.5  # the corner at the top rounded off
    # no farther than a curve through it: within a fifth of the height of the sharp top
    assert np.hypot(*(arched - sharp[np.argmin(sharp[:, 1])]).T).min() < 20


def test_round_corners_is_symmetric_and_keeps_the_ends():
    s = np.array([[0.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    r = strokes._round_corners(s, 10.0)
    assert np.allclose(r[0], s[0]) and np.allclose(r[-1], s[-1])
    assert np.allclose(strokes._round_corners(s[::-1], 10.0)[::-1], r)
    corner = np.hypot(*(r - s[1]).T).min()
    assert 2 < corner < 10  # a curve through the corner, cut by about 0.4 sigma


def test_restyled_sevens_get_one_crossbar_through_the_stem():
    heights = []
    for seed in range(50):
        main, bar = strokes.restyle(SEVEN, 7, np.random.default_rng(seed))
        assert main is SEVEN[0] or np.array_equal(main, SEVEN[0])  # the writer's own bar dropped
        y = bar[:, 1].mean()
        assert 40 - 1e-9 <= y <= 75 + 1e-9
        stem_x = strokes._crossings([main], y)[0]
        assert bar[:, 0].min() < stem_x < bar[:, 0].max()
        assert 12 - 1e-6 <= np.hypot(*(bar[-1] - bar[0])) / 2 <= 30 + 1e-6
        heights.append(y)
    assert max(heights) > 70  # low bars are drawn too
    bare = [SEVEN[0]]  # a 7 without a bar gets one
    assert len(strokes.restyle(bare, 7, np.random.default_rng(0))) == 2
    apart = [np.array([[0.0, 0.0], [60.0, 0.0]]), np.array([[60.0, 5.0], [20.0, 100.0]])]
    same = strokes.restyle(apart, 7, np.random.default_rng(0))  # top bar and stem apart: kept
    assert len(same) == 2 and all(np.array_equal(a, b) for a, b in zip(same, apart))


def test_restyled_nines_keep_their_loop_on_a_longer_tail(monkeypatch):
    monkeypatch.setattr(strokes, "FLAT_TOP_SHARE", 0.0)
    monkeypatch.setattr(strokes, "OPEN_LOOP_SHARE", 0.0)
    loop_share = 40 / 100  # the loop is 40 of the 100 px
    for seed in range(20):
        (nine,) = strokes.restyle(NINE, 9, np.random.default_rng(seed))
        height = np.ptp(nine[:, 1])
        loop = np.ptp(nine[:40, 1])  # the loop's points
        assert 0.15 < loop / height < loop_share
        assert np.allclose(nine[:, 0], NINE[0][:, 0])  # only moved up or down
    four = [np.array(s, float) for s in SAMPLE[1][3]]  # other digits: unchanged
    same = strokes.restyle(four, 4, np.random.default_rng(0))
    assert len(same) == 2 and all(np.array_equal(a, b) for a, b in zip(same, four))


def test_restyled_nines_with_a_flat_top(monkeypatch):
    monkeypatch.setattr(strokes, "FLAT_TOP_SHARE", 1.0)
    for seed in range(20):
        (nine,) = strokes.restyle(NINE, 9, np.random.default_rng(seed))
        top = nine[:, 1].min()
        on_top = nine[np.isclose(nine[:, 1], top)]
        assert len(on_top) >= 3  # several points of the loop on one flat line
        assert np.ptp(on_top[:, 0]) > 0.2 * np.ptp(nine[:40, 0])  # a line, not a point
        assert np.allclose(nine[:, 0], NINE[0][:, 0])  # only moved up or down


def _off_line(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each point's distance from the polyline ``line``."""
    a, b = line[:-1], line[1:]
    d = b - a
    t = np.clip(((points[:, None] - a) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-12), 0, 1)
    return np.hypot(*(points[:, None] - (a + t[..., None] * d)).T).min(axis=0)


def test_restyled_nines_with_an_open_loop(monkeypatch):
    monkeypatch.setattr(strokes, "FLAT_TOP_SHARE", 0.0)
    for seed in range(20):
        monkeypatch.setattr(strokes, "OPEN_LOOP_SHARE", 0.0)
        (closed,) = strokes.restyle(NINE, 9, np.random.default_rng(seed))
        monkeypatch.setattr(strokes, "OPEN_LOOP_SHARE", 1.0)
        opened = strokes.restyle(NINE, 9, np.random.default_rng(seed))
        assert 1 <= len(opened) <= 2  # one gap: the stroke cut in two (or its start cut off)
        kept = np.concatenate(opened)
        assert _off_line(kept, closed).max() < 1e-6  # the writer's own ink, nothing added
        loop, tail = closed[:40], closed[40:]
        assert (
            _off_line(tail, kept).max() < 0.01
        )  # the tail is whole (resampling cuts corners a hair)
        right = loop[loop[:, 0] > loop[:, 0].mean() + 5]
        assert _off_line(right, kept).max() < 0.5  # the loop's right side (the stem) too
        length = lambda s: np.hypot(*np.diff(s, axis=0).T).sum()  # noqa: E731
        cut = length(closed) - sum(length(s) for s in opened)
        assert 0 < cut <= (strokes.OPEN_LOOP_INK + 0.05) * length(loop)


def test_restyle_does_not_depend_on_stroke_order_or_direction():
    for label, digit in ((1, ONE), (7, SEVEN), (9, NINE)):
        turned = [s[::-1] for s in digit[::-1]]
        a = strokes.restyle(digit, label, np.random.default_rng(3))
        b = strokes.restyle(turned, label, np.random.default_rng(3))
        assert np.array_equal(_painted(a), _painted(b)), label
