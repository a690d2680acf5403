#!/usr/bin/env python3
"""Every widget of every tab, sent every kind of crafted value: which ones break the page.

A page sends each widget's value in that widget's type; a crafted websocket message can
send any value of any type (:data:`app_support.CRAFTED_VALUES`: text for a number, NaN
for a whole number, 5,000-deep JSON for a button, ...) for any widget id. This runs the
real app in Streamlit's AppTest, opens each tab, and for each of its widgets and each
crafted value reruns the page as if that message had arrived, then reports every case
that ended in an exception (the page would show Streamlit's traceback). Before
``digitnet/app/streamlit_fixes.py``, most did; tests/test_hostile_app.py keeps a sample.

Usage::

    DIGITNET_DATA=/path/to/mnist python -m benchmarks.fuzz_widgets [--tabs Draw Train ...]

Prints one line per failing case and a summary; exit status 1 if any failed. Minutes:
about a second per case (56 widgets × 16 values on the four tabs).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' page helpers
from app_support import CRAFTED_VALUES, run_crafted, widget_ids  # noqa: E402

TABS = ("Draw", "Explore", "How it works", "Train")


def page(tab: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(HERE.parent / "streamlit_app.py"), default_timeout=120)
    at.session_state["tab"] = tab
    at.run()
    return at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", nargs="+", default=list(TABS), choices=TABS)
    args = parser.parse_args(argv)
    os.environ.setdefault("DIGITNET_SERVER_MEMORY_MB", "4000")  # AppTest shares our process
    failed = cases = 0
    for tab in args.tabs:
        at = page(tab)
        ids = widget_ids(at)
        for wid in ids:
            for name, value in CRAFTED_VALUES.items():
                cases += 1
                try:
                    run_crafted(at, wid, **value)
                except Exception as e:  # AppTest itself could not send it: not the app's
                    print(f"{tab} · {wid.rsplit('-', 1)[-1]} · {name}: not sent ({e!r:.80})")
                    at = page(tab)
                    continue
                errors = [str(e.value)[:120] for e in at.exception]
                if errors:
                    failed += 1
                    print(f"{tab} · {wid.rsplit('-', 1)[-1]} · {name}: {errors}", flush=True)
                    at = page(tab)  # a fresh page for the next case
                    continue
                try:
                    # The page changed (e.g. another preset), or AppTest cannot send back
                    # the value the page now holds (e.g. a number in a text input): anew.
                    same = wid in widget_ids(at)
                except Exception:
                    same = False
                if not same:
                    at = page(tab)
        print(f"{tab}: {len(ids)} widgets × {len(CRAFTED_VALUES)} values", flush=True)
    print(f"{cases} cases, {failed} ended in an exception")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
