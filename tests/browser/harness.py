"""What the browser tests and ``benchmarks/app_check.py`` share: how Chromium is found
and started, and the in-page clock that times an answer after the mouse is lifted."""

from __future__ import annotations

import math
import os
from pathlib import Path

# Digits as strokes (lists of points) in unit coordinates of the canvas (x right, y down).
ZERO = [[(0.5 + 0.2 * math.sin(t), 0.5 - 0.31 * math.cos(t)) for t in
         [2 * math.pi * i / 24 for i in range(25)]]]  # fmt: skip
ONE = [[(0.53, 0.15), (0.47, 0.85)]]
FOUR = [[(0.34, 0.14), (0.25, 0.58), (0.76, 0.58)], [(0.62, 0.30), (0.62, 0.88)]]
SEVEN = [[(0.25, 0.20), (0.75, 0.20), (0.45, 0.85)]]

#: Headless Chromium on a machine with no outside network (see the project's recipe).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``$CHROMIUM``, else the system Chromium, else None (Playwright's own)."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


#: Browser-side clock: every mouse-up, every change of the "Prediction" metric, and, to
#: tell where the time goes, every message the page sends to the server and every one it
#: receives that holds a "Prediction" (the answer arriving).
LATENCY_JS = """
(() => {
  const L = window.__lat = {ups: [], metric: [], sent: [], answers: []};
  window.addEventListener('mouseup', () => L.ups.push(performance.now()), true);
  const WS = window.WebSocket, utf8 = new TextDecoder();
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const t = performance.now();
        if (e.data instanceof ArrayBuffer && utf8.decode(e.data).includes('Prediction'))
          L.answers.push(t);
      });
    }
    send(data) { L.sent.push(performance.now()); return super.send(data); }
  };
  const read = () => {
    for (const el of document.querySelectorAll('[data-testid="stMetric"]'))
      if (el.textContent.startsWith('Prediction')) return el.textContent;
    return null;
  };
  let last = null;
  const obs = new MutationObserver(() => {
    const t = performance.now(), m = read();
    if (m !== last) { L.metric.push([t, m]); last = m; }
  });
  const go = () => obs.observe(document.documentElement,
                               {subtree: true, childList: true, characterData: true});
  document.documentElement ? go() : document.addEventListener('DOMContentLoaded', go);
})();
"""


def answer_timing(lat: dict, n_up: int, n_metric: int) -> tuple[float, tuple | None]:
    """From ``window.__lat`` (see :data:`LATENCY_JS`), after the ``n_up``-th mouse-up.

    Returns the ms from that mouse-up to the answer shown (the first "Prediction" that is
    not "–" after it, the ``n_metric``-th change or later) and where that time went: ms
    after the mouse-up when the page sent the drawing and when the answer reached it
    (None if either was not seen).
    """
    up = lat["ups"][n_up]
    shown = next(t for t, text in lat["metric"][n_metric:] if t > up and "–" not in text)
    sent = next((t for t in lat["sent"] if t > up), None)
    arrived = next((t for t in lat["answers"] if sent is not None and sent < t <= shown), None)
    stages = None if arrived is None else (sent - up, arrived - up)
    return shown - up, stages


def percentile(values, q: float) -> float:
    """The ``q``-th percentile of ``values`` by the nearest-rank method (one of them)."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]
