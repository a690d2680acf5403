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


#: Browser-side clock: every mouse-up, and every change of the "Prediction" metric.
LATENCY_JS = """
(() => {
  const L = window.__lat = {ups: [], metric: []};
  window.addEventListener('mouseup', () => L.ups.push(performance.now()), true);
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
