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
from . import state

ROOT = Path(model_module.__file__).resolve().parent.parent
ARTICLE_L2 = 0.01  #: the article's λ, for the check of a model trained without L2
CHECK_BATCH = 16  #: MNIST test digits in the gradient check's batch
CHECK_PER_LAYER = 3  #: weights, and as many biases, checked per layer


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
    title: str
    latex: str
    sources: tuple[Source, ...]
    text: str = ""  # what it means, under the formula
    differs: str = ""  # where the article's text and code disagree, if they do
    uses: str = ""  # "sigmoid", "relu", ...: highlighted when the model uses it


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
        "The forward pass",
        r"\begin{gathered} z^{(l+1)} = a^{(l)}\, W^{(l)} + b^{(l)} \\ "
        r"a^{(l+1)} = \phi\big(z^{(l+1)}\big), \qquad a^{(0)} = x \end{gathered}",
        (Source(m.MLP.forward_pass, "# z = a W + b", "# a = φ(z)"),),
        "Each layer multiplies the previous layer's activations by its weights, adds its "
        "biases and applies the activation φ. A minibatch is a matrix with one image per "
        "row, so one matrix product serves every image at once.",
    ),
    Formula(
        "The sigmoid activation",
        r"\phi(z) = \frac{1}{1 + e^{-z}}",
        (Source(functions.sigmoid, "-limit", "return np.reciprocal(z"),),
        "Computed in place, one step at a time: clip (as the article, so that e^−z "
        "cannot overflow), negate, exponentiate, add 1, invert.",
        differs="One formula printed in the article writes the sigmoid as "
        "1 / (1 + e^z), without the minus sign. The sigmoid is 1 / (1 + e^−z), which "
        "is what the article's code and digitnet compute (`np.negative` before `np.exp`).",
        uses="sigmoid",
    ),
    Formula(
        "The sigmoid's derivative",
        r"\phi'(z) = \phi(z)\,\big(1 - \phi(z)\big) = a\,(1 - a)",
        (Source(functions.sigmoid_derivative, "return a * (1.0 - a)"),),
        "Written through the activation a = φ(z), which the forward pass has already "
        "computed: backpropagation needs no z.",
        uses="sigmoid",
    ),
    Formula(
        "The cost J(W)",
        r"\begin{aligned} J(W) = &-\sum_{i=1}^{n} \sum_{k=1}^{10} \Big[ y_k^{(i)} "
        r"\log a_k^{(i)} \\ &+ \big(1 - y_k^{(i)}\big) \log\big(1 - a_k^{(i)}\big) \Big] "
        r"\\ &+ \frac{\lambda}{2} \sum_{l} \big\lVert W^{(l)} \big\rVert^2 \end{aligned}",
        (
            Source(m.MLP.cost, "return functions.OUTPUTS[self.output].loss(self.logits(X), y)"),
            Source(
                functions.sigmoid_cross_entropy,
                "softplus = np.logaddexp",
                "return float(softplus.sum(",
            ),
            Source(m.MLP.l2_term, "return 0.5 * self.l2"),
        ),
        "The binary cross-entropy of the ten sigmoid outputs against the one-hot label, "
        "summed over the images, plus the L2 penalty on the weights (not the biases). "
        "digitnet computes the cross-entropy from z, as softplus(z) − y·z, which is the "
        "same number but stays finite when a unit saturates.",
        differs="The article's text has λ/2 in the cost; its code computes the penalty "
        "without the ½, yet updates the weights with λW, the gradient of λ/2·‖W‖². "
        "digitnet keeps the ½, so that the cost and its gradient agree: the gradient "
        "check below shows what happens with the code's λ.",
    ),
    Formula(
        "The output layer's error",
        r"\delta^{(\mathrm{out})} = a^{(\mathrm{out})} - y",
        (
            Source(m.MLP.backward, "# δ_out = a_out − y"),
            Source(functions.output_error, "return a_out - Y"),
        ),
        "With sigmoid outputs and this cost (or softmax outputs and cross-entropy) the "
        "derivative of J with respect to the output's z is simply the output minus the "
        "one-hot label.",
    ),
    Formula(
        "A hidden layer's error",
        r"\delta^{(l)} = \Big(\delta^{(l+1)}\, {W^{(l)}}^{\top}\Big) \odot \phi'\big(z^{(l)}\big)",
        (Source(m.MLP.backward, "# δ⁽ˡ⁾ = ", extra=1),),
        "The error flows back through the same weights, transposed, and is scaled by the "
        "slope of each hidden unit's activation (⊙: element by element).",
    ),
    Formula(
        "The gradient of the weights",
        r"\frac{\partial J}{\partial W^{(l)}} = {a^{(l)}}^{\top} \delta^{(l+1)} + \lambda W^{(l)}",
        (Source(m.MLP.backward, "# aᵀ δ", "# + λW"),),
        "Summed over the minibatch by the matrix product, as in the article, plus the L2 "
        "term's gradient.",
    ),
    Formula(
        "The gradient of the biases",
        r"\frac{\partial J}{\partial b^{(l)}} = \sum_{i} \delta^{(l+1)}_{i}",
        (Source(m.MLP.backward, "# Σᵢ δ (biases: no L2)"),),
        "The biases are not penalised.",
    ),
    Formula(
        "The update",
        r"\begin{gathered} W^{(l)} := W^{(l)} - \eta\, \frac{\partial J}{\partial W^{(l)}} "
        r"\\ b^{(l)} := b^{(l)} - \eta\, \frac{\partial J}{\partial b^{(l)}} \end{gathered}",
        (Source(SGD._update, "p -= eta * g"),),
        "Plain gradient descent with learning rate η, in place, for every weight matrix "
        "and bias vector (`digitnet.optimizers` also has "
        + ", ".join(o.label for o in OPTIMIZERS.values() if o.name != "sgd")
        + ").",
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


#: What the code of some of the other choices does beyond its formula.
NOTES = {
    "softmax": "Shifted by the largest z so that exp never overflows. With cross-entropy, "
    "the output error is again a − y: the same backward pass serves both.",
}


#: Every other activation and output digitnet offers (:data:`digitnet.functions.ACTIVATIONS`
#: and :data:`~digitnet.functions.OUTPUTS`; the article's sigmoid is above), with its code.
def _other(name: str, title: str, latex: str, code: tuple[Callable[..., Any], ...]) -> Formula:
    return Formula(title, latex, tuple(_body(f) for f in code), NOTES.get(name, ""), uses=name)


OTHER_FORMULAS: tuple[Formula, ...] = tuple(
    [
        _other(a.name, f"{a.label} and its derivative", a.latex, (a.phi, a.derivative))
        for a in functions.ACTIVATIONS.values()
        if a.name != "sigmoid"
    ]
    + [
        _other(o.name, o.label[0].upper() + o.label[1:], o.latex, (o.activation, o.loss))
        for o in functions.OUTPUTS.values()
        if o.name != "sigmoid"
    ]
)
OTHERS_TITLE = "Other activations and outputs digitnet offers: " + ", ".join(
    [a.label for a in functions.ACTIVATIONS.values() if a.name != "sigmoid"]
    + [o.name for o in functions.OUTPUTS.values() if o.name != "sigmoid"]
)


def render() -> None:
    """The whole tab (only run while it is the open tab)."""
    who = state.answering_model()
    st.markdown("#### The article's formulas, and the code that computes them")
    st.caption(
        "Each formula is shown with the lines of digitnet that compute it, read from the "
        "code running this page, with their file and line numbers. Notation: a layer's "
        "weights W have one row per input and one column per unit; a minibatch has one "
        "image per row."
    )
    # A long formula scrolls sideways in its own box on a phone, not the page.
    st.html("<style>.katex-display { overflow-x: auto; overflow-y: hidden; }</style>")
    used = _used(who.model)
    for number, formula in enumerate(FORMULAS, start=1):
        show_formula(formula, number, used)
    others = {f.uses for f in OTHER_FORMULAS}
    with st.expander(OTHERS_TITLE, expanded=bool(used & others)):
        for formula in OTHER_FORMULAS:
            show_formula(formula, None, used)
    if who.model is not None:
        check_section(who.model, who.description)


def _used(model: MLP | None) -> set[str]:
    return set() if model is None else {model.activation, model.output}


def show_formula(formula: Formula, number: int | None, used: set[str]) -> None:
    with st.container(border=True):
        title = f"**{number}. {formula.title}**" if number else f"**{formula.title}**"
        if formula.uses and formula.uses in used:
            title += " · used by the model answering"
        st.markdown(title)
        st.latex(formula.latex)
        if formula.text:
            st.caption(formula.text)
        for source in formula.sources:
            try:
                s = find_lines(source)
            except (LookupError, OSError, TypeError) as e:
                st.warning(f"The code of this formula was not found ({e}).")
                continue
            st.code(s.code, language="python", wrap_lines=True)
            lines = f"line {s.first}" if s.first == s.last else f"lines {s.first}–{s.last}"
            st.caption(f"`{s.path}`, {lines}, in `{s.name}`")
        if formula.differs:
            st.info(formula.differs, icon=":material/compare_arrows:")


# ---------------------------------------------------------------- gradient check
def check_section(model: MLP, description: str) -> None:
    st.markdown("#### Is the gradient right? A numerical check")
    st.caption(
        "Backpropagation's derivative of J for a few weights and biases of every layer, "
        "against the slope of J measured directly: J(w + ε) − J(w − ε), divided by 2ε. "
        f"On {CHECK_BATCH} MNIST test digits, in float64 on a float64 copy of "
        f"{description} (in float32 the differences of J would be mostly rounding)."
    )
    article = st.toggle(
        "Use the cost of the article's code (λ·Σ‖W‖², without the ½)",
        key="check_article_cost",
        help="The article's code computes the penalty without the ½ but updates with λW: "
        "the cost and the update then disagree, and this check shows it.",
    )
    if st.button("Check other weights", key="check_again", icon=":material/casino:"):
        st.session_state[state.CHECK_SEED_KEY] = st.session_state.get(state.CHECK_SEED_KEY, 0) + 1
    seed = st.session_state.get(state.CHECK_SEED_KEY, 0)
    l2 = (model.l2 or ARTICLE_L2) if article else None
    images, labels, source = _check_batch(seed)
    rows = _check(state.model_key(model), model, images, labels, seed, l2, article)
    worst = max(r.relative_error for r in rows)
    lam = model.l2 if l2 is None else l2
    table = pd.DataFrame(
        {
            "parameter": [
                f"{r.param}{_sup(r.layer)}[{', '.join(map(str, r.index))}]" for r in rows
            ],
            "backpropagation": [f"{r.analytic:.6e}" for r in rows],
            "finite differences": [f"{r.numerical:.6e}" for r in rows],
            "relative error": [f"{r.relative_error:.1e}" for r in rows],
        }
    )
    st.dataframe(table, hide_index=True, key="check_table")
    st.caption(
        f"λ = {lam:g}{' (the article’s: the model has no L2)' if article and not model.l2 else ''}"
        f"; ε = 1e-4; the batch: {source}. Relative error: |backprop − differences| / the "
        "larger of the two. Layer 0 connects the pixels to the first hidden layer."
    )
    if worst < 1e-5:
        st.success(
            f"Largest relative error {worst:.1e}: backpropagation computes the gradient of J.",
            icon=":material/check_circle:",
        )
    elif worst < 1e-3:
        st.info(
            f"Largest relative error {worst:.1e}: they agree to rounding. (A ReLU whose "
            "input is within ε of 0 bends inside the difference, which costs digits.)"
        )
    else:
        st.error(
            f"Largest relative error {worst:.1e}: the derivative of this cost is not "
            "what the backward pass computes."
            + (
                " The cost has λ·Σ‖W‖², whose gradient is 2λW, but the update uses λW: "
                "the weights are off, the biases (no penalty) still agree."
                if article
                else ""
            ),
            icon=":material/error:",
        )


def _check_batch(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """CHECK_BATCH MNIST test digits chosen by ``seed``; random pixels if MNIST is missing."""
    rng = np.random.default_rng(seed)
    try:
        X, y = state.test_data(lambda *_: None)
    except DataError:
        images = rng.integers(0, 256, (CHECK_BATCH, 28, 28), dtype=np.uint8)
        return images, rng.integers(0, 10, CHECK_BATCH), "random pixels (MNIST is not here)"
    idx = np.sort(rng.choice(len(X), CHECK_BATCH, replace=False))
    return X[idx], y[idx], f"test digits {', '.join(f'#{i}' for i in idx[:4])}, …"


@st.cache_data(show_spinner=False, max_entries=32)
def _check(key: str, _model: MLP, _images, _labels, seed: int, l2, article: bool):
    """The check's rows, once per model, weights drawn and cost (the batch follows seed)."""
    return gradient_check(
        _model, _images, _labels, per_layer=CHECK_PER_LAYER, seed=seed, l2=l2,
        cost_l2_factor=1.0 if article else 0.5,
    )  # fmt: skip


def _sup(n: int) -> str:
    """``1`` -> ``⁽¹⁾``: a layer index, as in W⁽¹⁾."""
    return "⁽" + str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"
