#!/usr/bin/env python3
"""Answer latency of two (or more) checkouts of the app, side by side in one run.

On a shared machine a latency measured now and another measured ten minutes later
differ by the load of whatever else runs. This script measures the variants in the
same minutes: one server per checkout (``streamlit run streamlit_app.py`` in that
directory), one visitor's page on each, and one stroke on each in turn, the order
alternating every round (A B, B A, ...). Each stroke is a one-stroke digit on an
empty canvas, timed in the page from the mouse-up to the answer shown, with its
stages (drawing sent, answer received: :func:`harness.answer_timing`).

Two phases: the servers idle, then (``--trainers K``, default 1) beside K visitors
training ``fast`` on *every* server, their pages on the Train tab watching the live
charts. With two variants and one trainer each, two runs and their two watching pages
share the machine, as in ``app_check.py``'s "two other visitors train and watch" (there
both on the drawing visitor's server); two per server made four, which a 2-core machine
already busy with other jobs could not carry (strokes took seconds).

Usage::

    git archive <commit> | tar -x -C /tmp/before     # a checkout to compare with
    DIGITNET_DATA=... python benchmarks/latency_ab.py /tmp/before=before .=after

Prints JSON; ``--write`` also writes the ``app-latency-ab`` section of RESULTS.md.
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
from common import RESULTS_MD, write_section
from harness import CHROMIUM_FLAGS, chromium_path, percentile
from playwright.sync_api import sync_playwright


def summary(timings: list) -> dict:
    """Median, p90, every latency, and the medians of each stage's own time."""
    shown = [s for s, _ in timings]
    stages = [(*st, s) for s, st in timings if st is not None]
    return {
        "median_ms": round(statistics.median(shown)),
        "p90_ms": round(percentile(shown, 90)),
        # stroke by stroke, then the median: pen-up to the drawing sent; on to the
        # answer received (server and network); on to the answer shown (the browser)
        "stage_medians_ms": {
            "send": round(statistics.median(sent for sent, _, _ in stages)),
            "server": round(statistics.median(rec - sent for sent, rec, _ in stages)),
            "browser": round(statistics.median(sh - rec for _, rec, sh in stages)),
        },
        "all_ms": [round(s) for s in shown],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="+", help="DIR or DIR=NAME, one per variant")
    parser.add_argument("--rounds", type=int, default=15, help="strokes per variant and phase")
    parser.add_argument("--trainers", type=int, default=1, help="visitors training per server")
    parser.add_argument("--epochs", type=int, default=200, help="epochs of each trainer's run")
    parser.add_argument("--write", action="store_true", help="write RESULTS.md's section")
    args = parser.parse_args()
    variants = []
    for spec in args.checkouts:
        folder, _, name = spec.partition("=")
        variants.append((Path(folder).resolve(), name or Path(folder).resolve().name))
    tmp = Path(tempfile.mkdtemp(prefix="digitnet-latency-ab-"))
    report: dict = {"load_average_at_start": os.getloadavg(), "trainers": args.trainers}
    errors: list[str] = []
    servers, pages = [], {}
    phases = ["idle"] + ([f"{args.trainers} training"] if args.trainers else [])
    chromium = chromium_path()
    with sync_playwright() as p:
        launch = {"args": CHROMIUM_FLAGS, **({"executable_path": chromium} if chromium else {})}
        browser = p.chromium.launch(**launch)
        try:
            for folder, name in variants:
                servers.append(Server(tmp / f"{name}.log", root=folder))
                pages[name] = Visitor(browser, servers[-1].url, errors)
                pages[name].one_stroke(0)  # warm-up
            for phase in phases:
                if phase != "idle":
                    for server in servers:
                        for _ in range(args.trainers):
                            Visitor(browser, server.url, errors).start_training(args.epochs)
                measured: dict = {name: [] for _, name in variants}
                for r in range(args.rounds):
                    for _, name in variants if r % 2 == 0 else variants[::-1]:
                        measured[name].append(pages[name].one_stroke(r + 1))
                report[phase] = {name: summary(measured[name]) for _, name in variants}
                print(phase, json.dumps(report[phase]), flush=True)
        finally:
            browser.close()
            for server in servers:
                server.stop()
    report["load_average_at_end"] = os.getloadavg()
    report["console_errors"] = errors
    print(json.dumps(report, indent=1))
    if args.write:
        write_section(RESULTS_MD, "app-latency-ab", markdown(report, args, variants, phases))
    return 0 if not errors else 1


def markdown(r: dict, args, variants, phases) -> str:
    rows = []
    for phase in phases:
        for _, name in variants:
            x = r[phase][name]
            st = x["stage_medians_ms"]
            rows.append(
                f"| {phase} | {name} | **{x['median_ms']} ms** | {x['p90_ms']} ms | "
                f"{st['send']} / {st['server']} / {st['browser']} ms |"
            )
    table = "\n".join(rows)
    load = " → ".join(
        ", ".join(f"{v:.1f}" for v in r[k])
        for k in ("load_average_at_start", "load_average_at_end")
    )
    names = " and ".join(f"`{name}`" for _, name in variants)
    return f"""## The app: answer latency, side by side

`python benchmarks/latency_ab.py ... --rounds {args.rounds} --trainers {args.trainers}`:
{names} served at once, one stroke on each in turn ({args.rounds} per variant and phase,
the order alternating), so that both meet the same load: load average {load}. Then the
same beside {args.trainers} visitor(s) training `fast` and watching on each server. Stages, each
stroke's own then the median: the pen lifted to the drawing sent / on to the answer
received (the server, the network) / on to the answer shown (the browser).

| phase | variant | median | p90 | stages |
|---|---|---|---|---|
{table}
"""


if __name__ == "__main__":
    sys.exit(main())
