"""What the browser tests and ``benchmarks/app_check.py`` share: how Chromium is found
and started, and the in-page clock that times an answer after the mouse is lifted."""

from __future__ import annotations

import os
from pathlib import Path

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
