"""The corpus runner itself: import mapping, error capture, tolerance, the 80-column table."""

from __future__ import annotations

import textwrap

import pytest
import run_corpus
from run_corpus import run_in_subprocess, table, tolerance, within


def _case(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return tmp_path


def test_glassnet_engine_maps_the_imports_as_a_user_would_change_them(tmp_path):
    cases = _case(tmp_path, "imports", """
        import glassnet
        import tensorflow as tf
        from tensorflow import keras
        from tensorflow.keras import layers
        import keras as plain_keras
        from keras import layers as plain_layers
        assert tf is glassnet
        assert keras is glassnet.keras is plain_keras
        assert layers is glassnet.keras.layers is plain_layers
        final_loss = 1.5
    """)
    result = run_in_subprocess("imports", "glassnet", (0, 1), cases_dir=cases, timeout=120)
    assert result == {"case": "imports", "engine": "glassnet", "ok": True,
                      "losses": [1.5, 1.5], "error": None}


def test_a_case_seeding_itself_still_varies_with_the_runners_seed(tmp_path):
    # as under the Keras shim: tf.random.set_seed(1234) in the case is 1234 + the run's
    # seed, else glassnet's "median over seeds" of a seeded case is one draw repeated
    cases = _case(tmp_path, "seeded", """
        import tensorflow as tf
        from tensorflow import keras

        tf.random.set_seed(1234)
        first = float(tf.random.normal((1,)).numpy()[0])
        keras.utils.set_random_seed(1234)
        assert float(tf.random.normal((1,)).numpy()[0]) == first
        final_loss = first
    """)
    losses = run_in_subprocess("seeded", "glassnet", (0, 1, 0), cases_dir=cases,
                               timeout=120)["losses"]
    assert losses[0] == losses[2] != losses[1]


def test_a_failing_case_reports_its_first_error_line_and_where(tmp_path):
    cases = _case(tmp_path, "broken", """
        import tensorflow as tf

        x = 1
        tf.no_such_thing(x)
    """)
    result = run_in_subprocess("broken", "glassnet", (0,), cases_dir=cases, timeout=120)
    assert result["ok"] is False
    assert result["error"] == ("AttributeError: module 'glassnet' has no attribute "
                               "'no_such_thing' (line 5)")


def test_a_case_without_final_loss_fails(tmp_path):
    cases = _case(tmp_path, "quiet", "x = 1\n")
    result = run_in_subprocess("quiet", "glassnet", (0,), cases_dir=cases, timeout=120)
    assert result["error"] == "RuntimeError: the case left no final_loss"


def test_tolerance_is_the_range_width_or_five_percent_of_its_middle():
    assert tolerance(1.0, 1.2) == pytest.approx(0.2)
    assert tolerance(2.0, 2.0) == 0.1          # deterministic: 5% of 2.0
    assert tolerance(0.0, 0.0) == 1e-3
    assert within(1.39, 1.0, 1.2) and not within(1.41, 1.0, 1.2)
    assert within(0.81, 1.0, 1.2) and not within(0.79, 1.0, 1.2)


def test_table_fits_80_columns_and_says_what_failed():
    keras = {"a_very_long_case_name_that_goes_past_the_column": {
        "ok": True, "losses": [0.123456, 0.2], "error": None},
        "b": {"ok": True, "losses": [1.0, 1.1, 1.2], "error": None}}
    glassnet = {"a_very_long_case_name_that_goes_past_the_column": {
        "ok": True, "losses": [0.15], "error": None},
        "b": {"ok": False, "losses": [], "error": "FileFormatError: /tmp/tmpab12/m.keras: "
                                                  "refused " + "word " * 40 + "(line 7)"}}
    text = table(keras, glassnet)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert "0.15" in lines[2] and "0.1235..0.2" in lines[2] and lines[2].endswith("yes")
    assert lines[3].startswith("b ") and "FAIL" in lines[3] and lines[3].endswith("-")
    # the error under its case: the file's directory dropped, wrapped, cut after 3 lines
    assert lines[4] == "  glassnet: FileFormatError: m.keras: refused " + " ".join(
        ["word"] * 6)
    assert lines[5].startswith("    word") and lines[6].endswith(" ...")
    assert lines[7] == "-" * 79
    assert lines[-1] == "2 cases: Keras runs 2, glassnet runs 1, 1 within Keras's spread"


def test_every_case_names_a_final_loss():
    for name in run_corpus.case_names():
        assert "final_loss = " in (run_corpus.CASES / f"{name}.py").read_text(), name
