"""Several servers: two replicas of the app behind nginx (``deploy/serve.py``), in Chromium.

Visitors are spread over both replicas, and everything a visitor's page asks
for -- the page, its websocket, the pictures of the preprocessing steps
(``/media``) and an uploaded weights file -- reaches the replica holding their
session (the ``digitnet_replica`` cookie). When a visitor's replica goes down,
nginx's passive health check sends them to the other one. Needs nginx
(``.ci/run`` installs it); skipped with the reason without it.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
from harness import ONE, SEVEN
from playwright.sync_api import Browser, expect
from test_app_browser import clear, metric_value, open_app, stroke, watch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
import serve  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    if serve.nginx_binary() is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    dep = serve.start(
        replicas=2,
        port=None,  # free ports
        workdir=tmp_path_factory.mktemp("deploy"),
        env={"DIGITNET_SESSION_GRACE_S": "2"},
        streamlit_args=["--server.fileWatcherType", "none"],
    )
    yield dep
    dep.stop()


def active_sessions(replica_url: str) -> int:
    text = urllib.request.urlopen(replica_url + "/_stcore/metrics", timeout=5).read().decode()
    return int(re.search(r"^active_sessions (\d+)", text, re.M)[1])


class Visitor:
    """A browser context of its own (its own cookies): one visitor."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.ctx = browser.new_context(viewport={"width": 1000, "height": 1000})
        self.page = self.ctx.new_page()
        self.errors = watch(self.page)
        self.replicas: list[str] = []  # X-Digitnet-Replica of every page load
        self.page.on(
            "response",
            lambda r: (
                r.request.resource_type == "document"
                and self.replicas.append(r.headers.get(serve.HEADER.lower(), ""))
            ),
        )
        open_app(self.page, url)

    def draw(self, points) -> str:
        """Draw one stroke on an empty canvas; the answer, once its pictures have loaded."""
        if metric_value(self.page).text_content() != "–":
            clear(self.page)
        stroke(self.page, points)
        expect(metric_value(self.page)).not_to_have_text("–", timeout=20_000)
        # the four pictures of the preprocessing steps (inline, sent with the answer)
        pictures = self.page.locator('[data-testid="stImage"] img')
        expect(pictures).to_have_count(4, timeout=20_000)
        for i in range(4):
            pictures.nth(i).scroll_into_view_if_needed()
            self.page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=pictures.nth(i).element_handle()
            )
        return metric_value(self.page).text_content()

    def cookie(self) -> str | None:
        return next((c["value"] for c in self.ctx.cookies() if c["name"] == serve.COOKIE), None)


def test_two_replicas_behind_nginx(browser: Browser, deployment):
    dep = deployment
    a = Visitor(browser, dep.url)
    assert a.draw(SEVEN[0]).startswith("7")
    # an upload goes to the replica that holds the session (elsewhere it would be refused)
    a.page.get_by_text("Weights files: upload or download").click()
    a.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(ROOT / "weights" / "digitnet.npz")
    )
    expect(
        a.page.get_by_text(re.compile(r"^Answered by the uploaded digitnet\.npz"))
    ).to_be_visible(timeout=30_000)
    assert a.draw(ONE[0]).startswith("1")

    # a second visitor goes to the other replica (the one with fewer open pages)
    b = Visitor(browser, dep.url)
    assert b.draw(ONE[0]).startswith("1")
    assert a.replicas and b.replicas
    assert {a.replicas[0], b.replicas[0]} == {"r1", "r2"}, (a.replicas, b.replicas)
    assert (a.cookie(), b.cookie()) == (a.replicas[0], b.replicas[0])
    # each replica holds exactly one session: its own visitor's
    assert [active_sessions(u) for u in dep.replica_urls] == [1, 1]

    # a reload keeps the visitor on their replica
    a.page.reload()
    expect(metric_value(a.page)).to_have_text("–", timeout=60_000)
    assert a.replicas[-1] == a.replicas[0]
    assert a.draw(SEVEN[0]).startswith("7")

    # b's replica goes down: on reload nginx sends b to the other one (passive health check)
    down = int(b.replicas[0][1:]) - 1
    dep.stop_replica(down)
    b.page.reload()
    expect(metric_value(b.page)).to_have_text("–", timeout=60_000)
    assert b.replicas[-1] == a.replicas[0] != b.replicas[0]
    assert b.cookie() == a.replicas[0]  # the cookie now names the replica that answered
    assert b.draw(ONE[0]).startswith("1")
    b.errors[:] = [e for e in b.errors if "WebSocket" not in e]  # the reconnects while down
    # a picture the page fetches from the server (/media) comes from the session's replica:
    # Explore's picture of the drawing is one (the Draw tab's come inline, with the answer).
    # Last, and the page left on Explore: a rerun (another tab) deletes the pictures of the
    # run before, and a browser still fetching them logs 404s.
    a.page.get_by_role("tab", name="Explore").click()
    picture = a.page.get_by_role("img", name=re.compile(r"^Your drawing, centred"))
    expect(picture).to_be_visible(timeout=30_000)
    assert "/media/" in picture.evaluate("img => img.src")
    a.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
    )
    for v in (a, b):
        v.ctx.close()
    assert not a.errors, a.errors
    assert not b.errors, b.errors

    # nginx's log: every request that named a replica by cookie went to that replica,
    # and the websocket, the pictures and the upload were among them
    addr = {f"r{i + 1}": url.removeprefix("http://") for i, url in enumerate(dep.replica_urls)}
    seen: dict[str, set[str]] = defaultdict(set)
    for line in dep.access_log.read_text().splitlines():
        m = re.search(r'"\S+ (\S+) [^"]*" (\d+) replica=\S* upstream="([^"]*)" cookie=(\S+)', line)
        if not m or m[4] == "-":
            continue
        path, status, upstream, cookie = m.groups()
        kind = next((k for k in ("/_stcore/stream", "/media/", "/_stcore/upload_file") if
                     path.startswith(k)), "other")  # fmt: skip
        served = upstream.split(", ")[-1]  # the last replica tried answered
        if served == addr[cookie]:
            seen[kind].add(f"{cookie} {status}")
        else:  # only b, while its replica was down
            assert cookie == b.replicas[0] and served == addr[a.replicas[0]], line
            seen["failed over"].add(cookie)
    assert {f"{r} 101" for r in ("r1", "r2")} <= seen["/_stcore/stream"], seen
    assert seen["failed over"] == {b.replicas[0]}, seen
    assert f"{a.replicas[0]} 200" in seen["/media/"], seen
    assert f"{a.replicas[0]} 204" in seen["/_stcore/upload_file"] or any(
        s.startswith(f"{a.replicas[0]} 2") for s in seen["/_stcore/upload_file"]
    ), seen
