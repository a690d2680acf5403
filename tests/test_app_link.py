"""A link that replays a run: the Train tab's settings in the URL, read back, checked."""

from __future__ import annotations

import pytest
from app_support import APP, tiny_training_data, wait

from digitnet import presets
from digitnet.app import jobs, link, train_view

LIMITS = {"epochs": (1, train_view.MAX_EPOCHS)}


# ---------------------------------------------------------------- reading a link
def test_a_good_link_is_read_into_the_inputs_values():
    got = link.read(
        {"preset": "seed", "hidden": "64-32", "eta": "0.001", "epochs": "7", "seed": "4",
         "activation": "tanh", "early_stopping": "1", "lang": "ja"},
        LIMITS,
    )  # fmt: skip
    assert got.preset == "seed" and not got.problems
    assert got.values == {"hidden": "64, 32", "eta": 0.001, "epochs": 7, "seed": 4,
                          "activation": "tanh", "early_stopping": True}  # fmt: skip
    assert link.read({"lang": "ja"}) == link.Link()  # no setting in it: nothing to do


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"eta": "-1"}, "eta=-1 (eta must be > 0)"),
        ({"eta": "abc"}, "eta=abc (a number)"),
        ({"eta": "nan"}, "eta=nan (a finite number)"),
        ({"epochs": "9999"}, "epochs=9999 (epochs must be from 1 to 200)"),
        ({"epochs": "2.5"}, "epochs=2.5 (a whole number)"),
        ({"batch_size": "0"}, "batch_size=0 (batch_size must be >= 1"),
        ({"hidden": "12x"}, "hidden=12x (units per layer, like 100 or 256-128)"),
        ({"hidden": "0"}, "hidden=0 (hidden layer sizes must be between 1 and"),
        ({"activation": "swish"}, "activation=swish (activation must be one of"),
        ({"early_stopping": "maybe"}, "early_stopping=maybe (1 or 0)"),
        ({"augment": "1"}, "augment=1 (this preset does not augment)"),
        ({"seed": "9" * 80}, "(longer than 64 characters)"),
        ({"seed": "9" * 40}, "(a whole number)"),
    ],
)
def test_each_bad_value_is_left_out_and_named(params, problem):
    got = link.read({"preset": "fast", "eta": "0.003", **params}, LIMITS)
    assert got.preset == "fast"
    assert len(got.problems) == 1 and problem in str(got.problems[0]), got.problems
    (name,) = params
    assert name not in got.values
    if name != "eta":
        assert got.values["eta"] == 0.003  # the good ones are kept


def test_an_unknown_preset_and_the_one_line():
    got = link.read({"preset": "turbo", "eta": "-2", "seed": "3"}, LIMITS)
    assert got.preset == "fast" and got.values == {"seed": 3}
    message = got.message(got.preset)
    assert "\n" not in message
    assert message == (
        "This link's preset=turbo is not one of seed, fast, best; eta=-2 (eta must be > 0): "
        "fast's own values are shown instead."
    )


def test_query_round_trip():
    values = {"hidden": "256, 128", "eta": 0.0005, "epochs": 30, "early_stopping": False,
              "augment": {"rotate": 12}, "activation": "relu"}  # fmt: skip
    q = link.query("best", values)
    assert list(q) == ["preset", "hidden", "activation", "eta", "epochs", "early_stopping",
                       "augment"]  # fmt: skip
    assert q["hidden"] == "256-128" and q["eta"] == "0.0005" and q["augment"] == "1"
    back = link.read(q, LIMITS)
    assert not back.problems
    assert back.values == {**values, "augment": True}
    assert link.query("fast", {"eta": 1 / 3})["eta"] == repr(1 / 3)  # every digit kept


def test_the_same_settings_and_seed_give_the_same_curves(tiny_data):
    """What a shared link promises: the same curves (one BLAS thread per run)."""
    data = tiny_training_data(tiny_data)
    histories = []
    for _ in range(2):
        job = jobs.TrainJob("s", jobs.Slots(1))
        try:
            job.start(presets.build("fast", epochs=3, hidden=16, seed=7), data,
                      preset="fast", label="x")  # fmt: skip
            wait(lambda job=job: job.snapshot().state == "done")
            histories.append([(h["cost"], h["train_acc"], h["valid_acc"])
                              for h in job.snapshot().history])  # fmt: skip
        finally:
            job.close()
    assert histories[0] == histories[1]


# ---------------------------------------------------------------- the page (AppTest)
def test_the_url_follows_the_settings_and_keeps_other_parameters(apps):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "en"  # the page's language: never touched
    at.session_state["tab"] = "Train"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    q = at.query_params
    assert q["lang"] == "en" and q["preset"] == "fast" and q["eta"] == "0.002"
    assert set(link.NAMES) - {"augment"} <= set(q)  # every hyperparameter
    at.number_input(key="hp_fast_eta").set_value(0.0007).run()
    at.text_input(key="hp_fast_hidden").set_value("64, 32").run()
    assert at.query_params["eta"] == "0.0007" and at.query_params["hidden"] == "64-32"
    at.segmented_control(key="preset").set_value("best").run()
    assert at.query_params["preset"] == "best" and at.query_params["augment"] == "1"
    assert at.query_params["lang"] == "en"


def open_link(params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_link_restores_the_settings(app_weights):
    at = open_link({"preset": "seed", "hidden": "64-32", "eta": "0.001", "epochs": "7",
                    "seed": "5", "optimizer": "momentum", "momentum": "0.5"})  # fmt: skip
    assert at.session_state["tab"] == "Train"  # the link opens the Train tab
    assert at.segmented_control(key="preset").value == "seed"
    assert at.text_input(key="hp_seed_hidden").value == "64, 32"
    assert at.number_input(key="hp_seed_eta").value == 0.001
    assert at.number_input(key="hp_seed_epochs").value == 7
    assert at.number_input(key="hp_seed_seed").value == 5
    assert at.number_input(key="hp_seed_momentum").value == 0.5
    assert at.selectbox(key="hp_seed_optimizer").value == "momentum"
    assert not at.warning and not at.error
    # what the run gets: the model built from the inputs is the link's
    model, error = train_view.check("seed", _inputs(at, "seed"))
    assert error is None and model.layer_sizes == (784, 64, 32, 10) and model.eta == 0.001


def _inputs(at, preset):
    get = lambda kind, name: getattr(at, kind)(key=f"hp_{preset}_{name}").value  # noqa: E731
    return {
        "hidden": get("text_input", "hidden"), "activation": get("selectbox", "activation"),
        "output": get("selectbox", "output"), "optimizer": get("selectbox", "optimizer"),
        "eta": get("number_input", "eta"), "l2": get("number_input", "l2"),
        "batch_size": get("number_input", "batch_size"),
        "epochs": get("number_input", "epochs"), "seed": get("number_input", "seed"),
        "momentum": get("number_input", "momentum"),
    }  # fmt: skip


def test_a_bad_link_gives_one_line_and_the_presets_values(app_weights):
    at = open_link({"preset": "fast", "eta": "-1", "epochs": "lots", "batch_size": "32",
                    "lang": "en"})  # fmt: skip
    (warning,) = at.warning
    assert warning.value == (
        "This link's eta=-1 (eta must be > 0); epochs=lots (a whole number): fast's own "
        "values are shown instead."
    )
    assert at.number_input(key="hp_fast_eta").value == 0.002  # the preset's
    assert at.number_input(key="hp_fast_epochs").value == 3
    assert at.number_input(key="hp_fast_batch_size").value == 32  # the good one is used
    # the URL now says what is shown; the other parameter stays
    assert at.query_params["eta"] == "0.002" and at.query_params["epochs"] == "3"
    assert at.query_params["lang"] == "en"


def test_garbage_in_a_link_never_crashes(app_weights):
    at = open_link({"preset": "<script>", "hidden": "9" * 500, "eta": "1e999",
                    "seed": "-3", "warmup": "", "precision": "float8"})  # fmt: skip
    (warning,) = at.warning
    assert warning.value.startswith("This link's preset=<script> is not one of")
    assert "hidden=" in warning.value and "…" in warning.value  # shown cut short
    assert at.segmented_control(key="preset").value == "fast"
    assert at.button(key="start").disabled is False


def test_copy_link_shows_the_link_of_this_setting(apps):
    at = apps("Train")
    at.number_input(key="hp_fast_eta").set_value(0.0007).run()
    at.button(key="copy_link").click().run()
    assert not at.exception
    (code,) = at.code
    assert "preset=fast" in code.value and "eta=0.0007" in code.value
    (note,) = [c for c in at.get("bidi_component") if c.key == "copy_link_note"]
    assert "eta=0.0007" in note.proto.json
