"""One set of training options: the fields sequence and clip training share live in
`TrainingOptions`, which both configs extend, and everything that lists the fields (the
Recognizer's keywords, the CLI flags and their help, the options an ensemble's members inherit)
is generated from them, so a field added in one place only fails here."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest
import typer

from actrec.cli import app
from actrec.config import TrainConfig, TrainingOptions, field_help, member_options
from actrec.recognizers import Recognizer, VideoRecognizer, VideoTrainConfig

MODEL_CHOICE = {"model", "model_options", "modalities"}  # what a member does not inherit


def names(config_class: type) -> list[str]:
    return [f.name for f in dataclasses.fields(config_class)]


def test_sequence_and_clip_configs_share_their_common_fields_through_one_base():
    shared = set(names(TrainingOptions))
    assert issubclass(TrainConfig, TrainingOptions) and issubclass(VideoTrainConfig, TrainingOptions)
    assert set(names(TrainConfig)) & set(names(VideoTrainConfig)) == shared, "move the field to TrainingOptions"
    for config_class in (TrainConfig, VideoTrainConfig):  # no class attribute passing for an option
        hints = typing.get_type_hints(config_class, include_extras=True)
        assert not [name for name, hint in hints.items() if typing.get_origin(hint) is typing.ClassVar]


def test_every_field_says_what_it_does():
    for config_class in (TrainConfig, VideoTrainConfig):
        for config_field in dataclasses.fields(config_class):
            assert "help" in config_field.metadata, f"declare {config_class.__name__}.{config_field.name} with option()"
            assert len(field_help(config_field)) > 10


def test_recognizer_keywords_are_the_fields_with_their_defaults():
    parameters = list(inspect.signature(Recognizer.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == names(TrainConfig)
    defaults = TrainConfig()
    for parameter in parameters:
        assert parameter.default == getattr(defaults, parameter.name) or parameter.default is None, parameter.name
    recognizer = Recognizer("gru", label_smoothing=0.1, mixup=0.2)
    assert recognizer.get_params()["label_smoothing"] == 0.1 and recognizer.config.mixup == 0.2
    assert VideoRecognizer("tsn", label_smoothing=0.1, time_budget=5.0).config.time_budget == 5.0


def test_only_model_and_its_options_go_by_position():
    """The fields' order moved when the shared ones went to TrainingOptions (0.5.0: a third
    positional argument was `joints`, it would now be `epochs`): past the first two, keywords."""
    assert Recognizer("gru", {"hidden_sizes": [8]}).get_params()["model_options"] == {"hidden_sizes": [8]}
    with pytest.raises(TypeError):
        Recognizer("gru", {}, ["body"])


def test_every_field_is_a_train_flag_with_the_fields_help():
    command = typer.main.get_command(app).commands["train"]
    helps = {opt: param.help for param in command.params for opt in param.opts}
    for config_field in dataclasses.fields(TrainConfig):
        if config_field.name != "model_options":
            assert helps["--" + config_field.name.replace("_", "-")] == field_help(config_field)


def test_members_inherit_every_field_but_the_model_choice():
    config = TrainConfig(class_weight="balanced", seed=3, last_steps=12, label_smoothing=0.1)
    inherited = member_options(config)
    assert set(inherited) == set(names(TrainConfig)) - MODEL_CHOICE
    assert inherited["seed"] == 3 and inherited["last_steps"] == 12 and inherited["class_weight"] == "balanced"
    assert Recognizer(seed=3, class_weight="balanced").member_options()["seed"] == 3
