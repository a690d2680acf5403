#!/usr/bin/env python3
"""What watching a run learn costs: training speed and the Draw tab's answer, side by side.

Issue 16 adds to the Train tab's live view the first layer's pictures (made on the page
from the weight copy the worker publishes anyway), the drawing and six validation digits
re-read by the worker at every epoch's end, and the change-of-course marks. This script
serves two checkouts at once -- this one, and a *base* without issue 16 (``git archive``
of the commit before it) -- and alternates rounds between them, in headless Chromium:

- a visitor trains ``fast`` for ``--epochs`` epochs with the Train tab open (the live view
  refreshing twice a second; in this checkout with the pictures and readings), having
  drawn a digit first, so the worker reads it every epoch;
- meanwhile a second visitor draws ``--strokes`` digits on the Draw tab of the same server,
  each timed from mouse-up to the answer shown (the browser's clock, as
  ``benchmarks/app_check.py``).

Training speed is the run's wall time from its worker's start to its exit (server log),
per epoch; the figures are medians over the rounds. Also measured in this process: the
worker's per-epoch readings and the page's cost of one new picture grid.

Usage::

    git archive <base commit> | tar -x -C /tmp/base
    DIGITNET_DATA=/path/to/mnist python -m benchmarks.live --base /tmp/base [--rounds 5] [--pin]

Writes the ``live`` section of ``benchmarks/RESULTS.md`` (``--no-write``: don't) and
prints JSON. The machine is shared: the load average is recorded beside the figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the app (streamlit_app.py)

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_check import Server, Visitor
from common import REPO_ROOT, RESULTS_MD, machine_info_markdown, write_section

sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))
from harness import CHROMIUM_FLAGS, SEVEN, chromium_path


def run_seconds(srv: Server) -> list[float]:
    """The wall time of every finished run of ``srv`` (``worker exit ... reason=finished``)."""
    return [
        float(m[1])
        for m in re.finditer(r"reason=finished epoch=\d+ after=([\d.]+)s", srv.log.read_text())
    ]


def serve(root: Path, log: Path) -> Server:
    """The app of checkout ``root`` (its own ``digitnet`` imported, not this one's)."""
    return Server(log, env={"PYTHONPATH": str(root)}, root=root)


def one_round(browser, srv: Server, epochs: int, strokes: int, errors: list) -> dict:
    """A visitor trains with the Train tab open while another one draws."""
    trainer = Visitor(browser, srv.url, errors)
    drawer = Visitor(browser, srv.url, errors)
    try:
        trainer.stroke(SEVEN[0])  # read by the worker every epoch (this checkout)
        expect(trainer.metric()).not_to_have_text("–", timeout=30_000)
        before = len(run_seconds(srv))
        start_training(trainer.page, epochs)
        latency = drawer.latency(strokes)
        page = trainer.page
        expect(page.get_by_text(re.compile(r"^Done: "))).to_be_visible(timeout=600_000)
        while len(run_seconds(srv)) == before:
            time.sleep(0.1)
        pictures = page.locator('[class*="st-key-live_grid"] img').count()
        return {"run_s": run_seconds(srv)[-1], "latency_ms": latency, "pictures": pictures}
    finally:
        trainer.ctx.close()
        drawer.ctx.close()


def start_training(page, epochs: int) -> None:
    """As :meth:`app_check.Visitor.start_training`, clicking Start again if a click was lost
    (on a busy machine, one landed while the new number of epochs was being taken in)."""
    page.get_by_role("tab", name="Train").click()
    page.get_by_text("Hyperparameters of").click()
    box = page.get_by_label("Epochs")
    box.fill(str(epochs))
    box.press("Enter")
    running = page.get_by_text(re.compile(r"^run #\d+ · running"))
    for attempt in range(3):
        try:
            page.get_by_role("button", name="Start training").click(timeout=10_000)
            expect(running).to_be_visible(timeout=30_000)
            return
        except AssertionError:
            if attempt == 2:
                raise
        except Exception:  # the button disabled: the run started after all
            if running.count():
                return
            raise


def in_process() -> dict:
    """The worker's per-epoch readings and the page's new picture, timed alone (ms)."""
    import numpy as np

    from digitnet import presets
    from digitnet.app import live, watch

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (6000, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 6000)
    model = presets.build("fast", epochs=1).fit(X[:2000], y[:2000])
    readings = watch.Readings(X, y)
    readings.set_drawing(X[0] / 255.0, (0.0, model))
    epoch = iter(range(1, 10**6))
    read = timeit.repeat(lambda: readings.record(next(epoch), model), number=1, repeat=200)
    W0 = model.weights_[0].astype(np.float16)

    def picture():
        units = live.pick_units(live.CHANGED, model, W0, None)
        live.grid_png(model.weights_[0][:, units])

    grid = timeit.repeat(picture, number=1, repeat=100)
    return {
        "readings_per_epoch_ms": round(statistics.median(read) * 1000, 3),
        "picture_grid_ms": round(statistics.median(grid) * 1000, 2),
        "picture_png_bytes": len(live.grid_png(model.weights_[0][:, :16])),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, type=Path, help="checkout without issue 16")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per checkout")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of each `fast` run")
    parser.add_argument("--strokes", type=int, default=8, help="timed strokes per round")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="serve on one core and run the browser on the others (as a visitor's browser "
        "runs on their own device): what the server pays",
    )
    parser.add_argument("--base-is", default="", help="how the base was made, for RESULTS.md")
    parser.add_argument(
        "--section", default="live", help="RESULTS.md's section to write (default: live)"
    )
    parser.add_argument("--no-write", action="store_true", help="don't write RESULTS.md")
    parser.add_argument("--note", default="", help="a sentence for RESULTS.md (how it was run)")
    parser.add_argument(
        "--from-json",
        type=Path,
        help="measure nothing: write the section from a report this script printed (its last "
        "line), run with the same options",
    )
    args = parser.parse_args()
    if args.from_json:
        report = json.loads(args.from_json.read_text().strip().splitlines()[-1])
        summarise(report)
        print(json.dumps(report))
        if not args.no_write:
            write_section(RESULTS_MD, args.section, markdown(report, args))
        return 0
    report = {"load_average_at_start": os.getloadavg(), "in_process": in_process()}
    print(json.dumps(report["in_process"]), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="digitnet-live-"))
    chromium = chromium_path()
    errors: list[str] = []
    results: dict[str, list] = {"head": [], "base": []}
    cores = sorted(os.sched_getaffinity(0))
    if args.pin:  # the servers on one core (their threads inherit it), the rest elsewhere
        if len(cores) < 2:
            parser.error("--pin needs at least two cores")
        os.sched_setaffinity(0, cores[:1])
    servers = {"head": serve(REPO_ROOT, tmp / "head.log")}
    try:
        servers["base"] = serve(args.base.resolve(), tmp / "base.log")
        if args.pin:
            os.sched_setaffinity(0, cores[1:])  # this script, Playwright and the browser
        with sync_playwright() as p:
            browser = p.chromium.launch(
                args=CHROMIUM_FLAGS, **({"executable_path": chromium} if chromium else {})
            )
            try:
                for r in range(args.rounds):
                    order = ("head", "base") if r % 2 == 0 else ("base", "head")
                    for name in order:
                        got = one_round(browser, servers[name], args.epochs, args.strokes, errors)
                        results[name].append(got)
                        print(name, r, got["run_s"], statistics.median(got["latency_ms"]),
                              os.getloadavg()[0], flush=True)  # fmt: skip
            finally:
                browser.close()
    finally:
        for srv in servers.values():
            srv.stop()
    report["pinned"] = {"servers": cores[:1], "browser": cores[1:]} if args.pin else None
    report["base_is"] = args.base_is
    report["load_average_at_end"] = os.getloadavg()
    for name, rounds in results.items():
        per_epoch = [g["run_s"] / args.epochs for g in rounds]
        latency = [ms for g in rounds for ms in g["latency_ms"]]
        report[name] = {
            "epoch_s_median": round(statistics.median(per_epoch), 3),
            "epoch_s_all": [round(s, 3) for s in per_epoch],
            "answer_ms_median": round(statistics.median(latency)),
            "answer_ms_all": [round(ms) for ms in latency],
            "pictures_seen": [g["pictures"] for g in rounds],
        }
    summarise(report)
    head, base = report["head"], report["base"]
    report["training_slower_pct"] = round(
        (head["epoch_s_median"] / base["epoch_s_median"] - 1) * 100, 1
    )
    report["answer_slower_ms"] = head["answer_ms_median"] - base["answer_ms_median"]
    report["console_errors"] = errors
    print(json.dumps(report))
    if not args.no_write:
        write_section(RESULTS_MD, args.section, markdown(report, args))
    return 0


def summarise(report: dict) -> None:
    """Add the paired figures: each round ran both checkouts back to back (in alternating
    order), so the median of the rounds' ratios is less moved by the machine's load drifting
    over the minutes than the ratio of the two medians."""
    head, base = report["head"], report["base"]
    ratios = [h / b for h, b in zip(head["epoch_s_all"], base["epoch_s_all"])]
    report["training_slower_pct_paired"] = round((statistics.median(ratios) - 1) * 100, 1)
    report["training_ratio_rounds"] = [round(x, 3) for x in ratios]


def markdown(r: dict, args) -> str:
    from digitnet.app import live, train_view

    live_refresh, refresh = live.REFRESH_S, train_view.REFRESH_S
    head, base = r["head"], r["base"]
    epoch = (
        f"{base['epoch_s_median']} | {head['epoch_s_median']} | {r['training_slower_pct']:+.1f}%"
    )
    answer = (
        f"{base['answer_ms_median']} | {head['answer_ms_median']} | {r['answer_slower_ms']:+d} ms"
    )
    if r["pinned"]:
        where = (
            f"The servers ran on core {_cores(r['pinned']['servers'])} and the browser (both "
            f"visitors' pages) on core {_cores(r['pinned']['browser'])}, as a visitor's browser "
            "runs on their own "
            "device: the difference is what the server pays (`--pin`)."
        )
    else:
        where = (
            "Both visitors' browsers (headless Chromium, drawing the pictures and charts) "
            "shared the machine's cores with the servers; a real visitor's browser runs on "
            "their own device, so the difference above is an upper bound of what the server pays."
        )
    base_is = f" The base: {r['base_is']}." if r["base_is"] else ""
    pin = " --pin" if args.pin else ""
    note = f" {args.note}" if args.note else ""
    machine = machine_info_markdown()
    if args.from_json:  # written later: the load now is not the measurement's (given above)
        machine = "\n".join(
            line for line in machine.splitlines() if not line.startswith("- Load average")
        ).replace("- Date:", "- Written:")
    title = "what the server pays" if args.pin else "what it costs"
    return f"""## Watching a run learn: {title} (`benchmarks/live.py`)

Issue 16's live view (the first layer's pictures made on the page, the drawing and six
validation digits read by the worker at every epoch's end, both shown in a fragment
redrawn every {live_refresh:g} s beside the progress's every {refresh:g} s) against the same
app without it, served side by side and measured in alternating rounds: a visitor trains
`fast` for {args.epochs} epochs with the Train tab open, having drawn a 7, while another
visitor draws {args.strokes} digits per round on the Draw tab. {args.rounds} rounds each;
medians.{base_is}

| | without (base) | with the live view | difference |
|---|---|---|---|
| training, seconds per epoch (wall, worker start to exit) | {epoch} |
| Draw tab answer, ms after mouse-up | {answer} |

Round by round (each round trained with both, one after the other, in alternating order),
the median of the rounds' ratios says {r["training_slower_pct_paired"]:+.1f}% (with/without,
per round: {", ".join(f"{x:.2f}" for x in r["training_ratio_rounds"])}): less moved by the
load drifting over the minutes than the ratio of the two medians above.

{where}

Alone, in one process: the worker's readings at an epoch's end take
{r["in_process"]["readings_per_epoch_ms"]} ms (an epoch of `fast` takes seconds); one new
grid of 16 pictures on the page, {r["in_process"]["picture_grid_ms"]} ms, a PNG of
{r["in_process"]["picture_png_bytes"]:,} bytes, made once per epoch (or per 250 minibatches).

Load average (1, 5, 15 min) at the start {tuple(round(x, 1) for x in r["load_average_at_start"])},
at the end {tuple(round(x, 1) for x in r["load_average_at_end"])}: read the medians with the
spread (seconds per epoch, base {base["epoch_s_all"]}, with {head["epoch_s_all"]}).

{machine}

Command: `python -m benchmarks.live --base DIR --rounds {args.rounds} --epochs {args.epochs}
--strokes {args.strokes}{pin}` (DIR: a checkout without the live view).{note}
"""


def _cores(cores) -> str:
    return ", ".join(str(c) for c in cores)


if __name__ == "__main__":
    sys.exit(main())
