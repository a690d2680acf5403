#!/usr/bin/env python3
"""Answer latency of two (or more) checkouts of the app, side by side in one run.

On a shared machine a latency measured now and another measured ten minutes later
differ by the load of whatever else runs. This script measures the variants in the
same minutes: one server per checkout (``streamlit run streamlit_app.py`` in that
directory), one visitor's page on each, and one stroke on each in turn, the order
alternating every round (A B, B A, ...). Each stroke is a one-stroke digit on an
empty canvas, timed in the page from the mouse-up to the answer shown, with its
stages (drawing sent, answer received: :func:`harness.answer_timing`).

``--trainers K`` first starts K visitors training ``fast`` on *every* server, their
pages on the Train tab (watching the live charts), so that every variant is measured
beside its own trainers.

Usage::

    git archive main | tar -x -C /tmp/a     # the checkouts to compare
    DIGITNET_DATA=... python benchmarks/latency_ab.py /tmp/a=main . --rounds 15
    DIGITNET_DATA=... python benchmarks/latency_ab.py /tmp/a=main . --trainers 2

Prints JSON: per variant, the median, p90 and every latency, and the medians of its
stages' times (send, server with the network, browser).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from app_check import Server, Visitor
from harness import CHROMIUM_FLAGS, chromium_path, percentile
from playwright.sync_api import sync_playwright


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="+", help="DIR or DIR=NAME, one per variant")
    parser.add_argument("--rounds", type=int, default=15, help="measured strokes per variant")
    parser.add_argument("--trainers", type=int, default=0, help="visitors training per server")
    parser.add_argument("--epochs", type=int, default=200, help="epochs of each trainer's run")
    args = parser.parse_args()
    variants = []
    for spec in args.checkouts:
        folder, _, name = spec.partition("=")
        variants.append((Path(folder).resolve(), name or Path(folder).resolve().name))
    tmp = Path(tempfile.mkdtemp(prefix="digitnet-latency-ab-"))
    report: dict = {"load_average_at_start": os.getloadavg(), "trainers": args.trainers}
    measured: dict = {name: [] for _, name in variants}
    errors: list[str] = []
    servers = []
    chromium = chromium_path()
    with sync_playwright() as p:
        launch = {"args": CHROMIUM_FLAGS, **({"executable_path": chromium} if chromium else {})}
        browser = p.chromium.launch(**launch)
        try:
            pages = {}
            for folder, name in variants:
                servers.append(Server(tmp / f"{name}.log", root=folder))
                pages[name] = Visitor(browser, servers[-1].url, errors)
                pages[name].one_stroke(0)  # warm-up
                for _ in range(args.trainers):
                    Visitor(browser, servers[-1].url, errors).start_training(args.epochs)
            for r in range(args.rounds):
                for _, name in variants if r % 2 == 0 else variants[::-1]:
                    measured[name].append(pages[name].one_stroke(r + 1))
        finally:
            browser.close()
            for server in servers:
                server.stop()
    report["load_average_at_end"] = os.getloadavg()
    for _, name in variants:
        shown = [s for s, _ in measured[name]]
        stages = [(*st, s) for s, st in measured[name] if st is not None]
        report[name] = {
            "median_ms": round(statistics.median(shown)),
            "p90_ms": round(percentile(shown, 90)),
            # each stage's own time, stroke by stroke, then the median: the pen-up to the
            # drawing sent, on to the answer received (server and network), on to shown
            "stage_medians_ms": {
                "send": round(statistics.median(sent for sent, _, _ in stages)),
                "server": round(statistics.median(rec - sent for sent, rec, _ in stages)),
                "browser": round(statistics.median(sh - rec for _, rec, sh in stages)),
            },
            "all_ms": [round(s) for s in shown],
            "stages_ms": [[round(x) for x in st] for st in stages],
        }
    report["console_errors"] = errors
    print(json.dumps(report, indent=1))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
