"""The server's memory: its budgets, and giving back what visitors who left held.

**Giving it back.** Streamlit keeps a closed page's session for a while in case it
reconnects (``server.disconnectedSessionTTL``, 2 minutes), then drops it from its
store *without shutting it down*: the images it showed (``/media``), its uploads
and its state stay referenced or wait for Python's full garbage collection, and
the store only drops expired sessions when another session disconnects. Measured
with ``benchmarks/load.py memory``: about 9 MB per visitor was never given back.
The :class:`Reaper` (one per server) closes every session whose page has been
gone for :data:`SESSION_TTL_ENV` seconds: it first releases what the visitor held
(their training run, their models), then asks Streamlit to close the session
(``Runtime.clear_user_info_for_session``, documented as safe from any thread: for
a disconnected session it shuts it down on the event loop: media files, uploads
and state freed), runs one garbage collection and returns freed heap pages to the
operating system (``malloc_trim``). :func:`tune_malloc` also keeps glibc from
growing an arena per thread (Streamlit starts a thread per script run).

**Budgets.** :func:`refusal` tells a visitor, politely, that the server or their
session is short of memory before anything large is allocated (a training run,
Teach, an upload, an evaluation of a new model): the server's resident memory plus
what the action needs must stay under :data:`SERVER_MEMORY_ENV`, and what the
visitor's session keeps (their models) under :data:`VISITOR_MEMORY_ENV`.

No Streamlit in here: the app passes in what it needs.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import budget
from .i18n import Message, message

log = logging.getLogger("digitnet.app.jobs")  # the app's log (configured in jobs.py)

MAX_SESSIONS_ENV = "DIGITNET_MAX_SESSIONS"
SERVER_MEMORY_ENV = "DIGITNET_SERVER_MEMORY_MB"
VISITOR_MEMORY_ENV = "DIGITNET_VISITOR_MEMORY_MB"
SESSION_TTL_ENV = "DIGITNET_SESSION_TTL_S"
#: The server's budget, MB of resident memory: Streamlit Community Cloud's smallest box
#: has 690 MB; this leaves room for a peak between two checks.
DEFAULT_SERVER_MEMORY_MB = 600
#: What one visitor's session may keep, MB: their trained network (with its optimizer's
#: state, for Resume), a taught one and an uploaded one (at most 20 MB each).
DEFAULT_VISITOR_MEMORY_MB = 80
#: A closed page's session is closed, and its memory given back, this long after.
DEFAULT_SESSION_TTL_S = 60.0
REAP_EVERY_S = 5.0  #: how often the reaper looks for sessions to close
#: Visitors' sessions the app serves at once. What a page holds beyond what the memory
#: budget checks is bounded, not nothing: its session (0.3-0.6 MB for a visitor drawing),
#: Streamlit's copy of its last message and a message on its way (1 MB each at most,
#: ``server.maxWidgetStateSize``, ``server.maxMessageSize``), values under
#: streamlit_fixes.SMALL_VALUE_BYTES: about 2.5 MB for a crafted page. The connections
#: allowed (:data:`CONNECTIONS_PER_SESSION` times this) then take at most about 150 MB, and
#: a stroke's 28 ms of CPU from every visitor is about what one core answers promptly.
DEFAULT_MAX_SESSIONS = 40
#: Connections (pages) the server takes at once, the app's visitors and those waiting for
#: a place together: this many times :func:`max_sessions`. Another is closed at once.
CONNECTIONS_PER_SESSION = 1.5


def setting(name: str, default: float, environ: Mapping | None = None) -> float:
    """A positive number from the environment, else ``default`` (a bad value, infinity
    included, is logged and the default used)."""
    return budget.setting(name, default, minimum=0.001, environ=environ)


def max_sessions(environ: Mapping | None = None) -> int:
    """How many visitors' sessions the app serves at once (``DIGITNET_MAX_SESSIONS``)."""
    return int(budget.setting(MAX_SESSIONS_ENV, DEFAULT_MAX_SESSIONS, minimum=1, environ=environ))


@dataclass(frozen=True)
class Budget:
    server_mb: float
    visitor_mb: float

    @classmethod
    def from_env(cls, environ: Mapping | None = None) -> Budget:
        return cls(
            setting(SERVER_MEMORY_ENV, DEFAULT_SERVER_MEMORY_MB, environ),
            setting(VISITOR_MEMORY_ENV, DEFAULT_VISITOR_MEMORY_MB, environ),
        )


# ---------------------------------------------------------------- measuring
def rss_mb() -> float | None:
    """This process's resident memory, MB (None where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def arrays_mb(objects: Iterable) -> float:
    """MB of the writeable NumPy arrays reachable from ``objects`` (a few levels deep).

    A visitor's networks, their optimizers' state, a training job: what a session keeps.
    Read-only arrays are the server's shared data (MNIST), counted once for the server.
    """
    seen: set[int] = set()
    counted: set[int] = set()
    total = 0

    def add(obj, depth: int) -> None:
        nonlocal total
        if obj is None or depth > 6 or id(obj) in seen or isinstance(obj, (str, bytes, int)):
            return
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base.flags.writeable and id(base) not in counted:
                counted.add(id(base))
                total += base.nbytes
            return
        values: Iterable[Any]
        if isinstance(obj, (list, tuple, set, frozenset)):
            values = obj
        elif isinstance(obj, dict):
            values = obj.values()
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            values = vars(obj).values()
        else:
            return
        for x in list(values):
            add(x, depth + 1)

    for obj in objects:
        add(obj, 0)
    return total / 2**20


def refusal(
    need_mb: float, keep_mb: float, held_mb: float, budget: Budget, rss: float | None
) -> Message | None:
    """Why an action must wait (words for the page, in its language), or None if it fits
    both budgets.

    ``need_mb``: the action's peak, on top of the server's resident memory ``rss`` (None:
    unknown, the server's budget is not checked); ``keep_mb``: what the visitor's session
    keeps afterwards, on top of what it holds now (``held_mb``).
    """
    if held_mb + keep_mb > budget.visitor_mb:
        return message("memory.visitor", mb=held_mb + keep_mb, visitor_mb=budget.visitor_mb)
    if rss is not None and rss + need_mb > budget.server_mb:
        return message("memory.server", rss=rss, server_mb=budget.server_mb)
    return None


# ---------------------------------------------------------------- glibc
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 (glibc only: musl has no mallopt)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD = 256 * 1024  #: blocks this large are mapped (and unmapped when freed)
ARENA_MAX = 2


def tune_malloc() -> bool:
    """glibc: at most :data:`ARENA_MAX` arenas, and a fixed mmap threshold.

    Without it glibc gives threads arenas of their own (up to 8 per core; Streamlit
    runs each script run in a new thread) and raises its mmap threshold after large
    frees, so that NumPy's large arrays end up inside arenas that do not shrink. Same
    as ``MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144``. True if it applied.
    """
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX)) and bool(
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )


def trim() -> None:
    """Give free heap pages back to the operating system (glibc's ``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# ---------------------------------------------------------------- the reaper
class Reaper:
    """Closes the sessions of pages gone for ``ttl`` seconds, and gives their memory back.

    ``is_active(sid)`` tells whether a session's page is connected; ``close(sid)``
    closes a disconnected session for good. Both are called from the reaper's
    thread. Visitors are added with :meth:`watch`, with a ``release()`` that drops
    what they hold (called first, on the reaper's thread).
    """

    def __init__(
        self,
        is_active: Callable[[str], bool],
        close: Callable[[str], None],
        ttl: float,
        every: float = REAP_EVERY_S,
        start: bool = True,
    ) -> None:
        self.is_active, self.close, self.ttl, self.every = is_active, close, ttl, every
        self._lock = threading.Lock()
        self._watched: dict[str, tuple[Callable[[], None], float | None]] = {}
        self.closed = 0  #: sessions closed so far
        self._collect = False
        if start:
            threading.Thread(target=self._loop, name="digitnet-reaper", daemon=True).start()

    def watch(self, sid: str, release: Callable[[], None]) -> None:
        """Watch a visitor's session (again: ``release`` replaces the earlier one)."""
        with self._lock:
            self._watched[sid] = (release, None)

    def watching(self) -> int:
        with self._lock:
            return len(self._watched)

    def watches(self, sid: str) -> bool:
        """Whether ``sid`` is watched: not closed yet."""
        with self._lock:
            return sid in self._watched

    def sweep(self, now: float | None = None) -> list[str]:
        """One pass: the sessions closed now."""
        now = time.monotonic() if now is None else now
        if self._collect:  # sessions closed in the last pass are gone by now
            self._collect = False
            gc.collect()
            trim()
        with self._lock:
            watched = list(self._watched.items())
        done = []
        for sid, (release, gone_since) in watched:
            if self.is_active(sid):
                if gone_since is not None:
                    with self._lock:
                        if sid in self._watched:
                            self._watched[sid] = (release, None)
                continue
            if gone_since is None:
                with self._lock:
                    if sid in self._watched:
                        self._watched[sid] = (release, now)
                continue
            if now - gone_since < self.ttl:
                continue
            with self._lock:
                self._watched.pop(sid, None)
            try:
                release()
                self.close(sid)
            except Exception:  # never let the reaper die
                log.exception("closing session %s failed", sid[:8])
            done.append(sid)
        if done:
            self.closed += len(done)
            self._collect = True
            log.info("closed %d session(s) gone for %.0f s", len(done), self.ttl)
        return done

    def _loop(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                self.sweep()
            except Exception:
                log.exception("reaper pass failed")


# ---------------------------------------------------------------- the sessions
class Admission:
    """At most ``most`` sessions have the app at once; the others wait for a place.

    A session keeps its place while ``exists(session_id)`` (its page is connected, or it
    has not been closed yet: its memory is still held); the places of the others are
    given again when the app is full.
    """

    def __init__(self, exists: Callable[[str], bool]) -> None:
        self.exists = exists
        self._lock = threading.Lock()
        self._admitted: set[str] = set()

    def _prune(self, most: int) -> None:
        if len(self._admitted) >= most:
            self._admitted = {sid for sid in self._admitted if self.exists(sid)}

    def admit(self, session_id: str, most: int) -> bool:
        """Give ``session_id`` a place if it has none and one is free; whether it has one."""
        with self._lock:
            if session_id in self._admitted:
                return True
            self._prune(most)
            if len(self._admitted) >= most:
                return False
            self._admitted.add(session_id)
            return True

    def room(self, most: int) -> bool:
        """Whether a place is free."""
        with self._lock:
            self._prune(most)
            return len(self._admitted) < most

    def count(self) -> int:
        with self._lock:
            return len(self._admitted)
