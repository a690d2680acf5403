"""The app in English and Japanese: the catalogues, the choice of language, the switch.

The catalogues (``digitnet/app/locales/*.py``) must be complete in every language,
with the same fields in each text, and the Japanese texts must hold no English
(``prose.english_words``). The page in AppTest: the browser's language chooses,
``?lang=`` wins, and the switch changes the words but keeps the open tab, the
drawing, the runs and every other query parameter.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from app_support import (
    LEAD_IN_ONE,
    ONE,
    SEVEN,
    canvas_value,
    runner_up,
    start_fast,
    training_charts,
    wait,
)
from prose import english_on_page, english_words

from digitnet.app import i18n

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "digitnet" / "app"
EN = i18n.LANGUAGES["en"]
JA = i18n.LANGUAGES["ja"]


def forms(text) -> dict[str, str]:
    return {"other": text} if isinstance(text, str) else dict(text)


# ---------------------------------------------------------------- the catalogues
def test_languages_are_found_by_themselves():
    assert list(i18n.LANGUAGES)[:1] == ["en"]
    assert {"en", "ja"} <= set(i18n.LANGUAGES)
    assert JA.name == "日本語" and EN.name == "English"


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != "en"])
def test_every_language_has_every_key_with_the_same_fields(code):
    lang = i18n.LANGUAGES[code]
    missing = sorted(set(EN.texts) - set(lang.texts))
    extra = sorted(set(lang.texts) - set(EN.texts))
    assert not missing, f"{code} lacks {missing}"
    assert not extra, f"{code} has keys English does not: {extra}"
    for key, text in EN.texts.items():
        en, other = forms(text), forms(lang.texts[key])
        assert "other" in other, f"{code}:{key} has no 'other' form"
        want = i18n.fields_of(en["other"])
        for form, template in other.items():
            got = i18n.fields_of(template)
            if form == "other":
                assert got == want, f"{code}:{key} has fields {got}, English {want}"
            else:  # e.g. English "one" may leave out {count}
                assert got <= want, f"{code}:{key} ({form}) has fields {got - want} of its own"
        if not isinstance(text, str) or not isinstance(lang.texts[key], str):
            assert "count" in want, f"{key}: plural forms are chosen by a {{count}} field"


def test_every_text_is_a_valid_template():
    for code, lang in i18n.LANGUAGES.items():
        for key, text in lang.texts.items():
            for form, template in forms(text).items():
                fields = {name: 1 for name in i18n.fields_of(template)}
                try:
                    template.format(**fields)
                except (ValueError, KeyError, IndexError) as e:
                    pytest.fail(f"{code}:{key} ({form}) is not a valid template: {e}")


def test_japanese_texts_hold_no_english():
    found = {}
    for key, text in JA.texts.items():
        for template in forms(text).values():
            words = english_words(template, template=True, latex=key.endswith(".latex"))
            if words:
                found[key] = words
    assert not found, f"English left in the Japanese catalogue: {found}"


def test_the_english_check_finds_english_and_lets_names_and_code_be():
    assert english_words("The network read **7**.") == ["The", "network", "read"]
    assert english_words("エポック数: epochs") == ["epochs"]
    assert english_words("停止 Stop") == ["Stop"]
    assert english_words("MNIST のテスト 10,000 枚で 97.16%、NumPy で ReLU と Adam") == []
    assert english_words("`python -m digitnet train --out FILE` で保存したファイル") == []
    assert english_words("重みは `digitnet.finetune.finetune` で、float32、784-100-10、L2") == []
    assert english_words(r"$z = a W + b$ と $$J(W) = \text{cost}$$") == ["cost"]
    assert english_words(r"\underbrace{x}_{\text{交差エントロピー}}", latex=True) == []
    assert english_words(r"\underbrace{x}_{\text{cross-entropy}}", latex=True) == ["cross-entropy"]
    assert english_words("確率 {p:.1%}、{label} と読みました", template=True) == []


def _keys_in_code() -> tuple[set[str], set[str], set[str]]:
    """What the app's code says of the texts: the keys it passes to ``t()`` (literally),
    every string constant in it (a key kept in a table, like a formula's title), and the
    fixed starts of keys it builds (``t(f"tab.{name}")``)."""
    asked, constants, prefixes = set(), set(), set()
    for path in APP_DIR.rglob("*.py"):
        if "locales" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                first = node.values[0]
                if isinstance(first, ast.Constant) and first.value:
                    prefixes.add(first.value)
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                first = node.args[0]
                if name == "labeller" and isinstance(first, ast.Constant):
                    prefixes.add(first.value)  # labeller("explore.units.by_")
                arg = {"t": node.args[0], "translate": node.args[1:2]}.get(name)
                arg = arg[0] if isinstance(arg, list) and arg else arg
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    asked.add(arg.value)
    return asked, constants, prefixes


def test_every_key_the_code_names_exists_and_every_text_is_used():
    asked, constants, prefixes = _keys_in_code()
    unknown = sorted(k for k in asked if k not in EN.texts)
    assert not unknown, f"the code asks for texts English does not have: {unknown}"
    unused = sorted(
        k for k in EN.texts if k not in constants and not any(k.startswith(p) for p in prefixes)
    )
    assert not unused, f"texts no code asks for (left over?): {unused}"


def test_translate_fills_fields_chooses_plurals_and_falls_back():
    assert i18n.translate("en", "tab.train") == "Train"
    assert i18n.translate("ja", "tab.train") == JA.texts["tab.train"]
    assert i18n.translate("xx", "tab.train") == "Train"  # unknown language: English
    with pytest.raises(KeyError):
        i18n.translate("en", "no.such.key")
    assert i18n.t("tab.draw") == "Draw"  # outside a Streamlit run: English


# ---------------------------------------------------------------- choosing the language
@pytest.mark.parametrize(
    ("query", "picked", "locale", "want"),
    [
        (None, None, None, "en"),
        (None, None, "ja", "ja"),
        (None, None, "ja-JP", "ja"),
        (None, None, "en-US", "en"),
        (None, None, "fr-FR", "en"),  # no French: English
        (None, "ja", "en-US", "ja"),  # the visitor's pick beats the browser
        ("en", "ja", "ja-JP", "en"),  # ?lang= beats both
        ("ja", None, "en-GB", "ja"),
        ("xx", None, "ja-JP", "ja"),  # a ?lang= that names no language is ignored
        ("", "en", "ja-JP", "en"),
    ],
)
def test_choose(query, picked, locale, want):
    assert i18n.choose(query, picked, locale) == want


# ---------------------------------------------------------------- the page
def _page(apps, *, locale=None, query=None, tab=None):
    return apps(tab, locale=locale, query=query)


def _switch(at):
    return next(w for w in at.get("button_group") if w.id.endswith(i18n.SWITCH_KEY))


def _tab_labels(at):
    return [tab.label for tab in at.tabs]


def test_the_browser_language_chooses_and_the_query_parameter_wins(apps):
    ja = [JA.texts[f"tab.{n}"] for n in ("draw", "explore", "how", "train")]
    en = ["Draw", "Explore", "How it works", "Train"]
    assert _tab_labels(_page(apps, locale="ja-JP")) == ja
    assert _tab_labels(_page(apps, locale="en-US")) == en
    assert _tab_labels(_page(apps)) == en  # no locale sent: English
    assert _tab_labels(_page(apps, locale="ja-JP", query={"lang": "en"})) == en
    assert _tab_labels(_page(apps, locale="en-US", query={"lang": "ja"})) == ja
    at = _page(apps, locale="ja")
    assert _switch(at).value == "ja"
    assert at.caption[0].value == JA.texts["app.tagline"]


def test_the_switch_changes_the_words_and_keeps_the_tab_and_other_parameters(apps):
    at = _page(apps, locale="en-US", query={"preset": "seed", "eta": "0.01"})
    at.session_state["tab"] = "How it works"
    at.run()
    before = dict(at.query_params)  # the link to a setting (issue 16), and the setting
    _switch(at).set_value("ja").run()
    assert not at.exception
    assert _tab_labels(at)[2] == at.session_state["tab"] == JA.texts["tab.how"]
    assert at.query_params == {**before, "lang": "ja"}
    _switch(at).set_value("en").run()
    assert at.session_state["tab"] == "How it works"
    assert at.query_params["lang"] == "en" and at.query_params["preset"] == "seed"


def test_switching_keeps_the_drawing_the_runs_and_the_taught_model(apps):
    at = _page(apps, locale="en-US")
    at.session_state["canvas"] = canvas_value(SEVEN)
    at.run()
    read = at.metric[0].value
    objects = at.session_state["canvas_objects"]
    job = at.session_state.get("job")
    taught = ({"base": "shipped", "count": 1, "accuracy": 0.99}, object())
    at.session_state["taught_model"] = taught
    _switch(at).set_value("ja").run()
    assert not at.exception
    assert at.metric[0].value == read  # the same drawing, read the same
    # the canvas is told to draw the same strokes (it may be rebuilt under new labels)
    assert at.session_state["canvas_initial"]["objects"] == objects
    assert at.session_state["taught_model"] == taught
    if job is not None:
        assert at.session_state["job"] is job


def test_the_japanese_page_has_no_english_outside_the_tabs(apps):
    at = _page(apps, locale="ja-JP")
    left = [(where, text, words) for where, text, words in english_on_page(at) if not where]
    assert not left, left
    labels = set(_tab_labels(at))
    assert not any(re.search("[A-Za-z]{2,}", label) for label in labels)


# ---------------------------------------------------------------- every tab, in Japanese
def _no_english(at, tab: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    left = [(text, words) for where, text, words in english_on_page(at) if where == tab]
    assert not left, "\n".join(f"{words}: {text!r}" for text, words in left)


def test_how_it_works_in_japanese(apps, mnist):
    tab = JA.texts["tab.how"]
    at = _page(apps, locale="ja-JP", tab=tab)
    assert len(at.latex) >= 9 and at.dataframe and at.success
    _no_english(at, tab)
    # the formula's words are Japanese, inside \text{} (KaTeX sets them as text)
    assert any(r"\text{" + JA.texts["how.label.cross_entropy"] + "}" in x.value for x in at.latex)
    at.toggle(key="check_article_cost").set_value(True).run()  # the failing check
    assert at.error
    _no_english(at, tab)
    assert at.dataframe[0].value.columns[0] == JA.texts["how.check.parameter"]


def test_explore_in_japanese(apps, mnist, tiny_data):
    from digitnet import presets
    from digitnet.app import models, state

    # a model of its own (one hidden layer: its units have pictures), so that its MNIST
    # evaluation, cached per server, is not another test's
    small_model = presets.build("fast", epochs=1, hidden=12, seed=12).fit(*tiny_data)

    tab = JA.texts["tab.explore"]
    at = _page(apps, locale="ja-JP", tab=tab)
    _no_english(at, tab)  # no drawing yet: the invitation to draw, the mistakes, the units
    at.session_state["canvas"] = canvas_value(SEVEN)
    at.run()
    _no_english(at, tab)  # the shipped weights: two hidden layers, no pictures for them
    at.session_state[state.UPLOADED_KEY] = ("mine.npz", small_model)  # one hidden layer
    at.session_state[state.SOURCE_KEY] = models.UPLOADED
    at.run()
    assert at.session_state["drawing_input"] is not None
    at.segmented_control(key="explain_target").set_value(3).run()  # why not a 3?
    at.segmented_control(key="units_order").set_value("active").run()
    at.number_input(key="ex_page").set_value(2).run()
    _no_english(at, tab)
    r = state.test_evaluation(small_model)
    cm = np.asarray(r["confusion"])
    empty = next((t, p) for t in range(10) for p in range(10) if t != p and cm[t, p] == 0)
    for true, read in ((5, None), (None, 5), (5, 5), empty):  # None: any digit
        for key, digit in (("ex_true", true), ("ex_read", read)):
            at.selectbox(key=key).select_index(0 if digit is None else digit + 1).run()
        _no_english(at, tab)
    assert at.info  # the empty cell: "no such digits"


def test_train_in_japanese(apps, mnist):
    from digitnet.app import live

    tab = JA.texts["tab.train"]
    at = _page(apps, locale="ja-JP", tab=tab)
    _no_english(at, tab)  # idle: the presets, the hyperparameters, the invitation
    for preset in ("seed", "best"):
        at.segmented_control(key="preset").set_value(preset).run()
        _no_english(at, tab)
    at.segmented_control(key="preset").set_value("fast").run()
    for key, value in (("hp_fast_hidden", "128, abc"), ("hp_fast_hidden", "8000, 8000")):
        at.text_input(key=key).set_value(value).run()
        assert at.error
        _no_english(at, tab)  # the app's own messages
    at.text_input(key="hp_fast_hidden").set_value("32").run()
    at.number_input(key="hp_fast_eta").set_value(0.0).run()
    assert at.error
    _no_english(at, tab)  # the library's message, in code, after a Japanese lead
    at.number_input(key="hp_fast_eta").set_value(0.002).run()
    job = start_fast(at, 30)
    wait(lambda: job.snapshot().epoch >= 1)
    at.run()  # live: progress, ETA, the curves, the first layer forming, six digits re-read
    assert at.get("progress") and len(training_charts(at)) >= 3
    _no_english(at, tab)
    for units in (live.CHANGED, live.ACTIVE):  # the most active, with nothing drawn: say so
        at.segmented_control(key=live.UNITS_KEY).set_value(units).run()
        _no_english(at, tab)
    at.number_input(key="course_eta_1").set_value(0.0005)  # change course mid-run
    at.number_input(key="course_momentum_1").set_value(0.5)
    at.button(key="course_apply").click().run()
    _no_english(at, tab)  # asked for, from the next minibatch
    wait(lambda: job.snapshot().changes)
    at.run()  # marked on the curves, and said under them
    assert any(JA.texts["live.changed"][:6] in c.value for c in at.caption)
    _no_english(at, tab)
    at.button(key="copy_link").click().run()
    _no_english(at, tab)
    at.button(key="stop").click().run()
    _no_english(at, tab)  # stopped: Resume
    at.session_state["canvas"] = canvas_value(SEVEN)  # read after every epoch, and compared
    at.number_input(key="hp_fast_epochs").set_value(1).run()
    at.button(key="start").click().run()
    wait(lambda: job.snapshot().state == "done")
    at.run()  # done: the drawing re-read, the run against the shipped weights
    assert any(m.value == "#### " + JA.texts["compare.heading"] for m in at.markdown)
    _no_english(at, tab)
    at.multiselect(key="compare").set_value([job.runs()[0].label]).run()  # two runs' curves
    assert at.success
    _no_english(at, tab)


def test_a_link_to_a_setting_in_japanese(apps):
    tab = JA.texts["tab.train"]
    at = _page(apps, locale="ja-JP", query={"preset": "turbo", "eta": "-1", "hidden": "12x"})
    assert at.session_state["tab"] == tab  # a link opens the Train tab
    (warning,) = at.warning  # what could not be used, in one line
    assert "`eta=-1`" in warning.value and "`hidden=12x`" in warning.value
    _no_english(at, tab)


def test_draw_and_teach_in_japanese(apps, mnist, quick_teach, small_model, monkeypatch):
    from digitnet.app import draw, models, state, teach
    from digitnet.weights import model_bytes

    tab = JA.texts["tab.draw"]
    at = _page(apps, locale="ja-JP", tab=tab)
    _no_english(at, tab)  # nothing drawn: the invitation, the model picker, the files
    at.session_state["canvas"] = canvas_value(LEAD_IN_ONE)
    at.run()
    _no_english(at, tab)  # the answer, its bars, the four steps, "Not a 7? It's a…"
    monkeypatch.setattr(draw, "NOT_SURE_THRESHOLD", 1.01)  # every answer is "not sure"
    at.session_state["canvas"] = canvas_value([[(139, 139), (141, 141)]])  # a dot: too small
    at.run()
    assert at.warning and any(m.value.endswith("?") for m in at.metric)
    _no_english(at, tab)
    monkeypatch.setattr(draw, "NOT_SURE_THRESHOLD", 0.65)
    at.session_state["canvas"] = canvas_value(LEAD_IN_ONE)
    at.run()
    _, label = runner_up(at)
    at.segmented_control(key="correct").set_value(label).run()  # kept: the teach panel
    _no_english(at, tab)
    monkeypatch.setattr(teach, "MAX_DROP", 1.0)
    at.button(key="teach").click().run()  # taught: the report, the taught model answers
    assert at.session_state[state.TEACH_REPORT_KEY].accepted and at.success
    _no_english(at, tab)
    monkeypatch.setattr(teach, "MAX_DROP", -1.0)
    at.button(key="teach").click().run()  # too much forgetting: the old model is kept
    assert at.warning
    _no_english(at, tab)
    # uploads: a bad file (the library's message after a Japanese lead), then a good one
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("junk.npz", b"not weights", "x")).run()
    assert at.error
    _no_english(at, tab)
    at.get("file_uploader")[0].set_value(
        ("mine.npz", model_bytes(small_model), "application/octet-stream")
    ).run()
    assert at.radio[0].value == models.UPLOADED
    _no_english(at, tab)
    # a source that has nothing yet: the shipped weights answer, and the page says why
    at.radio[0].set_value(models.TRAINED).run()
    assert any(JA.texts["model.no_trained"] == c.value for c in at.caption)
    _no_english(at, tab)
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    _no_english(at, tab)


# ---------------------------------------------------------------- README.ja.md
def test_the_readmes_link_each_other_and_every_picture_is_there():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    ja = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    assert "(README.ja.md)" in en.split("\n## ")[0]  # at the top
    assert "(README.md)" in ja.split("\n## ")[0]
    for target in re.findall(r"\]\(([^)#]+)[^)]*\)|src=\"([^\"]+)\"", ja):
        path = next(p for p in target if p)
        if not path.startswith("http"):
            assert (ROOT / path).exists(), f"README.ja.md links {path}, which is not there"
    for name in ("draw_ja.png", "howitworks_ja.png", "train_ja.png"):
        assert f"docs/screenshots/{name}" in ja


def test_readme_ja_states_the_same_figures_as_readme():
    """The measured figures (percentages, speed-ups) move as the weights are retrained or
    benchmarks re-run: a README.md change that README.ja.md did not follow shows here."""
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    ja = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    figure = r"\d[\d,]*(?:\.\d+)?(?:%|×)"
    ja_figures = set(re.findall(figure, ja.replace(" 倍", "×")))
    missing = sorted(set(re.findall(figure, en)) - ja_figures)
    assert not missing, f"README.md states {missing}; README.ja.md does not"
    extra = sorted(set(re.findall(r"\d[\d,]*\.\d+%", ja)) - set(re.findall(figure, en)))
    assert not extra, f"README.ja.md states {extra}, which README.md no longer does"
