"""What Streamlit itself lets a crafted message do, closed before any visitor arrives.

The page sends each widget's value in the type that widget expects (a whole number for
a whole-number input, a list of numbers for a slider, JSON for a component). Anyone can
send a websocket message of their own instead, with any value of any type for any
widget. Streamlit (1.67) reads such values with ``int()``, ``len()``, ``json.loads`` and
the like, before the script runs and without a check: NaN for a whole-number input, a
number for a slider, malformed or 5,000-deep JSON for a button or a component each
raise, on every rerun of that session until another value arrives, and the page shows
Streamlit's traceback instead of the app. (Other visitors are not affected: each
session has its own widget values.)

:func:`apply` makes a value that Streamlit cannot read what Streamlit already makes a
value out of a widget's range: the widget's default. It wraps the one place where
Streamlit turns a received value into a widget's value (``WStates.__getitem__``) and the
one where it turns it back (``WStates.get_serialized``); both behave exactly as before
for every value Streamlit can read. What the app's own code then receives (e.g. a text
that is not one of a select box's options) it checks itself. Applied once per process,
when the app's main module is imported; ``tests/test_hostile_app.py`` sends crafted
values of every type to the page's widgets.

Uploads are the other door. Streamlit keeps every file a session PUTs to its upload
address (any file id, each up to ``server.maxUploadSize``) in memory until the session
closes, whether or not a widget ever asks for it: a script sending 20 MB files in a
loop filled the server. :func:`apply` also keeps only a session's newest upload (the
app's one uploader takes one file, read as soon as it arrives) and keeps no bytes of an
upload while all sessions' uploads together would be over :data:`SERVER_UPLOAD_BYTES`
(its type says so: :data:`SERVER_FULL_TYPE`).

And a widget's value can be small on the wire and large once read. Streamlit reads
JSON values with ``json.loads`` and keeps what it made in the session: 2 MB of ``{},``
became 48 MB of Python dicts (20 MB messages, measured on a real server: 500 MB a
session, four sessions +2 GB). :func:`apply` also estimates, before Streamlit reads a
value, what it would take once read (:func:`value_cost`, an upper bound) and reads it
only if that fits :func:`value_limit` (the canvas's drawing: :data:`CANVAS_VALUE_BYTES`;
any other widget: :data:`WIDGET_VALUE_BYTES`) and, above :data:`SMALL_VALUE_BYTES`, the
server's memory budget. A refused value reads as the widget's default; the canvas's as
``{REFUSED: why}``, so that the Draw tab can say why.
Streamlit's own limit on a whole message is ``server.maxWidgetStateSize`` (and
``server.maxMessageSize`` on what the server buffers of one message before it looks at
it): both are set in ``.streamlit/config.toml``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.state.session_state import Serialized, Value, WStates
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from . import memory

_APPLIED = "_digitnet_guarded"
#: What reading a crafted value raises inside Streamlit (``json.JSONDecodeError`` is a
#: ValueError; ``RecursionError`` comes from deeply nested JSON).
UNREADABLE = (
    ValueError,
    TypeError,
    OverflowError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
)
SESSION_UPLOADS = 1  #: uploaded files kept per session: the newest
#: Uploaded bytes kept server-wide, every session's together: five of the largest uploads.
SERVER_UPLOAD_BYTES = 100 * 2**20
#: The type of an upload that came while all pages' uploads were at SERVER_UPLOAD_BYTES: its
#: bytes were not kept (digitnet.app.draw says so).
SERVER_FULL_TYPE = "application/x-digitnet-server-full"
#: The most a value of the drawing canvas may take once read (estimated): a digit drawn
#: honestly is about 0.1 MB; 8 MB holds about 100 long strokes, or 900 dabs.
CANVAS_VALUE_BYTES = 8 * 2**20
CANVAS_KEY = "canvas"  #: the canvas's key (digitnet.app.draw.CANVAS_KEY)
#: The most any other widget's value may take once read: the app's largest honest ones
#: (a chart selection, the runs picked for a chart, a text of link.MAX_TEXT) take a few kB.
WIDGET_VALUE_BYTES = 64 * 2**10
#: Values estimated under this are read whatever the server's memory holds; larger ones
#: only while they fit the server's budget (``DIGITNET_SERVER_MEMORY_MB``).
SMALL_VALUE_BYTES = 256 * 2**10
#: An upper bound of the memory of one item read from a message (a JSON object, array,
#: number or string besides its characters; an element of an array): a dict is 64 bytes,
#: a one-character string of an emoji 80, and the parent's pointer 8.
ITEM_BYTES = 88
#: A refused JSON value reads as ``{REFUSED: "size"}`` or ``{REFUSED: "memory"}``.
REFUSED = "digitnet_refused"
_JSON_FIELDS = ("json_value", "json_trigger_value")
#: Messages a page may send in one second before it is disconnected (an honest one: a few).
MESSAGES_PER_S = 100
#: The same warning from Streamlit is logged at most once in this many seconds.
LOG_REPEAT_S = 10.0


def apply() -> None:
    """Widget values Streamlit cannot read become the widget's default, values that would
    take too much memory once read are not read, uploads are bounded per session and
    server-wide, and connections server-wide (idempotent)."""
    if getattr(WStates.__getitem__, _APPLIED, False):
        return
    read, write = WStates.__getitem__, WStates.get_serialized

    def _default(states: WStates, k: str) -> Any:
        value = states.widget_metadata[k].deserializer(None)
        states.states[k] = Value(value)
        return value

    def __getitem__(self: WStates, k: str) -> Any:
        try:
            return read(self, k)
        except UNREADABLE:
            # Only a received value that Streamlit could not read (a missing widget
            # is still the KeyError it always was).
            if not isinstance(self.states.get(k), Serialized) or k not in self.widget_metadata:
                raise
            return _default(self, k)

    def get_serialized(self: WStates, k: str) -> Any:
        try:
            return write(self, k)
        except UNREADABLE:
            if k not in self.widget_metadata:
                raise
            # A value read from a crafted message that cannot go back: Streamlit has also
            # taken the message's type as the widget's. Back to the default, and no
            # stored value until the widget registers again (with its own type).
            _default(self, k)
            return None

    for wrapper in (__getitem__, get_serialized):
        setattr(wrapper, _APPLIED, True)
    WStates.__getitem__ = __getitem__  # type: ignore[method-assign]
    WStates.get_serialized = get_serialized  # type: ignore[method-assign]
    _bound_widget_values()
    _bound_uploads()
    _bound_connections()
    _bound_message_rate()
    _bound_logs()


class Repeats(logging.Filter):
    """Lets one log record of each kind (its logger and message, before its arguments) through
    every ``every`` seconds; errors always pass."""

    def __init__(self, every: float) -> None:
        super().__init__()
        self.every = every
        self._last: dict[tuple[str, object], float] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        key, now = (record.name, record.msg), time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.every:
                return False
            if len(self._last) > 10_000:
                self._last.clear()
            self._last[key] = now
        return True


def _bound_logs() -> None:
    """Streamlit's warnings and notes, each kind at most once in :data:`LOG_REPEAT_S`.

    A crafted page can have a line written for every message it sends ("The fragment with
    id ... does not exist anymore", 'No handler for "..."'): with 100 messages a second from
    each of 60 pages, the server's log (on Community Cloud, the app's log) would take
    megabytes a second.
    """
    from streamlit import logger as streamlit_logger

    repeats = Repeats(LOG_REPEAT_S)
    for log in (*streamlit_logger._loggers.values(), logging.getLogger("uvicorn.error")):
        log.addFilter(repeats)


def _bound_message_rate() -> None:
    """A page that sends more than :data:`MESSAGES_PER_S` messages in a second is
    disconnected (its browser would reconnect: a crafted page's flood stops).

    Every message is handled on the server's event loop, the one thread that talks to every
    page: a crafted page sending as fast as it could took a whole core by itself (benchmarks/
    hostile.py explore-rerun-flood-max). A browser sends one per click, stroke, upload or
    timer of the page: a few a second at most.
    """
    from starlette.websockets import WebSocketDisconnect
    from streamlit.runtime import Runtime

    handle = Runtime.handle_backmsg
    seconds: dict[str, list[float]] = {}  # session -> [start of its current second, count]

    def handle_backmsg(self: Runtime, session_id: str, msg: Any, *, client: Any = None) -> None:
        # (Called on the server's event loop, one message at a time.)
        now = time.monotonic()
        second = seconds.get(session_id)
        if second is None or now - second[0] >= 1.0:
            if len(seconds) > 1000:  # forget pages long gone
                for sid in [k for k, (t0, _) in seconds.items() if now - t0 > 60]:
                    del seconds[sid]
            second = seconds[session_id] = [now, 0]
        second[1] += 1
        if second[1] > MESSAGES_PER_S:
            # Streamlit's handler takes this as the page having left: it disconnects the
            # session (kept for a reconnection, as after any dropped connection), no log.
            raise WebSocketDisconnect(1008, "Too many messages")
        handle(self, session_id, msg, client=client)

    Runtime.handle_backmsg = handle_backmsg  # type: ignore[method-assign]


def _bound_connections() -> None:
    """At most ``CONNECTIONS_PER_SESSION × DIGITNET_MAX_SESSIONS`` pages connected at once.

    The app gives :func:`memory.max_sessions` of them its page and the others a page
    that waits for a place (:func:`digitnet.app.main.full`); each page costs the server
    its session, and Streamlit keeps the last message of each (up to 1 MB). Beyond this,
    a new connection is closed as it opens (crafted pages: a browser's page waits on the
    app's page for its place long before). A page reconnecting to its session is let in.
    """
    from starlette.websockets import WebSocketDisconnect
    from streamlit.runtime import Runtime

    connect = Runtime.connect_session

    def connect_session(self: Runtime, client: Any, user_info: Any,
                        existing_session_id: str | None = None,
                        session_id_override: str | None = None) -> str:  # fmt: skip
        # (Called on the server's event loop, one connection at a time.)
        sessions = self._session_mgr
        known = existing_session_id and sessions.get_session_info(existing_session_id)
        most = int(memory.CONNECTIONS_PER_SESSION * memory.max_sessions())
        if not known and sessions.num_active_sessions() >= most:
            # Streamlit's handler takes this as the page having left: no session, no log.
            raise WebSocketDisconnect(1013, "The server is full; try again in a minute")
        return connect(self, client, user_info, existing_session_id, session_id_override)

    Runtime.connect_session = connect_session  # type: ignore[method-assign]


def value_cost(state: WidgetState) -> int:
    """Bytes that reading ``state``'s value may take, at most (estimated, not read).

    Its size on the wire, plus :data:`ITEM_BYTES` per item: for JSON every ``,``, ``:``,
    ``[`` and ``{`` (each item but the first follows one of them; those inside strings
    count too, which only overestimates), for arrays their elements, for uploads their
    files. Measured against ``json.loads``: 1.4 to 2.9 times what it takes.
    """
    field = state.WhichOneof("value")
    size = state.ByteSize()
    if field in _JSON_FIELDS:
        text = getattr(state, field)
        items = 1 + sum(text.count(c) for c in ",:[{")
    elif field is not None and field.endswith("_array_value"):
        items = len(getattr(state, field).data)
    elif field == "file_uploader_state_value":
        items = len(state.file_uploader_state_value.uploaded_file_info)
    else:
        items = 1
    return size + ITEM_BYTES * items


def _is_canvas(widget_id: str) -> bool:
    return widget_id.endswith("-" + CANVAS_KEY)


def value_limit(widget_id: str) -> int:
    """The most the value of the widget ``widget_id`` may take once read."""
    return CANVAS_VALUE_BYTES if _is_canvas(widget_id) else WIDGET_VALUE_BYTES


def refusal(state: WidgetState) -> str | None:
    """Why a received value is not read (``"size"``, ``"memory"``), or None to read it."""
    cost = value_cost(state)
    if cost > value_limit(state.id):
        return "size"
    if cost > SMALL_VALUE_BYTES:
        rss = memory.rss_mb()
        if rss is not None and rss + cost / 2**20 > memory.Budget.from_env().server_mb:
            return "memory"
    return None


def _bound_widget_values() -> None:
    """Every value a page sends is read only if :func:`refusal` finds nothing."""
    keep = WStates.set_widget_from_proto

    def set_widget_from_proto(self: WStates, widget_state: WidgetState) -> None:
        why = refusal(widget_state)
        if why is not None:
            refused = WidgetState(id=widget_state.id)  # no value: read as the default
            if _is_canvas(widget_state.id):  # (a button would read any JSON as a click)
                refused.json_value = json.dumps({REFUSED: why})
            widget_state = refused
        keep(self, widget_state)

    WStates.set_widget_from_proto = set_widget_from_proto  # type: ignore[method-assign]


def _bound_uploads() -> None:
    """A session keeps its newest :data:`SESSION_UPLOADS` files; all of them together at
    most :data:`SERVER_UPLOAD_BYTES` (of a new upload over it, only its name)."""
    add = MemoryUploadedFileManager.add_file

    def add_file(self: MemoryUploadedFileManager, session_id: str, file: UploadedFileRec) -> None:
        # (Called on the server's event loop, one upload at a time.)
        with self._lock:
            held = list(self.file_storage.get(session_id, {}).values())
            others = self._total_bytes - sum(len(f.data) for f in held)
        earlier = [f for f in held if f.file_id != file.file_id]  # oldest first
        kept = earlier[max(0, len(earlier) - SESSION_UPLOADS + 1) :]
        if others + sum(len(f.data) for f in kept) + len(file.data) > SERVER_UPLOAD_BYTES:
            # Not kept: its name only, so that the page says why in its own words (an HTTP
            # error would be shown by Streamlit's uploader in its: "AxiosError: Request
            # failed with status code 503").
            file = UploadedFileRec(file.file_id, file.name, SERVER_FULL_TYPE, b"")
        for old in held:
            if old not in kept:
                self.remove_file(session_id, old.file_id)
        add(self, session_id, file)

    MemoryUploadedFileManager.add_file = add_file  # type: ignore[method-assign]
