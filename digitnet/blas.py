"""How many threads NumPy's BLAS may use, shared safely by every thread of the process.

Small matrix products run faster on one thread: splitting a (100×784)·(784×100)
product between two cores costs more in synchronisation than it saves
(``benchmarks/RESULTS.md`` has the figures). So training and the elastic
distortion limit BLAS to one thread, and large evaluation batches leave it alone.

OpenBLAS, NumPy's BLAS, has **one thread pool for the whole process**: a limit
set by one thread applies to every thread. Two overlapping ``with limit:``
blocks that each restore "what it was when I began" -- a prediction and a
training run on a server -- can leave the process at the other block's value
for good. So every limit goes through one coordinator: while any limit is
active the process runs at the *smallest* one asked for (never more threads
than any caller wants), and when the last one ends, threadpoolctl's limiter
restores what the process had before the first began. A thread count is only
ever chosen by code (:class:`digitnet.model.MLP`'s ``threads``), never read
from a file.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

SINGLE_THREAD_WORK = 1024 * 1024  #: rows × widest hidden layer up to which one thread is faster


def blas_threads(
    threads: int | None, batch_rows: int, layer_sizes: tuple[int, ...]
) -> AbstractContextManager[None]:
    """Limit the BLAS thread pool for matrix products of ``batch_rows`` rows.

    ``threads`` overrides the choice; with None, products of at most
    :data:`SINGLE_THREAD_WORK` (rows × the widest hidden layer) run on one
    thread, larger ones on whatever the process has.
    """
    if threads is None:
        work = batch_rows * max(layer_sizes[1:-1], default=1)
        threads = 1 if work <= SINGLE_THREAD_WORK else None
    if threads is None:
        return contextlib.nullcontext()
    return limit(threads)


@contextlib.contextmanager
def limit(threads: int) -> Iterator[None]:
    """At most ``threads`` BLAS threads inside the block (fewer if another block asks).

    Safe to nest and to overlap across threads: the process's own limit is
    back when the last block ends, whatever order they end in.
    """
    try:
        n = operator.index(threads)  # int, or a NumPy integer
    except TypeError:
        n = 0
    if isinstance(threads, bool) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    _COORDINATOR.enter(n)
    try:
        yield
    finally:
        _COORDINATOR.exit(n)


def current() -> int | None:
    """The BLAS thread pool's size now (the smallest, if several BLAS are loaded)."""
    sizes = [lib.num_threads for lib in _controller().select(user_api="blas").lib_controllers]
    return min(sizes) if sizes else None


@lru_cache(maxsize=1)
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class _Coordinator:
    """The active limits of every thread; applies the smallest, restores when none is left.

    threadpoolctl (3.7+) lets only one thread at a time change OpenBLAS's shared pool
    (its "controlling thread"; the others' changes are silently dropped). Every change
    made here is made under this coordinator's lock, by whichever thread holds it, so
    each change takes control for its own duration and gives it back at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: Counter[int] = Counter()
        self._original: Any = None  # threadpoolctl's limiter from before the first block
        self._applied: int | None = None

    def enter(self, threads: int) -> None:
        with self._lock:
            self._active[threads] += 1
            self._apply()

    def exit(self, threads: int) -> None:
        with self._lock:
            self._active[threads] -= 1
            if not self._active[threads]:
                del self._active[threads]
            self._apply()

    def _apply(self) -> None:
        if not self._active:
            if self._original is not None:
                with _in_control():
                    self._original.restore_original_limits()
            self._original, self._applied = None, None
            return
        smallest = min(self._active)
        if smallest == self._applied:
            return
        with _in_control():
            limiter = _controller().limit(limits=smallest, user_api="blas")
        if self._original is None:
            self._original = limiter  # it remembers the limits from before the first block
        self._applied = smallest


@contextlib.contextmanager
def _in_control() -> Iterator[None]:
    """Let this thread change OpenBLAS's pool, and let go of it afterwards."""
    from threadpoolctl import OpenBLASController

    release = getattr(OpenBLASController, "clear_controlling_thread", None)  # 3.7+
    if release is not None:
        release(force=True)
    try:
        yield
    finally:
        if release is not None:
            release(force=True)


_COORDINATOR = _Coordinator()
