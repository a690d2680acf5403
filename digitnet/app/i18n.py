"""The app's words in several languages: one catalogue module per language.

Every string a visitor sees is looked up by key with :func:`t`::

    t("draw.sure", p=0.973)              # "97.3% sure" / "確信度 97.3%"
    t("teach.kept", count=3, label=7)    # a plural form chosen by ``count``

The texts live in :mod:`digitnet.app.locales`, one module per language
(``en.py``, ``ja.py``), found automatically: adding a language is adding one
file there. A catalogue module holds

- ``NAME``: the language's name in itself, for the switch ("English", "日本語");
- ``TEXTS``: key -> text. A text is a :meth:`str.format` template (named
  fields only: ``{p:.1%}``), or, when it depends on a number, a dict of
  plural forms (``{"one": ..., "other": ...}``) chosen by the ``count`` field;
- ``plural(n)``: the form for ``n`` (English: ``"one"`` or ``"other"``;
  Japanese has one form, ``"other"``).

English is complete by definition; ``tests/test_i18n.py`` fails when another
language lacks a key, has one English does not, or a text's fields differ from
the English one's (and when a Japanese text still holds English words). A key
missing at run time falls back to English rather than failing the page.

Which language a page shows (:func:`choose`): the ``?lang=`` query parameter,
if it names a language (a shared link wins); else what the visitor picked with
the switch in this session; else the browser's language
(``st.context.locale``, ``navigator.language``); else English. The switch
(:func:`switch`) writes ``?lang=`` into the page's address, so that the link
shows the same language, and leaves every other query parameter alone.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

from . import locales

DEFAULT = "en"  #: the language of last resort, and the complete one
QUERY = "lang"  #: the query parameter that names the language (?lang=ja)
LANG_KEY = "lang"  #: session state: the language of this run
PICKED_KEY = "lang_picked"  #: session state: the language the visitor picked with the switch
SWITCH_KEY = "lang_switch"  #: the switch widget's key

Text = str | Mapping[str, str]


@dataclass(frozen=True)
class Language:
    code: str  # "en", "ja": the module's name, the query parameter's value
    name: str  # in the language itself: "English", "日本語"
    texts: Mapping[str, Text]
    plural: Callable[[int], str]


def _load(module: ModuleType, code: str) -> Language:
    return Language(code, module.NAME, module.TEXTS, module.plural)


def _discover() -> dict[str, Language]:
    """Every module in :mod:`digitnet.app.locales`, English first, then by code."""
    found = {}
    for info in pkgutil.iter_modules(locales.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{locales.__name__}.{info.name}")
            found[info.name] = _load(module, info.name)
    return dict(sorted(found.items(), key=lambda kv: (kv[0] != DEFAULT, kv[0])))


LANGUAGES: dict[str, Language] = _discover()


# ---------------------------------------------------------------- looking texts up
def translate(lang: str, key: str, /, **fields: object) -> str:
    """The text ``key`` in language ``lang``, its fields filled in.

    Falls back to English for a language or key it does not know; raises
    :class:`KeyError` for a key English does not have (a typo in the code).
    """
    language = LANGUAGES.get(lang, LANGUAGES[DEFAULT])
    text = language.texts.get(key)
    if text is None:
        language = LANGUAGES[DEFAULT]
        text = language.texts[key]
    if not isinstance(text, str):
        count = fields.get("count")
        if not isinstance(count, int):
            raise TypeError(f"{key!r} has plural forms: pass count=<int>")
        text = text.get(language.plural(count)) or text["other"]
    return text.format(**fields) if fields else text


@dataclass(frozen=True)
class Message:
    """A text to show later: kept as its key and fields, so that it is written in the
    language of the page that shows it (a switch in between changes it too)."""

    key: str
    fields: Mapping[str, object]

    def __str__(self) -> str:
        return t(self.key, **self.fields)


def message(key: str, /, **fields: object) -> Message:
    return Message(key, fields)


def t(key: str, /, **fields: object) -> str:
    """The text ``key`` in the language of this page (see :func:`current`)."""
    return translate(current(), key, **fields)


def labeller(prefix: str) -> Callable[[object], str]:
    """A widget's ``format_func``: ``value`` -> the text ``<prefix><value>``, in this page's
    language (taken now: Streamlit may call it from another thread). A value with no text
    shows as itself (a choice the catalogue does not know yet, say)."""
    lang = current()

    def label(value: object) -> str:
        key = f"{prefix}{value}"
        return translate(lang, key) if key in LANGUAGES[DEFAULT].texts else str(value)

    return label


def join(*sentences: str) -> str:
    """Sentences one after another, as the page's language writes them: with a space in
    English, without one in Japanese (``app.join``)."""
    return t("app.join").join(s for s in sentences if s)


def listing(items: Sequence[str]) -> str:
    """Names in a list, as the page's language writes one: "a, b, c" or 「a、b、c」
    (``app.list``)."""
    return t("app.list").join(items)


def current() -> str:
    """The language of the page being drawn (English outside a Streamlit run)."""
    st = _streamlit()
    if st is None:
        return DEFAULT
    lang = st.session_state.get(LANG_KEY)
    return lang if lang in LANGUAGES else DEFAULT


def fields_of(text: str) -> set[str]:
    """The names of a template's fields: ``"{p:.1%} of {n:,}"`` -> ``{"p", "n"}``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# ---------------------------------------------------------------- choosing the language
def from_locale(locale: str | None) -> str | None:
    """The language for a browser's language tag (``"ja-JP"`` -> ``"ja"``), or None."""
    if not locale:
        return None
    primary = locale.replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else None


def choose(query: str | None, picked: str | None, locale: str | None) -> str:
    """The page's language: ``?lang=``, else the visitor's pick, else the browser's, else
    English. Values that name no language are ignored."""
    for lang in (query, picked):
        if lang in LANGUAGES:
            return lang
    return from_locale(locale) or DEFAULT


def setup() -> str:
    """Decide this run's language (call first thing in the script); returns it."""
    import streamlit as st

    query = st.query_params.get(QUERY)
    lang = choose(query, st.session_state.get(PICKED_KEY), st.context.locale)
    st.session_state[LANG_KEY] = lang
    return lang


def switch(on_switch: Callable[[str, str], None] | None = None) -> None:
    """The visible language switch (English / 日本語).

    Picking a language writes ``?lang=`` into the address (other query
    parameters are kept) and calls ``on_switch(old, new)`` before the page is
    drawn again, so that the page can carry over what depends on the language
    (the open tab's label, say).
    """
    import streamlit as st

    st.session_state[SWITCH_KEY] = current()
    st.segmented_control(
        t("app.language"),
        list(LANGUAGES),
        format_func=lambda code: LANGUAGES[code].name,
        key=SWITCH_KEY,
        required=True,
        on_change=_switched,
        args=(on_switch,),
        label_visibility="collapsed",
    )


#: Streamlit's own words that it offers no setting for (its file uploader's button and
#: size hint, a text box's "Press Enter to apply"), written over in the page's language:
#: the original text shrinks to nothing and the translation is drawn after it. Streamlit's
#: words are English; in English the page keeps them as they are.
_STREAMLIT_CSS = """
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p,
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="InputInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "%(upload)s"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "%(upload_limit)s"; font-size: 0.875rem; }
[data-testid="InputInstructions"] span::after { content: "%(press_enter)s"; font-size: 0.75rem; }
"""


def streamlit_css(upload_mb: int) -> str:
    """CSS that writes Streamlit's own words in the page's language ("" in English)."""
    if current() == DEFAULT:
        return ""

    def quoted(text: str) -> str:
        return text.replace("\\", "\\\\").replace('"', '\\"')

    words = {
        "upload": t("streamlit.upload"),
        "upload_limit": t("streamlit.upload_limit", mb=upload_mb),
        "press_enter": t("streamlit.press_enter"),
    }
    return _STREAMLIT_CSS % {k: quoted(v) for k, v in words.items()}


#: Sets the page's ``<html lang>``: screen readers then read it in its language's voice,
#: and the browser picks Japanese forms for kanji that Chinese fonts draw otherwise.
_LANG_JS = """
export default function (component) {
  const lang = (component.data || {}).lang;
  if (lang && document.documentElement.lang !== lang) document.documentElement.lang = lang;
}
"""
_lang_component = None


def mark_page() -> None:
    """Tell the browser the page's language (an invisible element; call once per run)."""
    import streamlit as st

    global _lang_component
    if _lang_component is None:  # declared once per process, inside a running app
        _lang_component = st.components.v2.component("digitnet_lang", js=_LANG_JS)
    _lang_component(key="page_lang", data={"lang": current()}, width="content", height="content")


def _switched(on_switch: Callable[[str, str], None] | None) -> None:
    import streamlit as st

    old, new = current(), st.session_state.get(SWITCH_KEY)
    if new not in LANGUAGES or new == old:
        return
    st.session_state[PICKED_KEY] = new
    st.session_state[LANG_KEY] = new
    st.query_params[QUERY] = new  # only this parameter: the others stay as they are
    if on_switch is not None:
        on_switch(old, new)


def _streamlit():
    """Streamlit, if a script run (or a callback) is going on in this thread; else None.

    Never imports Streamlit itself: outside an app (the CLI, a test of a pure
    function) the texts are English and Streamlit stays unloaded.
    """
    if "streamlit" not in sys.modules:
        return None
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    import streamlit as st

    return st
