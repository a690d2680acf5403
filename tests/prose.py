"""Is there English prose left in a Japanese text? And every text of an AppTest page.

:func:`english_words` lists the English words of a text that is meant to be in another
language, after taking out what may stay in Latin letters: code (`` `...` `` spans,
identifiers, file names, URLs), formulas (``$...$``, ``$$...$$``, LaTeX: only the
words inside ``\\text{}`` count), template fields (``{p:.1%}``), numbers and words with
digits (float32, L2, 784-100-10), single letters (the formulas' variables), and the
names in :data:`ALLOWED` (MNIST, NumPy, ReLU, Adam, ...). Any other word of two letters
or more is English left untranslated: the check is strict on purpose, so a stray
"epoch" or "Stop" fails as surely as a whole sentence.

:func:`page_texts` collects every string an AppTest page shows: element bodies,
labels, help texts, options, captions, metric values, tab and expander labels,
dataframe headers and cells, and what Vega-Lite charts write (titles, axis titles,
tooltips, legend and axis labels); never code blocks, ids, icons or styles.
"""

from __future__ import annotations

import json
import re

#: Words that stay in Latin letters in a Japanese text: names, acronyms, units, the
#: library's identifiers shown as values (presets, activations), and "English" (the
#: language switch names each language in itself).
ALLOWED = frozenset(
    (
        *("MNIST", "NumPy", "Python", "ReLU", "Adam", "SGD", "Nesterov", "RMSprop", "Xavier"),
        *("He", "tanh", "sigmoid", "softmax", "relu", "BCE", "Raschka", "UCI", "digitnet"),
        *(
            "Streamlit",
            "KaTeX",
            "CLI",
            "CPU",
            "BLAS",
            "JSON",
            "ID",
            "px",
            "MB",
            "kB",
            "ms",
            "Ctrl",
            "Enter",
        ),
        *("GB", "seed", "fast", "best", "English"),
        *(
            "NPZ",
            "PNG",
            "one-hot",
            "softplus",
            "exp",
            "NaN",
        ),  # written so in Japanese textbooks too
    )
)

_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LATEX_BLOCK = re.compile(r"\$\$(.*?)\$\$", re.S)
_LATEX_INLINE = re.compile(r"\$([^$\n]+)\$")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|textrm|mbox)\{([^{}]*)\}")
_FIELD = re.compile(r"\{[A-Za-z_][^{}]*\}")
_URL = re.compile(r"https?://\S+")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_CODEISH = re.compile(
    r"\S*\.(?:npz|py|png|json|gz|md|toml)\b"  # file names
    r"|\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b"  # dotted names: digitnet.finetune, st.cache
    r"|\b\w*_\w*\b"  # snake_case identifiers
    r"|(?<!\S)--?[a-z][\w-]*"  # command-line options
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’-][A-Za-z0-9]+)*")


def _latex_words(latex: str) -> str:
    return " ".join(_TEXT_CMD.findall(latex))


def english_words(text: str, *, template: bool = False, latex: bool = False) -> list[str]:
    """The English words in ``text`` (see the module's docstring); [] if there are none.

    ``template``: ``text`` is a catalogue template, its ``{fields}`` are not words.
    ``latex``: ``text`` is a formula (as ``st.latex`` takes): only ``\\text{}`` counts.
    """
    if latex:
        text = _latex_words(text)
    else:
        text = _FENCE.sub(" ", text)
        text = _LATEX_BLOCK.sub(lambda m: " " + _latex_words(m.group(1)) + " ", text)
        text = _LATEX_INLINE.sub(lambda m: " " + _latex_words(m.group(1)) + " ", text)
        text = _CODE.sub(" ", text)
    if template:
        text = _FIELD.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = re.sub(r":material/\w+:", " ", text)
    text = _CODEISH.sub(" ", text)
    words = []
    for word in _WORD.findall(text):
        if len(word) == 1 or any(c.isdigit() for c in word) or word in ALLOWED:
            continue
        words.append(word)
    return words


# ---------------------------------------------------------------- an AppTest page's texts
#: Proto fields that never hold words for the visitor.
_SKIP_FIELDS = frozenset(
    (
        *("id", "form_id", "icon", "type", "format", "url", "language", "code_text"),
        *("component_name", "css_content", "css_source_path", "js_content", "js_source_path"),
        *("html_content", "json", "selection_mode", "theme", "deferred_file_id", "name"),
        *("mimetype", "file_name", "columns"),
    )
)


def _strings(msg, skip=_SKIP_FIELDS):
    from google.protobuf.message import Message

    for field, value in msg.ListFields():
        if field.name in skip:
            continue
        for v in list(value) if field.is_repeated else [value]:
            if isinstance(v, Message):
                yield from _strings(v, skip)
            elif isinstance(v, str):
                yield field.name, v


def _arrow_table(data: bytes) -> dict[str, list]:
    import pyarrow as pa

    if not data:
        return {}
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _chart_texts(spec: dict, data: dict[str, list]) -> list[str]:
    """What a Vega-Lite chart writes: titles, axis titles and labels, tooltips, legends."""
    out: list[str] = []

    def title(value) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and isinstance(value.get("text"), str):
            out.append(value["text"])
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))

    def values(field) -> None:
        out.extend(v for v in data.get(field, []) if isinstance(v, str))

    def channel(name: str, d) -> None:
        if isinstance(d, list):  # tooltip: a list of field definitions
            for item in d:
                channel(name, item)
            return
        if not isinstance(d, dict):
            return
        field = d.get("field")
        if isinstance(field, dict):  # {"repeat": ...}
            field = None
        title(d.get("title"))
        if name == "tooltip":
            if field and "title" not in d:
                out.append(field)  # a tooltip names its field when it has no title
            if field:
                values(field)
            return
        guide_name = "axis" if name in ("x", "y", "x2", "y2", "row", "column") else "legend"
        if name in ("x", "y", "x2", "y2", "row", "column", "color", "fill", "stroke",
                    "strokeDash", "shape", "size", "opacity"):  # fmt: skip
            guide = d.get(guide_name, {})
            if guide is None:  # no axis, no legend: nothing of it is written
                return
            guide = guide if isinstance(guide, dict) else {}
            title(guide.get("title"))
            if field and "title" not in d and "title" not in guide:
                out.append(field)  # the guide's title: the field's name
            if "values" in guide:  # only these are written
                out.extend(v for v in guide["values"] if isinstance(v, str))
            elif field and (guide_name == "legend" or d.get("type") in ("nominal", "ordinal")):
                values(field)
        elif name == "text":
            if field:
                values(field)
            if isinstance(d.get("value"), str):
                out.append(d["value"])
        for sub in ("condition",):
            if isinstance(d.get(sub), (dict, list)):
                channel(name, d[sub])

    def visit(view) -> None:  # a view: the spec, or one of its layers or concatenations
        if isinstance(view, list):
            for item in view:
                visit(item)
            return
        if not isinstance(view, dict):
            return
        title(view.get("title"))
        for name, d in (view.get("encoding") or {}).items():
            channel(name, d)
        mark = view.get("mark")
        if isinstance(mark, dict) and isinstance(mark.get("text"), str):
            out.append(mark["text"])
        for key in ("layer", "hconcat", "vconcat", "concat", "spec"):
            visit(view.get(key))

    visit(spec)
    if isinstance(spec.get("description"), str):  # what a screen reader says the chart is
        out.append(spec["description"])
    return out


def _chart_data(proto, spec: dict) -> dict[str, list]:
    """Every column of the chart's data (given to st.vega_lite_chart, or inline in the spec)."""
    data: dict[str, list] = {}
    if proto.HasField("data"):
        data.update(_arrow_table(proto.data.data))
    for dataset in proto.datasets:
        for k, v in _arrow_table(dataset.data.data).items():
            data.setdefault(k, []).extend(v)
    for rows in (spec.get("datasets") or {}).values():
        for row in rows:
            for k, v in row.items():
                data.setdefault(k, []).append(v)
    return data


def page_texts(at) -> list[tuple[str, str, str]]:
    """``(where, kind, text)`` for every text the AppTest page ``at`` shows.

    ``where`` is the open tab's label path ("" outside the tabs); ``kind`` is
    "text", "latex" (a formula: only its ``\\text{}`` is prose) or "chart".
    """
    found: list[tuple[str, str, str]] = []

    def walk(node, where: str) -> None:
        proto = getattr(node, "proto", None)
        kind = type(node).__name__
        if proto is not None:
            if kind in ("Code", "Html"):
                pass
            elif kind == "Latex":
                found.append((where, "latex", proto.body.strip().strip("$")))
            elif hasattr(proto, "spec") and proto.spec:  # a Vega-Lite chart
                spec = json.loads(proto.spec)
                for text in _chart_texts(spec, _chart_data(proto, spec)):
                    found.append((where, "chart", text))
            elif kind == "Dataframe":
                frame = node.value
                for column in frame.columns:
                    found.append((where, "text", str(column)))
                    found.extend((where, "text", c) for c in frame[column] if isinstance(c, str))
            else:
                for _, text in _strings(proto):
                    found.append((where, "text", text))
        inside = node.label if kind == "Tab" else where  # a tab's own label is outside it
        for child in getattr(node, "children", {}).values():
            walk(child, inside)

    walk(at._tree, "")
    return found


def english_on_page(at) -> list[tuple[str, str, list[str]]]:
    """``(where, text, english words)`` for every text of the page with English in it."""
    out = []
    for where, kind, text in page_texts(at):
        words = english_words(text, latex=kind == "latex")
        if words:
            out.append((where, text, words))
    return out
