"""`Streamer`: one frame in, one decision out, with the probabilities batch predict would give.

`push(frame)` applies the saved feature pipeline incrementally and asks the model for the window
ending at this frame (the last `window` frames, or all frames so far while warming up), which
equals `Recognizer.predict_proba` on that window. Models whose capabilities declare a per-frame
state update keep one instead of re-running the window (`states.py`: random-kernel models through
running sums, at a cost independent of the window; GRU/LSTM stacks through a staggered state bank,
one batched step over the window's states; ensembles of those); other
models (convolutional, attention, bidirectional, graph) run the window on a ring buffer, and
`mode` / `mode_reason` say so.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from actrec.errors import ConfigError, DataError
from actrec.export.graphs import bank_onnx_bytes, model_metadata, onnx_session, window_onnx_bytes
from actrec.models.registry import network_capabilities
from actrec.stream.decisions import Decision, DecisionMaker, DecisionRules
from actrec.stream.events import Event
from actrec.stream.features import FrameFeatures, feature_count
from actrec.stream.kernels import KernelStream
from actrec.stream.recurrent import NumpyBank, TorchBankStep, incremental_blocker
from actrec.stream.runtimes import (
    GraphBank,
    WindowRunner,
    onnx_bank_fn,
    onnx_window_fn,
    resolve_runtime,
    torch_step_fn,
    torch_window_fn,
)
from actrec.stream.states import FrameState, frame_state, graph_state

log = logging.getLogger("actrec.stream")

DEFAULT_SAMPLE_RATE_HZ = 30.0  # video frame rate, used when the model does not know its rate


def softmax(logits: np.ndarray) -> np.ndarray:
    """float32 probabilities `[C]` from float32 logits `[C]` (Python max/sum: NumPy reductions
    cost more than the arithmetic on ten numbers)."""
    shifted = np.exp(logits - max(logits.tolist()))
    shifted /= math.fsum(shifted.tolist())
    return shifted


class Streamer:
    """Per-frame recognition over a fitted `Recognizer` (anything with `.network` in eval mode,
    `.pipeline`, `.label_names`, `.window_length`, `.sample_rate_hz`).

    window: frames per window (default: the window length seen in training).
    runtime: "auto" (NumPy state bank, or onnxruntime for window models), "numpy", "torch" or
      "onnx"; `runtime` then holds the one in use.
    rules: decision rules; default: the rules saved in the model by calibration, else
      `DecisionRules.for_model(window, sample rate)`.
    """

    def __init__(
        self,
        recognizer: Any,
        window: int | None = None,
        runtime: str = "auto",
        rules: DecisionRules | None = None,
        rule_settings: dict[str, Any] | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.window_length = int(window or recognizer.window_length)
        if self.window_length < 1:
            raise ConfigError(f"window must be at least 1 frame, got {self.window_length}")
        check_length = getattr(recognizer, "check_length", None)  # fixed-length models refuse a longer window
        if check_length is not None:
            check_length(self.window_length, f"a stream window of {self.window_length} frames")
        self.sample_rate_hz = float(recognizer.sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ)
        self.label_names = list(recognizer.label_names)
        network = recognizer.network.eval()
        self.features = FrameFeatures(recognizer.pipeline)
        self._centred_input: np.ndarray | None = None  # set when frames go straight into the bank
        metadata = model_metadata(recognizer, self.window_length)
        n_features = feature_count(recognizer.pipeline)
        self.state_kind = network_capabilities(network).frame_state
        self.mode_reason = incremental_blocker(network)
        graph = None
        if self.mode_reason is None and self.state_kind != "recurrent" and runtime in ("torch", "onnx"):
            graph = graph_state(network, self.window_length, runtime, metadata)
            if graph is None:
                self.mode_reason = (
                    f"the {self.state_kind} state runs in NumPy, so runtime '{runtime}' runs the whole window"
                )
        self.mode = "incremental" if self.mode_reason is None else "window"
        self.runtime = resolve_runtime(runtime, self.mode == "incremental")
        if graph is not None:
            self.model: Any = graph
        elif self.mode == "incremental":
            self.model = self._state_bank(network, n_features, metadata)
        else:
            self.model = WindowRunner(self.features, self.window_length, self._window_fn(network, n_features, metadata))
        # rules fitted by `actrec stream --calibrate` (saved in the model), then rule_settings (a
        # rules YAML, stream flags) over them, over the defaults scaled to this model
        saved = getattr(recognizer, "decision_rules", None) or {}
        self.rules = rules or DecisionRules.from_settings(
            self.window_length, self.sample_rate_hz, {**saved, **(rule_settings or {})}
        )
        self.decisions = DecisionMaker(self.rules, self.label_names, self.sample_rate_hz)
        # a kernel state standardises complete frames itself (`KernelStream.take_raw_frames`)
        self._raw_frames = isinstance(self.model, KernelStream) and self.features.standardize_only
        if self._raw_frames:
            self.model.take_raw_frames(self.features.mean, self.features.std)
        log.info("streaming %s", self.describe())
        self.model_frame_shape = tuple(getattr(recognizer, "frame_shape", ()) or ()) or None
        self.frame_shape = self.model_frame_shape
        self.frame_index = 0
        self.last_time = 0.0

    def _state_bank(self, network: Any, n_features: int, metadata: dict) -> FrameState | GraphBank:
        if self.state_kind != "recurrent":
            return frame_state(network, self.window_length)
        if self.runtime == "numpy":
            bank = NumpyBank(network, self.window_length)
            if self.features.standardize_only:
                bank.divide_inputs(self.features.std)
                self._centred_input = bank.input_row
            return bank
        step = TorchBankStep(network)
        if self.runtime == "torch":
            return GraphBank(step, self.window_length, torch_step_fn(step))
        session = onnx_session(bank_onnx_bytes(step, n_features, self.window_length, metadata))
        return GraphBank(step, self.window_length, onnx_bank_fn(session, step))

    def _window_fn(self, network: Any, n_features: int, metadata: dict) -> Callable[[np.ndarray], np.ndarray]:
        if self.runtime == "onnx":
            return onnx_window_fn(onnx_session(window_onnx_bytes(network, n_features, self.window_length, metadata)))
        return torch_window_fn(network)

    def fork(self, rules: DecisionRules | None = None) -> Streamer:
        """A new stream over the same model at frame 0, with `rules` (default: these). A state
        that can start afresh from this one (`fresh()`: a random-kernel model's, which takes
        ~20 ms to build) is shared rather than rebuilt, and so is what this stream read from the
        model (its mode, runtime, capabilities: checking them again walks the network, ~1 ms): a
        server that opens a stream per connection does that once per model. Other states are
        built anew, as a new Streamer builds them."""
        fresh = getattr(self.model, "fresh", None) if self.mode == "incremental" else None
        if fresh is None or self._centred_input is not None:
            return Streamer(self.recognizer, self.window_length, self.runtime, rules or self.rules)
        twin = copy.copy(self)
        twin.model = fresh()
        twin.features = FrameFeatures(self.recognizer.pipeline)  # holds the frames a context step reads
        twin.label_names = list(self.label_names)
        twin.rules = rules or self.rules
        twin.decisions = DecisionMaker(twin.rules, twin.label_names, twin.sample_rate_hz)
        twin.frame_shape = twin.model_frame_shape
        twin.frame_index = 0
        twin.last_time = 0.0
        return twin

    def describe(self) -> str:
        """One line for logs and the CLI: how each frame is computed."""
        if self.mode == "incremental":
            how = self.model.how
            return f"incremental: through {how} ({self.runtime})"
        return f"window: {self.mode_reason}, so each frame runs the {self.window_length}-frame window ({self.runtime})"

    def push(self, frame: np.ndarray | None, time: float | None = None) -> Decision:
        """The decision at this frame. `frame`: one raw feature vector `[F]` or pose `[J, C]`;
        None or all-NaN is a missing frame (no person, dropped sample): the label holds, and
        turns `no one` after `rules.no_one_after_s`, which also restarts the window."""
        index = self.frame_index
        self.frame_index += 1
        self.last_time = index / self.sample_rate_hz if time is None else float(time)
        if frame is not None:
            frame = np.asarray(frame, dtype=np.float32)
            flat = frame.reshape(-1)
        # One cheap test for the usual case: a dot product is NaN/inf if any value is.
        complete = frame is not None and math.isfinite(float(flat @ flat))
        if frame is None or (not complete and np.isnan(frame).all()):
            was_absent = self.decisions.absent
            decision = self.decisions.update(index, self.last_time, None)
            if decision.label == self.rules.no_one_label and not was_absent:
                self._reset_model()
            return decision
        if frame.shape != self.frame_shape:
            if self.frame_shape is not None:
                raise DataError(
                    f"frame {index} has shape {frame.shape} but the model takes {self.frame_shape}; "
                    "give every frame the same features as in training"
                )
            self.frame_shape = frame.shape
        if self._centred_input is not None:  # standardize-only pipeline, std folded into the bank
            np.subtract(flat, self.features.mean, out=self._centred_input)
            if not complete:
                np.nan_to_num(self._centred_input, copy=False)
            logits = self.model.step_input()
        elif self._raw_frames and complete:
            logits = self.model.step_raw(flat)
        elif self.mode == "window" and self.features.context_frames:
            logits = self.model.push(frame, None)
        else:
            variants = self.features.push(frame)
            if not complete:
                np.nan_to_num(variants, copy=False)
            if self.mode == "incremental":
                logits = self.model.step(variants)
            else:
                logits = self.model.push(frame, variants)
        return self.decisions.update(index, self.last_time, softmax(logits))

    def finish(self) -> list[Event]:
        """End events for whatever is still active when the stream stops."""
        return self.decisions.finish(max(0, self.frame_index - 1), self.last_time)

    def reset(self) -> None:
        """Forget everything: a new stream starts at frame 0."""
        self._reset_model()
        self.decisions.reset()
        self.frame_shape = self.model_frame_shape
        self.frame_index = 0
        self.last_time = 0.0

    def _reset_model(self) -> None:
        self.features.reset()
        self.model.reset()
