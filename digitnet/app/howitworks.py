"""The "How it works" tab: the article's formulas, each beside the code that computes it.

Every formula (:data:`FORMULAS`) is rendered with ``st.latex`` next to the exact
lines of digitnet that implement it. The lines are read from the running code
with :mod:`inspect` and found by a piece of their text -- mostly the comments
already in :meth:`digitnet.model.MLP.backward` such as ``# δ_out = a_out − y``
-- so the page and the code cannot drift apart: if a comment is renamed,
``tests/test_app_explore.py`` fails (every formula must find its lines) and
the page says which lines it could not find instead of failing.

Below them, a live numerical gradient check of the model answering
(:func:`digitnet.explain.gradient_check`): backpropagation against finite
differences of the cost, in float64, on a few weights of every layer.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from .. import functions
from .. import model as model_module
from ..errors import DataError
from ..explain import gradient_check
from ..model import MLP
from ..optimizers import OPTIMIZERS, SGD
from . import i18n, state
from .i18n import t

ROOT = Path(model_module.__file__).resolve().parent.parent
ARTICLE_L2 = 0.01  #: the article's λ, for the check of a model trained without L2
CHECK_BATCH = 16  #: MNIST test digits in the gradient check's batch
CHECK_PER_LAYER = 3  #: weights, and as many biases, checked per layer
#: "Check other weights" draws among this many draws (of weights and digits), each checked
#: once per model and cost on the server: a page clicking it 50 times a second made a new
#: check every run, a quarter of a second apart (0.27 of a core).
CHECK_DRAWS = 16


@dataclass(frozen=True)
class Source:
    """Where a formula's code is: a function, and the text of its first and last lines."""

    where: Callable[..., Any]  # a function or method
    start: str  # a piece of text of the first line
    end: str | None = None  # ... of the last line (None: the first line only)
    extra: int = 0  # lines to add after the last one


@dataclass(frozen=True)
class Snippet:
    code: str
    path: str  # relative to the repository, e.g. digitnet/model.py
    first: int  # line numbers in that file
    last: int
    name: str  # e.g. MLP.backward


@dataclass(frozen=True)
class Formula:
    """A formula; its words are keys of the app's texts (:mod:`.i18n`)."""

    title: str
    latex: str  # ``\text{@name}`` is the text ``how.label.<name>``, in the page's language
    sources: tuple[Source, ...]
    text: str = ""  # what it means, under the formula
    differs: str = ""  # where the article's text and code disagree, if they do
    uses: str = ""  # "sigmoid", "relu", ...: highlighted when the model uses it
    title_fields: tuple[tuple[str, str], ...] = ()  # the title's fields, if it has any
    text_fields: Callable[[], dict] | None = None  # the text's, made in the page's language


def find_lines(source: Source) -> Snippet:
    """The lines of ``source.where`` from the one containing ``start`` to ``end``.

    Raises
    ------
    LookupError
        A piece of text is not found (renamed comment, moved code).
    """
    lines, first_no = inspect.getsourcelines(source.where)
    name = source.where.__qualname__
    try:
        i = next(k for k, line in enumerate(lines) if source.start in line)
    except StopIteration:
        raise LookupError(f"{name}: no line contains {source.start!r}") from None
    j = i
    if source.end is not None:
        try:
            j = next(k for k in range(i, len(lines)) if source.end in lines[k])
        except StopIteration:
            raise LookupError(f"{name}: no line after {source.start!r} contains "
                              f"{source.end!r}") from None  # fmt: skip
    j = min(len(lines) - 1, j + source.extra)
    path = Path(inspect.getsourcefile(source.where)).resolve()
    try:
        shown = path.relative_to(ROOT).as_posix()
    except ValueError:
        shown = path.name
    code = textwrap.dedent("".join(lines[i : j + 1])).rstrip()
    return Snippet(code, shown, first_no + i, first_no + j, name)


m = model_module
FORMULAS: tuple[Formula, ...] = (
    Formula(
        "how.forward.title",
        r"\begin{gathered} z^{(l+1)} = a^{(l)}\, W^{(l)} + b^{(l)} \\ "
        r"a^{(l+1)} = \phi\big(z^{(l+1)}\big), \qquad a^{(0)} = x \end{gathered}",
        (Source(m.MLP.forward_pass, "# z = a W + b", "# a = φ(z)"),),
        "how.forward.text",
    ),
    Formula(
        "how.sigmoid.title",
        r"\phi(z) = \frac{1}{1 + e^{-z}}",
        (Source(functions.sigmoid, "-limit", "return np.reciprocal(z"),),
        "how.sigmoid.text",
        differs="how.sigmoid.differs",
        uses="sigmoid",
    ),
    Formula(
        "how.sigmoid_derivative.title",
        r"\phi'(z) = \phi(z)\,\big(1 - \phi(z)\big) = a\,(1 - a)",
        (Source(functions.sigmoid_derivative, "return a * (1.0 - a)"),),
        "how.sigmoid_derivative.text",
        uses="sigmoid",
    ),
    Formula(
        "how.cost.title",
        r"\begin{aligned} J(W) = &\underbrace{-\sum_{i=1}^{n} \sum_{k=1}^{10} \Big[ y_k^{(i)} "
        r"\log a_k^{(i)} + \big(1 - y_k^{(i)}\big) \log\big(1 - a_k^{(i)}\big) \Big]}"
        r"_{\text{@cross_entropy}} \\ &+ \underbrace{\frac{\lambda}{2} \sum_{l} "
        r"\big\lVert W^{(l)} \big\rVert^2}_{\text{@penalty}} \end{aligned}",
        (
            Source(m.MLP.cost, "return functions.OUTPUTS[self.output].loss(self.logits(X), y)"),
            Source(
                functions.sigmoid_cross_entropy,
                "softplus = np.logaddexp",
                "return float(softplus.sum(",
            ),
            Source(m.MLP.l2_term, "return 0.5 * self.l2"),
        ),
        "how.cost.text",
        differs="how.cost.differs",
    ),
    Formula(
        "how.output_error.title",
        r"\delta^{(\mathrm{out})} = a^{(\mathrm{out})} - y",
        (
            Source(m.MLP.backward, "# δ_out = a_out − y"),
            Source(functions.output_error, "return a_out - Y"),
        ),
        "how.output_error.text",
    ),
    Formula(
        "how.hidden_error.title",
        r"\delta^{(l)} = \Big(\delta^{(l+1)}\, {W^{(l)}}^{\top}\Big) \odot \phi'\big(z^{(l)}\big)",
        (Source(m.MLP.backward, "# δ⁽ˡ⁾ = ", extra=1),),
        "how.hidden_error.text",
    ),
    Formula(
        "how.weight_gradient.title",
        r"\frac{\partial J}{\partial W^{(l)}} = {a^{(l)}}^{\top} \delta^{(l+1)} + \lambda W^{(l)}",
        (Source(m.MLP.backward, "# aᵀ δ", "# + λW"),),
        "how.weight_gradient.text",
    ),
    Formula(
        "how.bias_gradient.title",
        r"\frac{\partial J}{\partial b^{(l)}} = \sum_{i} \delta^{(l+1)}_{i}",
        (Source(m.MLP.backward, "# Σᵢ δ (biases: no L2)"),),
        "how.bias_gradient.text",
    ),
    Formula(
        "how.update.title",
        r"\begin{gathered} W^{(l)} := W^{(l)} - \eta\, \frac{\partial J}{\partial W^{(l)}} "
        r"\\ b^{(l)} := b^{(l)} - \eta\, \frac{\partial J}{\partial b^{(l)}} \end{gathered}",
        (Source(SGD._update, "p -= eta * g"),),
        "how.update.text",
        text_fields=lambda: {
            "optimizers": i18n.listing(
                [t(f"how.optimizer.{name}") for name in OPTIMIZERS if name != "sgd"]
            )
        },
    ),
)


def _body(function: Callable[..., Any]) -> Source:
    """The lines of ``function`` after its docstring."""
    lines = textwrap.dedent(inspect.getsource(function)).splitlines()
    node = ast.parse("\n".join(lines)).body[0]
    assert isinstance(node, ast.FunctionDef)
    statements = node.body[1:] if ast.get_docstring(node) else node.body
    first, last = lines[statements[0].lineno - 1].strip(), lines[node.end_lineno - 1].strip()
    return Source(function, first, None if last == first else last)


#: What the code of some of the other choices does beyond its formula (text keys).
NOTES = {"softmax": "how.softmax.text"}


#: Every other activation and output digitnet offers (:data:`digitnet.functions.ACTIVATIONS`
#: and :data:`~digitnet.functions.OUTPUTS`; the article's sigmoid is above), with its code.
def _other(name: str, title: str, latex: str, code: tuple[Callable[..., Any], ...],
           **title_fields: str) -> Formula:  # fmt: skip
    return Formula(title, latex, tuple(_body(f) for f in code), NOTES.get(name, ""), uses=name,
                   title_fields=tuple(title_fields.items()))  # fmt: skip


OTHER_FORMULAS: tuple[Formula, ...] = tuple(
    [
        _other(a.name, "how.activation_title", a.latex, (a.phi, a.derivative), label=a.label)
        for a in functions.ACTIVATIONS.values()
        if a.name != "sigmoid"
    ]
    + [
        _other(o.name, f"how.output.{o.name}", o.latex, (o.activation, o.loss))
        for o in functions.OUTPUTS.values()
        if o.name != "sigmoid"
    ]
)


def others_title() -> str:
    """The expander's title: the other activations and outputs, by name."""
    names = [a.label for a in functions.ACTIVATIONS.values() if a.name != "sigmoid"]
    names += [t(f"train.choice.output.{name}") for name in functions.OUTPUTS if name != "sigmoid"]
    return t("how.others", names=i18n.listing(names))


def render() -> None:
    """The whole tab (only run while it is the open tab)."""
    who = state.answering_model()
    st.markdown("#### " + t("how.heading"))
    st.caption(t("how.intro"))
    # A long formula scrolls sideways in its own box on a phone, not the page.
    st.html("<style>.katex-display { overflow-x: auto; overflow-y: hidden; }</style>")
    used = _used(who.model)
    for number, formula in enumerate(FORMULAS, start=1):
        show_formula(formula, number, used)
    others = {f.uses for f in OTHER_FORMULAS}
    with st.expander(others_title(), expanded=bool(used & others)):
        for formula in OTHER_FORMULAS:
            show_formula(formula, None, used)
    if who.model is not None:
        check_section(who.model, who.description)


def _used(model: MLP | None) -> set[str]:
    return set() if model is None else {model.activation, model.output}


def show_formula(formula: Formula, number: int | None, used: set[str]) -> None:
    with st.container(border=True):
        title = t(formula.title, **dict(formula.title_fields))
        title = f"**{number}. {title}**" if number else f"**{title}**"
        if formula.uses and formula.uses in used:
            title += " · " + t("how.used")
        st.markdown(title)
        st.latex(latex(formula.latex))
        if formula.text:
            st.caption(t(formula.text, **(formula.text_fields() if formula.text_fields else {})))
        for source in formula.sources:
            try:
                s = find_lines(source)
            except (LookupError, OSError, TypeError) as e:
                st.warning(t("how.not_found", error=e))
                continue
            st.code(s.code, language="python", wrap_lines=True)
            where = "how.line" if s.first == s.last else "how.lines"
            st.caption(t(where, path=s.path, first=s.first, last=s.last, name=s.name))
        if formula.differs:
            st.info(t(formula.differs), icon=":material/compare_arrows:")


def latex(formula: str) -> str:
    """A formula with its words (``\\text{@name}``) in the page's language.

    Words inside a formula go in ``\\text{}``: KaTeX sets them as text (in the page's
    fonts, Japanese included) instead of warning about letters it has no math font for.
    """
    return re.sub(r"\\text\{@(\w+)\}", lambda m: r"\text{" + t(f"how.label.{m[1]}") + "}", formula)


# ---------------------------------------------------------------- gradient check
def check_section(model: MLP, description: str) -> None:
    st.markdown("#### " + t("how.check.heading"))
    st.caption(t("how.check.intro", batch=CHECK_BATCH, model=description))
    article = st.toggle(
        t("how.check.article"), key="check_article_cost", help=t("how.check.article_help")
    )
    if st.button(t("how.check.again"), key="check_again", icon=":material/casino:"):
        st.session_state[state.CHECK_SEED_KEY] = st.session_state.get(state.CHECK_SEED_KEY, 0) + 1
    seed = st.session_state.get(state.CHECK_SEED_KEY, 0) % CHECK_DRAWS
    l2 = (model.l2 or ARTICLE_L2) if article else None
    images, labels, source = _check_batch(seed)
    rows = _check(state.model_key(model), model, images, labels, seed, l2, article)
    worst = max(r.relative_error for r in rows)
    lam = model.l2 if l2 is None else l2
    table = pd.DataFrame(
        {
            t("how.check.parameter"): [
                f"{r.param}{_sup(r.layer)}[{', '.join(map(str, r.index))}]" for r in rows
            ],
            t("how.check.backprop"): [f"{r.analytic:.6e}" for r in rows],
            t("how.check.differences"): [f"{r.numerical:.6e}" for r in rows],
            t("how.check.relative_error"): [f"{r.relative_error:.1e}" for r in rows],
        }
    )
    st.dataframe(table, hide_index=True, key="check_table")
    said = t(
        "how.check.lambda_article" if article and not model.l2 else "how.check.lambda", lam=lam
    )
    st.caption(t("how.check.caption", lam=said, batch=source))
    if worst < 1e-5:
        st.success(t("how.check.right", worst=worst), icon=":material/check_circle:")
    elif worst < 1e-3:
        st.info(t("how.check.rounding", worst=worst))
    else:
        st.error(
            t("how.check.wrong_article" if article else "how.check.wrong", worst=worst),
            icon=":material/error:",
        )


def _check_batch(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """CHECK_BATCH MNIST test digits chosen by ``seed``; random pixels if MNIST is missing."""
    rng = np.random.default_rng(seed)
    try:
        X, y = state.test_data(lambda *_: None)
    except DataError:
        images = rng.integers(0, 256, (CHECK_BATCH, 28, 28), dtype=np.uint8)
        return images, rng.integers(0, 10, CHECK_BATCH), t("how.check.random_pixels")
    idx = np.sort(rng.choice(len(X), CHECK_BATCH, replace=False))
    return X[idx], y[idx], t("how.check.test_digits", first=", ".join(f"#{i}" for i in idx[:4]))


@st.cache_data(show_spinner=False, max_entries=4 * CHECK_DRAWS)
def _check(key: str, _model: MLP, _images, _labels, seed: int, l2, article: bool):
    """The check's rows, once per model, weights drawn and cost (the batch follows seed)."""
    return gradient_check(
        _model, _images, _labels, per_layer=CHECK_PER_LAYER, seed=seed, l2=l2,
        cost_l2_factor=1.0 if article else 0.5,
    )  # fmt: skip


def _sup(n: int) -> str:
    """``1`` -> ``⁽¹⁾``: a layer index, as in W⁽¹⁾."""
    return "⁽" + str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"
