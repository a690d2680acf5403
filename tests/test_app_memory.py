"""digitnet.app.memory: the reaper that gives back a gone visitor's memory, the budgets,
and the app refusing politely when the server or the visitor is over them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from digitnet import presets
from digitnet.app import memory


class Fake:
    """Sessions that are connected or not, and the ones the reaper closed."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.closed: list[str] = []
        self.released: list[str] = []

    def reaper(self, ttl: float = 10.0) -> memory.Reaper:
        return memory.Reaper(
            lambda sid: sid in self.active, self.closed.append, ttl=ttl, start=False
        )

    def release(self, sid: str):
        def release() -> None:
            assert sid not in self.closed  # released before Streamlit closes the session
            self.released.append(sid)

        return release


def test_reaper_closes_a_session_gone_for_its_ttl_and_not_before():
    fake = Fake()
    r = fake.reaper(ttl=10)
    fake.active |= {"a", "b"}
    r.watch("a", fake.release("a"))
    r.watch("b", fake.release("b"))
    assert r.sweep(now=0) == [] and r.watching() == 2
    fake.active.discard("a")  # a's page closed
    assert r.sweep(now=1) == []  # first seen gone at 1
    assert r.sweep(now=10.5) == []  # 9.5 s: not yet
    assert r.sweep(now=11.5) == ["a"]
    assert fake.released == ["a"] and fake.closed == ["a"] and r.closed == 1
    assert r.watching() == 1
    assert r.sweep(now=100) == []  # b is still there; a is not closed twice
    assert fake.closed == ["a"]


def test_a_reconnect_within_the_ttl_keeps_the_session():
    fake = Fake()
    r = fake.reaper(ttl=10)
    r.watch("a", fake.release("a"))
    r.sweep(now=0)  # gone (never active here)
    fake.active.add("a")  # reconnected
    assert r.sweep(now=5) == []
    fake.active.discard("a")
    assert r.sweep(now=12) == []  # gone again from 12: the clock starts again
    assert r.sweep(now=21) == []
    assert r.sweep(now=22.5) == ["a"]


def test_a_failing_release_still_closes_and_the_reaper_goes_on():
    fake = Fake()
    r = fake.reaper(ttl=1)

    def boom() -> None:
        raise RuntimeError("boom")

    r.watch("a", boom)
    r.watch("b", fake.release("b"))
    r.sweep(now=0)
    assert sorted(r.sweep(now=2)) == ["a", "b"]
    assert fake.closed == ["b"]  # a's close was skipped by its failing release, b's was not


def test_arrays_mb_counts_a_visitors_arrays_once_and_not_the_shared_data():
    model = presets.build("fast", hidden=[100])
    model.initialize()  # weights, without training
    weights = sum(a.nbytes for a in (*model.weights_, *model.biases_)) / 2**20
    assert memory.arrays_mb([model]) == pytest.approx(weights)
    assert memory.arrays_mb([model, ("name", model)]) == pytest.approx(weights)  # once
    shared = np.zeros((1000, 1000), np.uint8)
    shared.flags.writeable = False  # the server's MNIST
    view = np.zeros(2**20, np.uint8)[::2]  # a view: its base is counted
    assert memory.arrays_mb([shared, view]) == pytest.approx(1.0)


def test_refusal_names_the_budget_that_is_over():
    budget = memory.Budget(server_mb=600, visitor_mb=80)
    assert memory.refusal(100, 10, 20, budget, rss=300) is None
    visitor = str(memory.refusal(100, 70, 20, budget, rss=300))  # keeps 70 more on top of 20
    assert "90 MB, over the 80 MB a visitor may keep" in visitor
    server = str(memory.refusal(10, 10, 20, budget, rss=595))  # needs 10 at its peak
    assert "short of memory right now (595 MB of its 600 MB" in server and "try again" in server
    assert memory.refusal(10, 10, 20, budget, rss=None) is None  # unknown RSS: not checked


def test_settings_from_the_environment():
    env = {memory.SERVER_MEMORY_ENV: "450", memory.VISITOR_MEMORY_ENV: "oops"}
    b = memory.Budget.from_env(env)
    assert (b.server_mb, b.visitor_mb) == (450, memory.DEFAULT_VISITOR_MEMORY_MB)
    assert memory.setting(memory.SESSION_TTL_ENV, 60, {memory.SESSION_TTL_ENV: "-1"}) == 60
    for nonsense in ("inf", "1e400", "nan", "Infinity"):  # inf: sessions never closed
        env = {memory.SESSION_TTL_ENV: nonsense, memory.SERVER_MEMORY_ENV: nonsense}
        assert memory.setting(memory.SESSION_TTL_ENV, 60, env) == 60
        assert memory.Budget.from_env(env).server_mb == memory.DEFAULT_SERVER_MEMORY_MB


@pytest.mark.parametrize("value", ["five", "nan", "inf", "-3"])
def test_nonsense_run_timeouts_fall_back_to_their_defaults(value):
    """DIGITNET_SESSION_GRACE_S=five stopped the app at its first import (a ValueError from
    float()); nan or inf meant a closed page's run never ended."""
    code = "from digitnet.app import jobs; print(jobs.SESSION_GRACE_S, jobs.HEARTBEAT_TIMEOUT_S)"
    env = {**os.environ, "DIGITNET_SESSION_GRACE_S": value, "DIGITNET_HEARTBEAT_TIMEOUT_S": value}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["5.0", "90.0"]
    assert "DIGITNET_SESSION_GRACE_S=" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_malloc_tuning_and_rss_on_linux():
    assert memory.tune_malloc() is True
    memory.trim()
    rss = memory.rss_mb()
    assert rss is not None and 10 < rss < 100_000


def test_the_app_asks_to_wait_when_the_server_is_over_its_budget(apps, monkeypatch):
    monkeypatch.setenv(memory.SERVER_MEMORY_ENV, "1")  # every server is over 1 MB
    at = apps("Train")
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("short of memory right now" in i.value for i in at.info)
    job = at.session_state["job"]
    assert job.snapshot().state == "idle"  # nothing started, nothing allocated


def test_the_app_asks_to_wait_when_a_visitor_would_keep_too_much(apps, monkeypatch):
    monkeypatch.setenv(memory.VISITOR_MEMORY_ENV, "0.01")  # 10 kB: any network is over it
    at = apps("Train")
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("a visitor may keep on this server" in i.value for i in at.info)


# ---------------------------------------------------------------- the sessions
def test_admission_gives_a_place_while_one_is_free_and_again_once_a_session_is_gone():
    alive = {"a", "b", "c"}
    places = memory.Admission(lambda sid: sid in alive)
    assert places.admit("a", 2) and places.admit("b", 2)
    assert places.admit("a", 2)  # a session keeps its place
    assert not places.admit("c", 2) and not places.room(2)
    alive.discard("a")  # a's page closed and its session was closed
    assert places.room(2) and places.admit("c", 2) and places.count() == 2
    assert not places.admit("a2", 2)


@pytest.mark.parametrize(
    ("locale", "said", "retry"),
    [
        ("en-US", "The server is full: 1 visitors", "Try again"),
        ("ja-JP", "サーバーが満員です", "もう一度試す"),
    ],
)
def test_a_full_server_asks_a_visitor_to_come_back_and_lets_them_in_once_there_is_room(
    apps, monkeypatch, locale, said, retry
):
    """DIGITNET_MAX_SESSIONS visitors have the app; the next one gets one sentence (in their
    language) and no app (no canvas, nothing held), until a place is free."""
    from digitnet.app import state

    monkeypatch.setenv(memory.MAX_SESSIONS_ENV, "1")
    alive = {"someone else"}
    monkeypatch.setattr(state, "session_exists", lambda sid: sid in alive)
    state.admission.clear()
    assert state.admission().admit("someone else", 1)  # the one place is taken
    at = apps(locale=locale)
    (warning,) = at.warning
    assert warning.value.startswith(said), warning.value
    assert not at.metric and not at.tabs  # no app: no Draw tab, no answer
    assert [b.label for b in at.button] == [retry]
    at.button(key="full_retry").click().run()
    assert at.warning and not at.metric  # still full
    alive.clear()  # the other visitor left, and their session was closed
    at.button(key="full_retry").click().run()
    assert not at.exception and not at.warning
    assert [m.label for m in at.metric] == ["Prediction" if locale == "en-US" else "予測"]
    state.admission.clear()
