#!/usr/bin/env python3
"""Measure the Streamlit app the way a visitor meets it, in headless Chromium.

1. **Cold start**: from launching ``streamlit run streamlit_app.py`` to its health
   check answering, and to the first page being usable (the empty "Prediction").
2. **Answer latency**: mouse-up to the "Prediction" metric showing the digit, on
   the browser's clock (a ``mouseup`` listener and a MutationObserver), one stroke on
   an empty canvas each time, after a warm-up stroke; median and p90. Measured on an
   idle server, then again while two other visitors train.
3. **Memory**: the server's resident set (VmRSS) idle, with one visitor drawing,
   with two visitors training at once (peak over their runs), and after their pages
   close. The app must stay under 1 GB (Streamlit Community Cloud's limit).
4. **Page close**: from closing a training visitor's page to its worker exiting.

Writes the ``app`` section of ``benchmarks/RESULTS.md`` and prints JSON.

Usage::

    DIGITNET_DATA=/path/to/mnist python -m benchmarks.app_check [--strokes 20]

Env: ``CHROMIUM`` (default ``/usr/bin/chromium``, else Playwright's own).
The machine is shared: run it when it is quiet, and read the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from benchmarks.common import REPO_ROOT, RESULTS_MD, machine_info_markdown, write_section
from tests.browser.harness import CHROMIUM_FLAGS as FLAGS
from tests.browser.harness import (
    LATENCY_JS,
    ONE,
    SEVEN,
    ZERO,
    answer_timing,
    chromium_path,
    percentile,
)

SHAPES = [ONE[0], SEVEN[0], ZERO[0]]  # one-stroke digits


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_s(stat: str) -> float:
    """utime + stime, in seconds, from a /proc/.../stat line."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the server's training threads (``train-*``) and of the rest of it.

    The rest is the process's total (which keeps the time of threads that ended:
    Streamlit runs each script run in a thread of its own) minus the training threads.
    """
    train = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")].startswith("train-"):
            train += _cpu_s(stat)
    return train, _cpu_s(Path(f"/proc/{pid}/stat").read_text()) - train


def browser_cpu(server_pid: int) -> float:
    """CPU seconds of this script's child processes but the server: the browser."""
    parent, cpu = {}, {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parent[int(proc.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
            cpu[int(proc.name)] = _cpu_s(stat)

    def mine(pid: int) -> bool:
        while pid > 1:
            if pid == server_pid:
                return False
            if pid == os.getpid():
                return True
            pid = parent.get(pid, 1)
        return False

    return sum(c for pid, c in cpu.items() if pid != os.getpid() and mine(pid))


class Server:
    """``streamlit run streamlit_app.py`` on a free port, stopped by its process id.

    ``env`` adds to its environment, ``args`` to its command line (``--server.*``);
    ``root``: the checkout served (another one than this: put it on ``PYTHONPATH`` too).
    """

    def __init__(self, log: Path, env: dict | None = None, args=(), root: Path = REPO_ROOT) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {
            **os.environ,
            "OPENBLAS_NUM_THREADS": "1",
            "DIGITNET_SESSION_GRACE_S": "2",
            **(env or {}),
        }
        self.t_launch = time.monotonic()
        self._out = open(log, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *args],
            cwd=root, env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        while True:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                raise RuntimeError(log.read_text())
        self.t_healthy = time.monotonic()

    def exits(self) -> list[tuple[float, str]]:
        """(wall time, reason) of every worker exit in the log."""
        out = []
        for line in self.log.read_text().splitlines():
            m = re.match(r"(\S+ \S+) digitnet\.jobs worker exit .* reason=(\S+)", line)
            if m:
                t = time.mktime(time.strptime(m[1][:19], "%Y-%m-%d %H:%M:%S"))
                out.append((t + float("0." + m[1][20:]), m[2]))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._out.close()


class Visitor:
    """A page of the app in a context of its own; ``before_goto(ctx, page)`` may hook it."""

    def __init__(self, browser, url: str, errors: list, before_goto=None) -> None:
        self.ctx = browser.new_context(viewport={"width": 1000, "height": 1000})
        self.ctx.add_init_script(LATENCY_JS)
        self.page = self.ctx.new_page()
        if before_goto is not None:
            before_goto(self.ctx, self.page)
        self.page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        self.page.on("pageerror", lambda e: errors.append(str(e)))
        self.page.goto(url)
        expect(self.metric()).to_have_text("–", timeout=120_000)

    def metric(self):
        return self.page.locator('[data-testid="stMetric"]', has_text="Prediction").locator(
            '[data-testid="stMetricValue"]'
        )

    def stroke(self, points) -> None:
        box = self.page.locator("canvas.upper-canvas").first.bounding_box()
        xy = [(box["x"] + u * box["width"], box["y"] + v * box["height"]) for u, v in points]
        self.page.mouse.move(*xy[0])
        self.page.mouse.down()
        for x, y in xy[1:]:
            self.page.mouse.move(x, y, steps=6)
        self.page.mouse.up()

    def clear(self) -> None:
        self.page.locator(".st-key-clear button").click()
        expect(self.metric()).to_have_text("–", timeout=20_000)
        self.page.wait_for_timeout(300)

    def latency(self, n: int) -> list[float]:
        """``n`` strokes (after one warm-up), each on an empty canvas: ms to the answer.

        Also keeps, in ``self.stages``, when after the mouse-up the page sent the drawing,
        when the answer reached it, and when it showed.
        """
        out = []
        self.stages = []
        for i in range(n + 1):
            shown, stages = self.one_stroke(i)
            if i:
                out.append(shown)
                if stages is not None:
                    self.stages.append((*stages, shown))
        return out

    def one_stroke(self, i: int) -> tuple[float, tuple | None]:
        """The ``i``-th one-stroke digit on an empty canvas, then Clear: :func:`answer_timing`."""
        n_up, n_m = self.page.evaluate("[window.__lat.ups.length, window.__lat.metric.length]")
        shift = 0.03 * (i % 3)
        self.stroke([(u + shift, v) for u, v in SHAPES[i % 3]])
        self.page.wait_for_function(
            "([nu, nm]) => window.__lat.ups.length > nu && window.__lat.metric.slice(nm)"
            ".some(([t, m]) => t > window.__lat.ups[nu] && !m.includes('–'))",
            arg=[n_up, n_m],
            timeout=20_000,
        )
        timing = answer_timing(self.page.evaluate("window.__lat"), n_up, n_m)
        self.clear()
        return timing

    def start_training(self, epochs: int) -> None:
        page = self.page
        page.get_by_role("tab", name="Train").click()
        page.get_by_text("Hyperparameters of").click()
        box = page.get_by_label("Epochs")
        box.fill(str(epochs))
        box.press("Enter")
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text(re.compile(r"^run #\d+ · running"))).to_be_visible(timeout=60_000)


def summary(values) -> dict:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values)),
        "p90_ms": round(percentile(values, 90)),
        "min_ms": round(min(values)),
        "max_ms": round(max(values)),
        "all_ms": [round(v) for v in values],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strokes", type=int, default=20, help="measured strokes per phase")
    parser.add_argument(
        "--epochs", type=int, default=60, help="epochs of each `fast` run (stopped when done)"
    )
    parser.add_argument("--no-write", action="store_true", help="don't write RESULTS.md")
    args = parser.parse_args()
    chromium = chromium_path()
    report: dict = {"load_average_at_start": os.getloadavg()}
    errors: list[str] = []
    log = Path(tempfile.mkdtemp(prefix="digitnet-app-check-")) / "streamlit.log"
    with sync_playwright() as p:
        launch = {"args": FLAGS, **({"executable_path": chromium} if chromium else {})}
        browser = p.chromium.launch(**launch)  # before the server: not part of its cold start
        browser.new_page().close()
        srv = Server(log)
        pid = srv.proc.pid
        try:
            report["health_s"] = round(srv.t_healthy - srv.t_launch, 2)
            report["rss_idle_mb"] = rss_mb(pid)
            t0 = time.monotonic()
            a = Visitor(browser, srv.url, errors)
            report["first_page_s"] = round(time.monotonic() - t0, 2)
            report["cold_start_to_first_page_s"] = round(time.monotonic() - srv.t_launch, 2)
            t0 = time.monotonic()
            b = Visitor(browser, srv.url, errors)
            report["warm_page_load_s"] = round(time.monotonic() - t0, 2)
            b.ctx.close()
            report["rss_one_visitor_loaded_mb"] = rss_mb(pid)
            report["latency_idle"] = summary(a.latency(args.strokes))
            report["latency_idle_stages_ms"] = [round(statistics.median(c)) for c in zip(*a.stages)]
            report["rss_one_visitor_drawing_mb"] = rss_mb(pid)
            print("idle latency", report["latency_idle"], flush=True)

            # two visitors train at once, the first one keeps drawing
            t1, t2 = Visitor(browser, srv.url, errors), Visitor(browser, srv.url, errors)
            peak = [0.0]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.is_set():
                    peak[0] = max(peak[0], rss_mb(pid))
                    time.sleep(0.25)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            t1.start_training(args.epochs)
            t2.start_training(args.epochs)
            n = max(6, args.strokes // 2)
            for phase in ("watched", "unwatched"):
                if phase == "unwatched":  # the trainers' pages go to the Draw tab
                    for t in (t1, t2):
                        t.page.get_by_role("tab", name="Draw").click()
                (train0, other0), browser0, wall0 = server_cpu(pid), browser_cpu(pid), time.time()
                report[f"latency_two_train_{phase}"] = summary(a.latency(n))
                (train1, other1), browser1, wall1 = server_cpu(pid), browser_cpu(pid), time.time()
                wall = wall1 - wall0
                report[f"cpu_share_two_train_{phase}"] = {  # in cores, over the phase
                    "server_training_threads": round((train1 - train0) / wall, 2),
                    "server_other_threads": round((other1 - other0) / wall, 2),
                    "browsers": round((browser1 - browser0) / wall, 2),
                }
                print(phase, report[f"latency_two_train_{phase}"],
                      report[f"cpu_share_two_train_{phase}"], flush=True)  # fmt: skip
                if phase == "watched":
                    report["rss_two_training_mb"] = rss_mb(pid)
            # both runs must have trained through both phases
            report["runs_ended_during_measurement"] = len(srv.exits())
            for t in (t1, t2):
                t.page.get_by_role("tab", name="Train").click()
                t.page.locator(".st-key-stop button").click()  # not the header's Stop (slow run)
                expect(t.page.get_by_role("button", name="Resume")).to_be_visible(timeout=30_000)
            report["epochs_trained_by_each_run"] = [
                t.page.locator('[data-testid="stProgress"]').first.text_content() for t in (t1, t2)
            ]
            sampling.set()
            sampler.join()
            report["rss_two_training_peak_mb"] = peak[0]

            # closing a page mid-run ends its worker
            t1.page.get_by_role("button", name="Resume").click()
            expect(t1.page.get_by_text(re.compile(r"^run #1 · running"))).to_be_visible(
                timeout=60_000
            )
            n_exits, t_close = len(srv.exits()), time.time()
            t1.ctx.close()
            while len(srv.exits()) <= n_exits and time.time() - t_close < 30:
                time.sleep(0.1)
            new = srv.exits()[n_exits:]
            if new:
                report["page_close_to_worker_exit_s"] = round(new[0][0] - t_close, 2)
                report["page_close_exit_reason"] = new[0][1]
            t2.ctx.close()
            a.ctx.close()
            time.sleep(2)
            report["rss_after_pages_closed_mb"] = rss_mb(pid)
        finally:
            srv.stop()
        browser.close()
    report["console_errors"] = errors
    print(json.dumps(report, indent=2))
    if not args.no_write:
        write_section(RESULTS_MD, "app", markdown(report, args))
    return 0 if not errors else 1


def markdown(r: dict, args) -> str:
    li, lt = r["latency_idle"], r["latency_two_train_watched"]
    lu = r["latency_two_train_unwatched"]
    cw, cu = r["cpu_share_two_train_watched"], r["cpu_share_two_train_unwatched"]

    def latency(x: dict) -> str:
        return (
            f"median {x['median_ms']} ms, p90 {x['p90_ms']} ms "
            f"(min {x['min_ms']}, max {x['max_ms']})"
        )

    rows = [
        ("cold start: launch to health check", f"{r['health_s']} s"),
        ("cold start: the first page, from `goto` to usable (empty “Prediction”)",
         f"{r['first_page_s']} s"),
        ("cold start: launch to first page usable",
         f"{r['cold_start_to_first_page_s']} s"),
        ("a page load on a warm server", f"{r['warm_page_load_s']} s"),
        (f"**answer latency**, mouse-up to digit shown, idle server (n={li['n']}; "
         "goal: median ≤ 250 ms)", f"**{latency(li)}**"),
        ("... its stages (medians): the canvas sends the drawing / the answer reaches the "
         "page / it shows", " / ".join(f"{x} ms" for x in r["latency_idle_stages_ms"])),
        (f"answer latency while two other visitors train and watch it (n={lt['n']}; "
         "goal: median ≤ 350 ms)", latency(lt)),
        (f"... while they train with their pages on the Draw tab (n={lu['n']})",
         latency(lu)),
        ("CPU (cores) while they watch: training threads / rest of the server / browsers",
         f"{cw['server_training_threads']} / {cw['server_other_threads']} / {cw['browsers']}"),
        ("CPU (cores) while they don't: training threads / rest of the server / browsers",
         f"{cu['server_training_threads']} / {cu['server_other_threads']} / {cu['browsers']}"),
        ("server RSS, idle (no visitor yet)", f"{r['rss_idle_mb']} MB"),
        ("server RSS, one visitor's page loaded", f"{r['rss_one_visitor_loaded_mb']} MB"),
        (f"server RSS, one visitor drawing ({li['n'] + 1} strokes)",
         f"{r['rss_one_visitor_drawing_mb']} MB"),
        ("server RSS, two visitors training `fast` at once (+ one drawing)",
         f"{r['rss_two_training_mb']} MB, peak {r['rss_two_training_peak_mb']} MB"),
        ("the two runs when stopped after the measurements",
         " and ".join(r["epochs_trained_by_each_run"])),
        ("server RSS after the pages closed", f"{r['rss_after_pages_closed_mb']} MB"),
        ("page closed mid-run to its worker's exit (grace 2 s)",
         f"{r.get('page_close_to_worker_exit_s', 'n/a')} s "
         f"({r.get('page_close_exit_reason', '')})"),
    ]  # fmt: skip
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    load = ", ".join(f"{x:.1f}" for x in r["load_average_at_start"])
    return f"""## The app: cold start, answer latency, memory

`python -m benchmarks.app_check --strokes {args.strokes} --epochs {args.epochs}`: a real
`streamlit run streamlit_app.py` (`OPENBLAS_NUM_THREADS=1`) driven by headless Chromium
on this machine, with the weights the app ships with. The server and all the visitors'
browsers share the machine's 2 cores, with whatever else runs there: load average at the
start {load}.

{machine_info_markdown()}
| measure | value |
|---|---|
{table}

While the two trainers watch their live charts, their browsers (here on the same two
cores; on Community Cloud, on their own devices) take CPU from the server and its
training threads: compare the CPU rows. The server's own share of the live views (the
"rest of the server" row, which also serves the drawing visitor) stays small.

Where the answer's time goes (the "stages" row, timed in the page): the page sends the
drawing as soon as the pen lifts (`digitnet/app/pad.py` presses the canvas component's own
"Update the app with this drawing"; on its own, streamlit-drawable-canvas 0.13 waits
200 ms after the mouse-up, a fixed debounce in its frontend), after a few ms of PNG
encoding. Then the server: the drawing's JSON and PNG in, PNG decode, preprocessing, the
network on seven views (under 10 ms of it), the answer out. The rest is the browser: it
draws every element it receives, here on two cores it shares with the server. The answer
is written first and gets a 30 ms head start (`digitnet.app.draw.ANSWER_HEADSTART_S`)
before the probability chart and the pictures of the preprocessing steps, so that the
browser draws it before them; the chart stays on the page (its bars at 0 while nothing is
drawn), so that a stroke updates its data in place instead of drawing a new chart.

MNIST for training (uint8, about 55 MB) is loaded once per server, on the first Start.
"""


if __name__ == "__main__":
    sys.exit(main())
