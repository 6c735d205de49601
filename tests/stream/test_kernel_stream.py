"""The default model (MiniRocket with level kernels) streams frame by frame with the probabilities batch
predict gives on the same window: at every frame of long random sessions, from the first frame
(short windows while warming up) on, after a restart, and with a keypoint pipeline whose first
frames differ by window start (velocities)."""

import numpy as np
import pytest
import torch

from actrec.data.dataset import SequenceDataset
from actrec.recognizers import Recognizer
from actrec.stream.engine import Streamer
from actrec.stream.windows import trailing_windows

torch.set_num_threads(1)


def default_model(window: int, n_features: int, seed: int = 0) -> Recognizer:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(48, window, n_features)).astype(np.float32)
    y = np.arange(48) % 4
    X[y == 1] += 0.5
    X[y == 2, :, 0] += np.sin(np.arange(window))[None, :]
    return Recognizer(seed=seed).fit(X, y)


# univariate: the finest input grid (2^-14)
@pytest.mark.parametrize("window, n_features", [(30, 99), (250, 6), (120, 1)])
def test_default_model_streams_exactly_what_batch_predict_gives(window, n_features):
    recognizer = default_model(window, n_features)
    streamer = Streamer(recognizer)
    assert streamer.mode == "incremental", streamer.describe()
    assert streamer._raw_frames  # the compiled step standardises the frames (`KernelStream.take_raw_frames`)
    session = np.random.default_rng(1).normal(size=(3000, n_features)).astype(np.float32)
    session[1500:] *= 2.0  # a second regime, so the windows' features move through the biases
    got = np.stack([streamer.push(frame).probabilities for frame in session])
    windows, lengths = trailing_windows(session, window)
    expected = np.concatenate(
        [
            recognizer.predict_proba(windows[s : s + 500], lengths=lengths[s : s + 500])
            for s in range(0, len(windows), 500)
        ]
    )
    assert np.abs(got - expected).max() <= 1e-5


def test_moving_the_logits_gives_what_summing_the_whole_head_gives(monkeypatch):
    """Frames after a scored full window move the last logits by per-kernel prefix rows
    (`slide_and_score`) and count the biases again only when something reads them: a stream that
    sums the whole head at every frame (`RESCORE_FRAMES` = 1) gives the same logits, and the same
    counts whenever `state()` is read, mid-session included."""
    from actrec.stream import kernels

    recognizer = default_model(30, 6)
    session = np.random.default_rng(5).normal(size=(400, 6)).astype(np.float32)
    moved = Streamer(recognizer).model
    assert moved.slides  # 30-step windows: ~40 biases per kernel (`SLIDE_MIN_BIASES`)
    monkeypatch.setattr(kernels, "RESCORE_FRAMES", 1)
    summed = Streamer(recognizer).model
    for t, frame in enumerate(session):
        row = frame[None, :]
        monkeypatch.setattr(kernels, "RESCORE_FRAMES", 1024)
        got = moved.step(row)
        monkeypatch.setattr(kernels, "RESCORE_FRAMES", 1)
        np.testing.assert_allclose(got, summed.step(row), rtol=0, atol=1e-9)
        if t % 97 == 0:
            for a, b in zip(moved.state(), summed.state()):
                np.testing.assert_array_equal(a, b)
    assert moved._scored and not summed._stale


def test_a_restarted_stream_warms_up_again_exactly():
    recognizer = default_model(20, 3)
    streamer = Streamer(recognizer)
    session = np.random.default_rng(2).normal(size=(60, 3)).astype(np.float32)
    for frame in session:
        streamer.push(frame)
    streamer.reset()
    got = np.stack([streamer.push(frame).probabilities for frame in session[:25]])
    windows, lengths = trailing_windows(session[:25], 20)
    np.testing.assert_allclose(got, recognizer.predict_proba(windows, lengths=lengths), atol=1e-5)


def test_keypoint_context_frames_are_never_read_so_streaming_stays_exact():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(21, 3)).astype(np.float32)
    X = base + 0.05 * rng.normal(size=(32, 16, 21, 3)).astype(np.float32)
    dataset = SequenceDataset(
        X=X, lengths=np.full(32, 16), y=np.arange(32) % 2, label_names=["a", "b"], schema="mediapipe_hand"
    )
    recognizer = Recognizer(seed=0).fit(dataset)
    member = recognizer.network.members[0]
    assert member.config.skip_steps == recognizer.pipeline.context_frames >= 1
    session = base + 0.05 * rng.normal(size=(80, 21, 3)).astype(np.float32)
    streamer = Streamer(recognizer)
    got = np.stack([streamer.push(frame).probabilities for frame in session])
    windows, lengths = trailing_windows(session, recognizer.window_length)
    expected = recognizer.predict_proba(SequenceDataset(X=windows, lengths=lengths, schema="mediapipe_hand"))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_forked_streams_share_what_the_model_built_and_keep_their_own_state():
    """A server forks one stream per session (`Streamer.fork`): streams pushed in turn, frame by
    frame, each give what batch predict gives on their own frames."""
    recognizer = default_model(20, 3)
    prototype = Streamer(recognizer)
    rng = np.random.default_rng(4)
    sessions = [rng.normal(size=(50, 3)).astype(np.float32) * (1 + k) for k in range(3)]
    streams = [prototype.fork() for _ in sessions]
    assert streams[0].model.kernel_positions is prototype.model.kernel_positions  # built once
    got: list[list[np.ndarray]] = [[] for _ in sessions]
    for t in range(50):
        for stream, session, probabilities in zip(streams, sessions, got):
            probabilities.append(stream.push(session[t]).probabilities)
    for session, probabilities in zip(sessions, got):
        windows, lengths = trailing_windows(session, 20)
        expected = recognizer.predict_proba(windows, lengths=lengths)
        np.testing.assert_allclose(np.stack(probabilities), expected, atol=1e-5)


def test_a_fork_reads_nothing_again_from_the_model_and_starts_afresh(monkeypatch):
    """A fork (a server's session, a person in a people stream) takes what its prototype read from
    the model instead of walking the network again (~1 ms each on the default model), with rules
    of its own and a state at frame 0 even when the prototype has been pushed; the prototype goes on."""
    import actrec.stream.engine as engine
    from actrec.stream.decisions import DecisionRules

    recognizer = default_model(20, 3)
    prototype = Streamer(recognizer)
    session = np.random.default_rng(5).normal(size=(60, 3)).astype(np.float32)
    for frame in session[:30]:
        prototype.push(frame)

    def walked(*args, **kwargs):
        raise AssertionError("the fork read the model again")

    monkeypatch.setattr(engine, "network_capabilities", walked)
    monkeypatch.setattr(engine, "model_metadata", walked)
    rules = DecisionRules.for_model(20, 30.0, enter=0.7)
    fork = prototype.fork(rules)
    assert fork.rules is rules and prototype.rules is not rules and fork.decisions.rules is rules
    assert fork.frame_index == 0 and fork.model.kernel_positions is prototype.model.kernel_positions
    got = np.stack([fork.push(frame).probabilities for frame in session[:25]])
    windows, lengths = trailing_windows(session[:25], 20)
    np.testing.assert_allclose(got, recognizer.predict_proba(windows, lengths=lengths), atol=1e-5)
    went_on = np.stack([prototype.push(frame).probabilities for frame in session[30:]])
    windows, lengths = trailing_windows(session, 20)
    np.testing.assert_allclose(went_on, recognizer.predict_proba(windows[30:], lengths=lengths[30:]), atol=1e-5)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_the_step_graph_streams_what_the_compiled_step_streams(runtime):
    """Issue 17 item 7: the per-frame step as a graph (state in, state out), what a runtime that is
    not Python runs; here through torch and onnxruntime, against the compiled NumPy stream."""
    recognizer = default_model(24, 5)
    graph, compiled = Streamer(recognizer, runtime=runtime), Streamer(recognizer)
    assert graph.mode == "incremental" and "as a graph" in graph.describe() and graph.runtime == runtime
    session = np.random.default_rng(4).normal(size=(120, 5)).astype(np.float32)
    session[60:] *= 3.0
    got = np.stack([graph.push(frame).probabilities for frame in session])
    expected = np.stack([compiled.push(frame).probabilities for frame in session])
    assert np.abs(got - expected).max() <= 1e-9


def test_the_exported_step_file_runs_frame_by_frame_in_onnxruntime_alone(tmp_path):
    """What a non-Python runtime does with `model.step.onnx`: zero states and `window` zero rows
    (a short window reads as zeros before its first frame), then one feature row and the frame
    count in, logits and states out, giving the Streamer's probabilities."""
    ort = pytest.importorskip("onnxruntime")
    import json

    from actrec.stream.kernel_graph import export_kernel_step

    recognizer = default_model(16, 3)
    assert export_kernel_step(recognizer, tmp_path / "model.step.onnx") <= 1e-9
    session = ort.InferenceSession(str(tmp_path / "model.step.onnx"))
    meta = session.get_modelmeta().custom_metadata_map
    names = json.loads(meta["state_names"])
    shapes = {node.name: node.shape for node in session.get_inputs()}
    states = {name: np.zeros(shapes[name]) for name in names}
    standardize = recognizer.pipeline.steps[-1]  # a sensor model's pipeline: (raw - mean) / std
    streamer = Streamer(recognizer)
    window = int(meta["zero_rows_first"])
    assert window == recognizer.window_length
    frames = np.random.default_rng(5).normal(size=(50, 3)).astype(np.float32)
    rows = np.concatenate(
        [np.zeros((window, 3), np.float32), ((frames - standardize.mean) / standardize.std).astype(np.float32)]
    )
    for count, row in enumerate(rows):
        logits, *outs = session.run(
            ["logits", *(f"{n}_out" for n in names)], {"features": row, "count": np.array(count), **states}
        )
        states = dict(zip(names, outs))
        if count < window:
            continue
        expected = streamer.push(frames[count - window]).probabilities
        got = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert np.abs(got - expected).max() <= 1e-6
