"""A link that replays a run: the Train tab's preset and every hyperparameter in the URL.

The Train tab keeps the page's address up to date (``st.query_params``): the
preset, then every hyperparameter it shows, e.g.
``?preset=fast&hidden=128&activation=relu&...&eta=0.002&...&seed=1``. Opening such a
link -- a teacher's "this setting" -- opens the Train tab with those settings (and,
with the same seed, training gives the same curves: one BLAS thread per run).

Whatever a link says is checked before any widget sees it (:func:`read`): a value
that is not of its kind, out of its range, or that the network refuses is left out,
the preset's value shown instead, and all of them are reported in one line. Other
query parameters (e.g. ``lang``) are neither read nor changed.

No Streamlit in the parsing (:func:`read`, :func:`query`): they are tested alone;
:func:`follow` and :func:`copy_button` are the page's side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from ..presets import PRESETS, build, preset_params
from . import state
from .i18n import Message, message, t

PRESET = "preset"  #: the URL's name of the preset
#: The URL's names of the hyperparameters, in the order they are written (the Train tab's
#: inputs; ``augment`` only for a preset that augments).
NAMES = (
    "hidden", "activation", "output", "optimizer", "eta", "l2", "batch_size", "epochs",
    "seed", "momentum", "schedule", "warmup", "init", "init_scale", "input_scaling",
    "precision", "train_metrics", "early_stopping", "augment",
)  # fmt: skip
MAX_TEXT = 64  #: longer values are refused before parsing
READ_KEY = "link_read"  #: session state: the link of this visit was read
LINK_KEY = "link"  #: session state: what the link set (a :class:`Link`)
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass
class Link:
    """What a link asks for: a preset, widget values for it, and what could not be used."""

    preset: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    #: what could not be used, each as a text of the page's language (``link.problem``)
    problems: list[Message] = field(default_factory=list)

    def message(self, shown: str) -> str:
        """The one line that says what was not used (``shown``: the preset shown)."""
        problems = t("link.sep").join(str(p) for p in self.problems)
        return t("link.unused", problems=problems, preset=shown)


class Unusable(ValueError):
    """Why a link's value cannot be used, in the app's words (a text key and its fields)."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.why = message(key, **fields)


def read(params: Mapping[str, str], limits: Mapping[str, tuple] | None = None) -> Link:
    """Check a link's query parameters; only those that can be used are kept.

    Parameters
    ----------
    params : mapping
        ``st.query_params`` (the last value of each name).
    limits : mapping, optional
        ``{name: (low, high)}``: the Train tab's own bounds (e.g. epochs at most 200),
        besides what the network accepts.

    Returns
    -------
    Link
        ``values`` as the Train tab's inputs hold them: ``hidden`` as text
        (``"256, 128"``), numbers as int or float, choices as text, switches as bool.
    """
    link = Link()
    if PRESET not in params and not any(name in params for name in NAMES):
        return link
    name = str(params.get(PRESET, "fast"))
    if name in PRESETS:
        link.preset = name
    else:
        link.problems.append(message("link.problem_preset", name=PRESET, value=_shown(name),
                                     presets=", ".join(PRESETS)))  # fmt: skip
        link.preset = "fast"
    preset = link.preset
    defaults = build(preset)
    own = preset_params(preset)
    for key in NAMES:
        if key not in params:
            continue
        text = str(params[key]).strip()
        try:
            value = _parse(key, text, own.get(key, getattr(defaults, key, None)), own)
            if key in (limits or {}):
                low, high = limits[key]
                if not low <= value <= high:
                    raise Unusable("link.why.range", name=key, low=low, high=high)
            overrides = _as_model_value(key, value, own)
            if overrides:
                build(preset, **overrides)  # the network's own checks
        except ValueError as e:
            why = (
                e.why if isinstance(e, Unusable) else message("link.why.network", detail=_reason(e))
            )
            link.problems.append(message("link.problem", name=key, value=_shown(text), why=why))
            continue
        link.values[key] = value
    return link


def _parse(key: str, text: str, default, own: dict):
    """A value as the Train tab's input for ``key`` holds it (ValueError if it can't be)."""
    if len(text) > MAX_TEXT:
        raise Unusable("link.why.long", most=MAX_TEXT)
    if key == "hidden":
        parts = [t for t in text.replace("-", ",").replace(";", ",").split(",") if t.strip()]
        if not parts or not all(t.strip().isdigit() for t in parts):
            raise Unusable("link.why.hidden")
        return ", ".join(str(int(t)) for t in parts)
    if key == "augment":
        if not own.get("augment"):
            raise Unusable("link.why.augment")
        return _switch(text)
    if isinstance(default, bool):
        return _switch(text)
    if isinstance(default, int):
        if not text.lstrip("-").isdigit() or len(text) > 12:
            raise Unusable("link.why.whole")
        return int(text)
    if isinstance(default, float):
        try:
            number = float(text)
        except ValueError:
            raise Unusable("link.why.number") from None
        if not math.isfinite(number):
            raise Unusable("link.why.finite")
        return number
    return text  # a choice: the network says whether it is one


def _switch(text: str) -> bool:
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    raise Unusable("link.why.switch")


def _as_model_value(key: str, value, own: dict) -> dict:
    """The :func:`digitnet.presets.build` override a Train-tab value stands for."""
    if key == "hidden":
        return {"hidden": [int(t) for t in value.split(",")]}
    if key == "augment":
        return {}  # on: the preset's distortions; off: none
    return {key: value}


def _shown(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _reason(e: ValueError) -> str:
    """The first line of the network's message, without the value (the line shows it)."""
    text = str(e).splitlines()[0] if str(e) else "not usable"
    return text.split(", got ")[0].rstrip(".")


def query(preset: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The query parameters of a setting: the preset, then its values, as text."""
    out = {PRESET: preset}
    for key in NAMES:
        if key not in values or values[key] is None:
            continue
        value = values[key]
        if key == "hidden":
            parts = [t.strip() for t in str(value).replace(";", ",").split(",") if t.strip()]
            out[key] = "-".join(parts) if all(t.isdigit() for t in parts) else str(value)
        elif key == "augment" or isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, float):
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out


# ---------------------------------------------------------------- the page's side
def on_first_run(limits: Mapping[str, tuple] | None = None) -> Link | None:
    """On the session's first run: the link this visit was opened with (read and checked,
    see :func:`read`); None on every later run."""
    if READ_KEY in st.session_state:
        return None
    st.session_state[READ_KEY] = True
    st.session_state[LINK_KEY] = read(_params(), limits)
    return st.session_state[LINK_KEY]


def linked() -> Link:
    """The link this visit was opened with (empty if none)."""
    return st.session_state.get(LINK_KEY) or Link()


def _params() -> dict[str, str]:
    return {key: st.query_params[key] for key in st.query_params}


def follow(preset: str, values: Mapping[str, Any]) -> None:
    """Keep the URL on the setting shown: write the names that changed (one message to the
    browser, none when nothing did), leave everyone else's parameters alone."""
    wanted = query(preset, values)
    mine = (PRESET, *NAMES)
    changed = {k: v for k, v in wanted.items() if st.query_params.get(k) != v}
    stale = [k for k in mine if k in st.query_params and k not in wanted]
    if changed:
        st.query_params.update(changed)
    for key in stale:
        del st.query_params[key]


def url() -> str:
    """The page's address with its query: what "Copy link" copies."""
    base = st.context.url or ""
    params = _params()
    return base + ("?" + urlencode(params) if params else "")


COPY_JS = r"""
export default function (component) {
  const {data, parentElement} = component;
  let note = parentElement.querySelector('span[data-digitnet-copy]');
  if (!note) {
    note = document.createElement('span');
    note.dataset.digitnetCopy = '1';
    note.setAttribute('role', 'status');
    note.style.cssText = 'font-size: 0.875rem; opacity: 0.8;';
    parentElement.appendChild(note);
  }
  if (!data || !data.link || note.dataset.nonce === String(data.nonce)) return;
  note.dataset.nonce = String(data.nonce);
  const done = (ok) => {
    note.textContent = ok ? data.copied : data.failed;
    note.dataset.copied = ok ? '1' : '0';
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(data.link).then(() => done(true), () => done(false));
  } else {
    done(false);
  }
}
"""

_copy_component = None


def copy_button(where) -> None:
    """A "Copy link to this setting" button in ``where``: the link goes to the clipboard,
    and is shown below it (to copy by hand where the browser does not allow it)."""
    global _copy_component
    where.button(
        t("link.copy"),
        key="copy_link",
        icon=":material/link:",
        on_click=_asked_copy,
        help=t("link.copy_help"),
    )
    asked = st.session_state.get(state.COPY_LINK_KEY)
    if not asked:
        return
    link = url()
    if _copy_component is None:  # declared once per process, inside a running app
        _copy_component = st.components.v2.component(
            "digitnet_copy_link", js=COPY_JS, isolate_styles=False
        )
    _copy_component(
        key="copy_link_note",
        data={
            "link": link,
            "nonce": asked,
            "copied": t("link.copied"),
            "failed": t("link.copy_failed"),
        },
        width="stretch",
        height="content",
    )
    st.code(link, language=None, wrap_lines=True)


def _asked_copy() -> None:
    st.session_state[state.COPY_LINK_KEY] = st.session_state.get(state.COPY_LINK_KEY, 0) + 1
