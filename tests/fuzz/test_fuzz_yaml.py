"""Fuzz the YAML readers: skeleton schemas, `train --config`, `compare --config` and sweep spaces.

Documents start from a valid one and get a key's value replaced by any YAML value (scalars of
every type, lists, mappings, nesting), a key dropped or an unknown key added; then they are
dumped and maybe damaged (invalid YAML, non-UTF-8 bytes, truncation). See fuzzing.py.
"""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from actrec.experiments.compare import load_specs
from actrec.experiments.sweep import load_space
from actrec.runs.config_file import load_config_file
from actrec.skeletons import load_schema_yaml
from tests.fuzz.fuzzing import TEXT, corrupted, fuzz_settings, loads_or_fails_cleanly, scratch

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.floats(allow_nan=True),
    TEXT,
    st.sampled_from(["nose", "neck", "a", 1, -1, 99, "pet.yaml", "mediapipe_hand"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(TEXT, st.integers(0, 3)), inner, max_size=3)
    ),
    max_leaves=8,
)

SCHEMA = {
    "name": "pet",
    "joints": ["nose", "neck", "left_paw", "right_paw", "tail"],
    "bones": [["neck", "nose"], ["neck", "left_paw"], ["neck", "right_paw"], ["neck", "tail"]],
    "mirror": "auto",
    "mirror_pairs": [["left_paw", "right_paw"]],
    "groups": {"head": ["nose", "neck"], "paws": [2, 3]},
    "root": "neck",
    "centre": ["neck"],
    "scale_bone": ["neck", "tail"],
    "coordinate_dims": 2,
    "parts": [{"schema": "mediapipe_hand", "prefix": "h_", "group": "hand"}],
}
CONFIG = {
    "model": "gru",
    "epochs": 3,
    "lr": 0.001,
    "batch_size": 8,
    "model_options": {"hidden_sizes": [16]},
    "augment": ["mirror"],
}
MODELS = {"models": [{"name": "gru16", "model": "gru", "epochs": 2}, {"model": "minirocket"}]}
SPACE = {
    "base": {"model": "gru", "epochs": 2},
    "params": {
        "lr": {"float": [0.0001, 0.01], "log": True},
        "model_options.hidden_sizes": {"layers": [1, 2], "units": [8, 32]},
        "batch_size": {"choice": [8, 16]},
    },
    "enqueue": [{"lr": 0.001}],
}


@st.composite
def document(draw: st.DrawFn, valid: dict) -> bytes:
    """`valid`, or a variant with 1-3 keys (top level or one below) replaced, dropped or added."""
    doc = yaml.safe_load(yaml.safe_dump(valid))
    if draw(st.integers(0, 4)):
        for _ in range(draw(st.integers(1, 3))):
            target = doc
            inner = [key for key, value in doc.items() if isinstance(value, dict)]
            if inner and draw(st.booleans()):
                target = doc[draw(st.sampled_from(inner))]
            key = draw(st.one_of(st.sampled_from(sorted(target, key=str) or ["x"]), TEXT))
            if draw(st.integers(0, 3)) == 0:
                target.pop(key, None)
            else:
                target[key] = draw(VALUES)
    if draw(st.integers(0, 9)) == 0:
        doc = draw(VALUES)  # not a mapping at all
    text = yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass")
    odd = st.sampled_from(
        [b"", b"{", b": :\n", b"- a\nb: c\n", b"\t", b"!!python/object:os.system ls\n", b"&a [*a]\n", b"key: [1, 2\n"]
    )
    if draw(st.integers(0, 9)) == 0:
        text = draw(odd)
    return draw(corrupted(text))


@fuzz_settings(200)
@given(data=st.data())
def test_schema_yaml_loads_or_fails_in_one_line(data):
    with scratch() as folder:
        path = folder / "pet.yaml"
        path.write_bytes(data.draw(document(SCHEMA)))
        schema = loads_or_fails_cleanly(lambda: load_schema_yaml(path), path)
        if schema is not None:
            assert schema.n_joints >= 1 and all(0 <= i < schema.n_joints for pair in schema.bones for i in pair)


@fuzz_settings(200)
@given(data=st.data())
def test_train_config_loads_or_fails_in_one_line(data):
    with scratch() as folder:
        path = folder / "best_config.yaml"
        path.write_bytes(data.draw(document(CONFIG)))
        values = loads_or_fails_cleanly(lambda: load_config_file(path), path)
        assert values is None or isinstance(values, dict)


@fuzz_settings(100)
@given(data=st.data())
def test_compare_config_loads_or_fails_in_one_line(data):
    with scratch() as folder:
        path = folder / "models.yaml"
        path.write_bytes(data.draw(document(MODELS)))
        specs = loads_or_fails_cleanly(lambda: load_specs(path), path)
        assert specs is None or all(isinstance(spec.options, dict) for spec in specs)


@fuzz_settings(100)
@given(data=st.data())
def test_sweep_space_loads_or_fails_in_one_line(data):
    with scratch() as folder:
        path = folder / "space.yaml"
        path.write_bytes(data.draw(document(SPACE)))
        loads_or_fails_cleanly(lambda: load_space(path), path)


def test_a_schema_whose_parts_include_itself_is_refused_in_one_line(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: loop\njoints: [a]\nscale_bone: [a, a]\nparts:\n  - {schema: loop.yaml}\n")
    assert loads_or_fails_cleanly(lambda: load_schema_yaml(path), path) is None
