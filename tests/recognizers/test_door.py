"""Validation at the door: every option is checked before the data is read, what depends on the
data before it is split or fitted, and models' declared capabilities refuse what they cannot do in
one line instead of failing deep inside (or silently truncating)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actrec.cli import app
from actrec.errors import ConfigError, DataError
from actrec.models import model_capabilities
from actrec.recognizers import Recognizer, TrainConfig
from tests.helpers.waves import make_waves

runner = CliRunner()


def refuse_data_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make reading or splitting data fail loudly, so a config error that comes later shows."""
    import actrec.data.loading
    import actrec.data.splits

    def boom(*args, **kwargs):
        raise AssertionError("data work started before the options were checked")

    monkeypatch.setattr(actrec.data.loading, "load_dataset", boom)
    monkeypatch.setattr(actrec.data.splits, "holdout_split", boom)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


@pytest.mark.parametrize(
    "flags, named, choices",
    [
        (["--optimizer", "sgd"], "sgd", "adamw"),
        (["--scheduler", "linear"], "linear", "cosine"),
        (["--augment", "mirrr"], "mirrr", "mirror"),
        (["--model", "gru", "-o", "pooling=foo"], "foo", "attention"),
        (["--model", "gru", "-o", "activation=swish"], "swish", "tanh"),
        (["--model", "inception", "-o", "kernel_sizes=[8]"], "kernel_sizes", "odd"),
        (["--model", "stgcn", "-o", "partition=radial"], "radial", "spatial"),
        (["--model", "minirocket", "-o", "pooling=max"], "max", "ppv"),
        (["--class-weight", "heavy"], "heavy", "balanced"),
        (["--monitor", "val_f1"], "val_f1", "val_acc"),
    ],
)
def test_a_bad_option_fails_before_the_data_is_read(monkeypatch, tmp_path, flags, named, choices):
    refuse_data_work(monkeypatch)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "huge.npz"), "--out", str(tmp_path / "run"), *flags])
    line = one_line_error(result)
    assert named in line and choices in line


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--model", "stgcn"], "stgcn"),
        (["--augment", "mirror"], "mirror"),
        (["--joints", "body"], "joints"),
    ],
)
def test_what_needs_a_skeleton_fails_on_sensor_data_before_any_split(monkeypatch, waves_npz, tmp_path, flags, named):
    import actrec.data.splits

    def boom(*args, **kwargs):
        raise AssertionError("the data was split before its fit with the model was checked")

    monkeypatch.setattr(actrec.data.splits, "holdout_split", boom)
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), "--no-progress", *flags]
    )
    line = one_line_error(result)
    assert named in line and "skeleton" in line
    assert not (tmp_path / "run" / "model.actrec").exists()


def test_python_fit_checks_options_again_after_set_params():
    recognizer = Recognizer("gru")
    recognizer.set_params(optimizer="sgd")
    with pytest.raises(ConfigError, match="unknown optimizer 'sgd'; choose one of: adam, adamw, rmsprop"):
        recognizer.fit(np.zeros((4, 5, 2)), [0, 1, 0, 1])


def test_capabilities_are_declared_by_the_models():
    assert model_capabilities("stgcn").needs_skeleton
    assert not model_capabilities("inception").needs_skeleton
    assert model_capabilities("gru", {"pooling": "all"}).fixed_length
    assert not model_capabilities("gru").fixed_length
    assert model_capabilities("gru").per_frame_streaming
    assert not model_capabilities("gru", {"bidirectional": True}).per_frame_streaming
    assert not model_capabilities("inception").per_frame_streaming
    assert model_capabilities("minirocket").closed_form
    members = {"members": [{"model": "minirocket"}, {"model": "gru", "options": {"pooling": "all"}}]}
    assert model_capabilities("auto", members).fixed_length


@pytest.fixture(scope="module")
def fixed_length_model() -> Recognizer:
    data = make_waves(n=36, steps=20)
    return Recognizer("gru", model_options={"pooling": "all", "hidden_sizes": [8], "dense": []}, epochs=1, seed=0).fit(
        data
    )


def test_a_fixed_length_model_refuses_longer_sequences_in_one_line(fixed_length_model):
    longer = make_waves(n=3, steps=30).X
    with pytest.raises(DataError) as caught:
        fixed_length_model.predict_proba(longer)
    message = str(caught.value)
    assert "\n" not in message
    assert "30 steps" in message and "at most 20" in message and "dataset build --window 20" in message
    # what it takes still works, shorter sequences too
    assert fixed_length_model.predict_proba(make_waves(n=3, steps=20).X).shape == (3, 3)
    assert fixed_length_model.predict_proba(make_waves(n=3, steps=12).X).shape == (3, 3)


def test_a_fixed_length_model_refuses_a_longer_stream_window(fixed_length_model):
    from actrec.stream.engine import Streamer

    with pytest.raises(DataError, match="at most 20"):
        Streamer(fixed_length_model, window=40)


def test_last_steps_cuts_training_and_prediction_to_the_end_of_each_sample():
    data = make_waves(n=36, steps=30)
    recognizer = Recognizer(
        "gru", model_options={"pooling": "all", "hidden_sizes": [8], "dense": []}, epochs=1, seed=0, last_steps=12
    )
    recognizer.fit(data)
    assert recognizer.window_length == 12
    # a longer sequence is cut to its last 12 steps, as in training, so the earlier steps do not matter
    noisy_start = data.X[:4].copy()
    noisy_start[:, :18] = 99.0
    np.testing.assert_allclose(
        recognizer.predict_proba(noisy_start), recognizer.predict_proba(data.X[:4, 18:]), atol=1e-6
    )


def test_train_config_check_names_the_option(tmp_path: Path):
    with pytest.raises(ConfigError, match="last_steps must be at least 1"):
        TrainConfig(last_steps=0).check()
    with pytest.raises(ConfigError, match="augmentation 'mirror' has no option 'angle'"):
        TrainConfig(augment=[{"name": "mirror", "angle": 3}]).check()


@pytest.mark.parametrize(
    "text,named",
    [
        ("model: [gru]", "model must be text"),
        ("epochs: three", "epochs must be a whole number"),
        ("model: gru\nmodel_options: {hidden_sizes: 7}", "model 'gru'"),
    ],
)
def test_a_config_file_value_of_the_wrong_kind_is_one_line_naming_the_file(tmp_path, waves_npz, text, named):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = runner.invoke(
        app, ["train", "--data", str(waves_npz), "--out", str(tmp_path / "run"), "--config", str(config)]
    )
    line = one_line_error(result)
    assert str(config) in line and named in line
