"""Per-frame recurrent inference that equals batch predict on every sliding window.

A sliding window of W frames restarts the recurrence at each window start, so carrying one state
is not the same as predicting on the window. The *staggered state bank* keeps W states per layer,
one per window start offset (row s mod W started at frame s). Each new frame advances every row
in one batched cell step; the row that started W-1 frames ago has then seen exactly the current
window, its state goes through the pooling and head, and that row is zeroed to start the next
window. Before W frames the oldest row has seen the partial window, which equals batch predict
with `lengths`. Cost per frame: a few `[W, H]` matrix products, one batched call per layer
instead of W sequential steps, so it grows with W (`bench/stream.py` measures it at W = 30 and
250), unlike the kernel models' running sums.

`NumpyBank` runs the cell math (PyTorch gate order: GRU r, z, n with b_hn inside r * (...);
LSTM i, f, g, o) in float32 NumPy with preallocated buffers. `TorchBankStep` is the same step as
an `nn.Module` for the torch runtime and for ONNX export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import torch
from scipy.special import erf
from torch import nn

from actrec.models.recurrent import RecurrentNet
from actrec.models.registry import network_capabilities


def incremental_blocker(network: nn.Module) -> str | None:
    """Why `network` cannot be updated frame by frame, or None when the state bank applies
    (read from the model's declared `Capabilities`)."""
    capabilities = network_capabilities(network)
    if capabilities.per_frame_streaming:
        return None
    return f"{type(network).__name__}: {capabilities.streaming_note}"


def _numpy_activation(module: nn.Module) -> Callable[[np.ndarray], np.ndarray] | None:
    """NumPy twin of a head activation module; None for modules that are identity in eval."""
    if isinstance(module, nn.ReLU):
        return lambda x: np.maximum(x, 0.0)
    if isinstance(module, nn.Tanh):
        return np.tanh
    if isinstance(module, nn.GELU):
        return lambda x: (0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))).astype(np.float32)
    if isinstance(module, nn.ELU):
        alpha = module.alpha
        return lambda x: np.where(x > 0, x, alpha * np.expm1(x)).astype(np.float32)
    if isinstance(module, nn.SELU):
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        return lambda x: (scale * np.where(x > 0, x, alpha * np.expm1(x))).astype(np.float32)
    if isinstance(module, nn.Dropout):
        return None
    raise TypeError(f"head layer {type(module).__name__} has no NumPy version")


def _with_bias(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """`[R, F + 1]`: `weight @ [x, 1]` = `weight @ x + bias` in one matrix-vector product."""
    return np.ascontiguousarray(np.column_stack([weight, bias]), dtype=np.float32)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy().astype(np.float32))


class NumpyBank:
    """Staggered state bank of a unidirectional GRU/LSTM stack with last or mean pooling.

    Layout, chosen for few and fast NumPy calls (each costs about a microsecond at this size):
    all hidden states live in one array `state [H_last + ... + H_0 + 1, W]` (one column per
    window start, a constant row of ones at the bottom). Layer k reads `state[offset_k:]`
    (its own state, the layer below, the ones row) with a single matmul whose weight matrix
    holds W_hh, W_ih and the biases, giving every gate pre-activation at once; for the first
    layer the frame's input projection goes into the ones row's column. Sigmoid gates are
    pre-scaled by 1/2 so sigmoid(a) = 0.5 + 0.5 * tanh(a / 2) costs one fast tanh (scipy's
    expit is ~8x slower). Every op writes to a buffer distinct from its inputs: NumPy copies
    operands that are different views of one array. The columns are padded to a multiple of 8
    (OpenBLAS runs [.., 32] products ~1.3x faster than [.., 30]); padding columns are never
    read and are cleared once per window.
    """

    how = "a staggered state bank (one batched step over the window's states: its cost grows with the window)"

    def __init__(self, network: RecurrentNet, window_length: int) -> None:
        reason = incremental_blocker(network)
        if reason is not None:
            raise ValueError(reason)
        self.window_length = window_length
        self.lstm = isinstance(network.rnn[0], nn.LSTM)
        self.mean_pooling = network.config.pooling == "mean"
        rnn = cast(list[nn.GRU | nn.LSTM], list(network.rnn))
        sizes = [layer.hidden_size for layer in rnn]
        # Layer k's rows start at offsets[k]; the last layer sits on top, the ones row at the bottom.
        self.offsets = [sum(sizes[k + 1 :]) for k in range(len(sizes))]
        self.columns = -(-window_length // 8) * 8
        self.state = np.zeros((sum(sizes) + 1, self.columns), np.float32)
        self.state[-1] = 1.0
        self.layers = [self._layer(k, layer) for k, layer in enumerate(rnn)]
        self.head: list = []
        for module in network.head:
            if isinstance(module, nn.Linear):
                self.head.append((_array(module.weight), _array(module.bias)))
            else:
                activation = _numpy_activation(module)
                if activation is not None:
                    self.head.append(activation)
        self.sums = np.zeros((sizes[-1], self.columns), np.float32)
        self.column_index = np.arange(self.columns)
        # Last pooling: the head's first Linear reads the whole state column (the last layer sits
        # on top, the ones row carries the bias), one matrix-vector product instead of two ops.
        self.head_on_state: np.ndarray | None = None
        if not self.mean_pooling and self.head and isinstance(self.head[0], tuple):
            weight, bias = self.head.pop(0)
            self.head_on_state = np.zeros((weight.shape[0], self.state.shape[0]), np.float32)
            self.head_on_state[:, : sizes[-1]] = weight
            self.head_on_state[:, -1] = bias
        self.count = 0
        # One frame's features followed by a constant 1 (the input bias is a weight column), so a
        # caller can write the frame in place (`input_row`) and run `step_input` without a copy.
        first = self.layers[0]
        assert first.input_weight is not None  # the first layer reads the frame
        self.input_weight = first.input_weight  # [rows, F + 1]: the same array, changed in place only
        self.frame_input = np.ones(self.input_weight.shape[1], np.float32)
        self.input_row = self.frame_input[:-1]
        self.projected = np.zeros(self.input_weight.shape[0], np.float32)
        rows = first.into_fused
        self._projected_fused, self._fused_inputs = self.projected[:rows], first.bias_column[:rows]
        self._projected_new = self.projected[rows:, None]  # GRU: W_in x + b_in for every window
        self._pad = slice(window_length, self.columns) if self.columns > window_length else None
        # What a new window starts from: zero hidden states (and cells, and pooling sums).
        self._cleared = (
            [self.state[:-1]]
            + [layer.c for layer in self.layers if self.lstm]
            + ([self.sums] if self.mean_pooling else [])
        )

    def _layer(self, k: int, layer: nn.GRU | nn.LSTM) -> _BankLayer:
        """Fused weights `[4H, rows read]` over (own state, layer below, ones row).

        GRU gate rows: r, z (input + hidden, pre-scaled), W_hn h + b_hn, W_in x + b_in (kept
        apart because n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). LSTM: i, f, g, o.
        Deeper GRU layers fold r's sigmoid into the last two blocks: with r = (1 + tanh(a_r / 2)) / 2,
        n = tanh(A + tanh(a_r / 2) * B) for B = (W_hn h + b_hn) / 2 and A = W_in x + b_in + B, which
        saves finishing r (two ops on [H, W]) for the same matmul size.
        """
        hidden = layer.hidden_size
        weight_ih, weight_hh = _array(layer.get_parameter("weight_ih_l0")), _array(layer.get_parameter("weight_hh_l0"))
        bias_ih, bias_hh = _array(layer.get_parameter("bias_ih_l0")), _array(layer.get_parameter("bias_hh_l0"))
        inputs = weight_ih.shape[1]
        if self.lstm:
            rows_hh, rows_ih, bias = weight_hh, weight_ih, bias_ih + bias_hh
            sigmoid = np.r_[0 : 2 * hidden, 3 * hidden : 4 * hidden]
        else:
            zeros_h, zeros_x = np.zeros((hidden, hidden), np.float32), np.zeros((hidden, inputs), np.float32)
            rows_hh = np.concatenate([weight_hh[: 2 * hidden], weight_hh[2 * hidden :], zeros_h])
            rows_ih = np.concatenate([weight_ih[: 2 * hidden], zeros_x, weight_ih[2 * hidden :]])
            bias = np.concatenate(
                [bias_ih[: 2 * hidden] + bias_hh[: 2 * hidden], bias_hh[2 * hidden :], bias_ih[2 * hidden :]]
            )
            sigmoid = np.arange(2 * hidden)
        rows_hh, rows_ih, bias = rows_hh.copy(), rows_ih.copy(), bias.copy()
        for array in (rows_hh, rows_ih, bias):
            array[sigmoid] *= 0.5
        width = self.state.shape[0] - self.offsets[k]
        if k == 0 and not self.lstm:
            # The first GRU layer's W_in x + b_in is the same for every window: it is added as one
            # broadcast column instead of computing H all-zero-weight rows in the matmul.
            fused = np.zeros((3 * hidden, width), np.float32)
            fused[:, :hidden] = rows_hh[: 3 * hidden]
            fused[2 * hidden :, -1] = bias[2 * hidden : 3 * hidden]  # b_hn, constant
            input_rows = np.r_[0 : 2 * hidden, 3 * hidden : 4 * hidden]
            return _BankLayer(
                hidden,
                fused,
                self.state,
                self.offsets[k],
                self.columns,
                "gru",
                input_weight=_with_bias(rows_ih[input_rows], bias[input_rows]),
                into_fused=2 * hidden,
            )
        if k and not self.lstm:
            rows_hh[2 * hidden : 3 * hidden] *= 0.5
            bias[2 * hidden : 3 * hidden] *= 0.5
            rows_hh[3 * hidden :] = rows_hh[2 * hidden : 3 * hidden]
            bias[3 * hidden :] += bias[2 * hidden : 3 * hidden]
        fused = np.zeros((4 * hidden, width), np.float32)
        fused[:, :hidden] = rows_hh
        fused[:, -1] = bias
        if k:
            fused[:, hidden : hidden + inputs] = rows_ih  # the layer below sits right under this one
            return _BankLayer(
                hidden, fused, self.state, self.offsets[k], self.columns, "lstm" if self.lstm else "gru_folded"
            )
        fused[:, -1] = 0.0
        return _BankLayer(
            hidden,
            fused,
            self.state,
            self.offsets[k],
            self.columns,
            "lstm",
            input_weight=_with_bias(rows_ih, bias),
            into_fused=4 * hidden,
        )

    def divide_inputs(self, std: np.ndarray) -> None:
        """Fold a per-feature division (standardize's std) into the first layer's input weights,
        saving one op per frame; the caller then feeds `x - mean`."""
        self.input_weight[:, :-1] /= std[None, :]

    def reset(self) -> None:
        self.state[:-1] = 0.0
        for layer in self.layers:
            layer.c.fill(0.0)
        self.sums.fill(0.0)
        self.count = 0

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` of the window ending at this frame; `variants` from `FrameFeatures.push`."""
        if variants.shape[0] == 1:
            self.input_row[:] = variants[0]
            return self.step_input()
        first, width = self.layers[0], self.window_length
        self._start_column()
        projected = self.input_weight[:, :-1] @ variants.T + self.input_weight[:, -1:]  # [rows, V]
        frames_seen = (self.count - self.column_index) % width  # before this frame, per column
        per_column = projected[:, np.minimum(frames_seen, projected.shape[1] - 1)]
        rows = first.into_fused
        self._fused_inputs.fill(0.0)
        first.input_new = per_column[rows:]
        np.matmul(first.fused, first.below, out=first.gates)
        first.gates[:rows] += per_column[:rows]
        return self._advance()

    def step_input(self) -> np.ndarray:
        """`step` for one feature row that every window shares, already written to `input_row`."""
        self._start_column()
        first = self.layers[0]
        np.matmul(self.input_weight, self.frame_input, out=self.projected)
        self._fused_inputs[:] = self._projected_fused
        first.input_new = self._projected_new
        np.matmul(first.fused, first.below, out=first.gates)
        return self._advance()

    def _start_column(self) -> None:
        """Zero the state of the window that starts at this frame (and, once per window, padding)."""
        start = self.count % self.window_length
        for array in self._cleared:
            array[:, start] = 0.0
            if start == 0 and self._pad is not None:
                array[:, self._pad] = 0.0

    def _advance(self) -> np.ndarray:
        """Finish the cell step (first layer's gates already computed), then pool and run the head."""
        layers = self.layers
        layers[0].cell()
        for layer in layers[1:]:
            np.matmul(layer.fused, layer.below, layer.gates)
            layer.cell()
        self.count += 1
        width = self.window_length
        column = max(0, self.count - width) % width
        if self.mean_pooling:
            self.sums += layers[-1].h
            out = self.sums[:, column] / np.float32(min(self.count, width))
        elif self.head_on_state is not None:
            out = self.head_on_state @ self.state[:, column]
        else:
            out = layers[-1].h[:, column]
        for part in self.head:
            out = part[0] @ out + part[1] if isinstance(part, tuple) else part(out)
        return out


class _BankLayer:
    """One layer's fused weights, buffers and precomputed views (slicing costs time per frame).

    `cell()` finishes the step from `gates` (already `fused @ below`) into `h` (and `c`). Each
    NumPy call costs ~0.5 us here, so operands are same-shape arrays (a Python scalar or a
    broadcast column costs more than the arithmetic) and `out` is positional.
    """

    def __init__(
        self,
        hidden: int,
        fused: np.ndarray,
        state: np.ndarray,
        offset: int,
        columns: int,
        kind: str,
        input_weight: np.ndarray | None = None,
        into_fused: int = 0,
    ) -> None:
        # First layer only: input projection `input_weight @ [x, 1]` (bias in the last column), whose first
        # `into_fused` rows go into the fused matrix's ones column and the rest (GRU) into `input_new`.
        self.fused, self.input_weight, self.into_fused = fused, input_weight, into_fused
        self.bias_column = fused[:, -1]
        self.below = state[offset:]
        self.h = state[offset : offset + hidden]
        self.gates = np.zeros((fused.shape[0], columns), np.float32)
        self.half = np.full_like(self.gates, 0.5)
        self.sigmoid = np.zeros_like(self.gates)
        self.c, self.new, self.tmp = (np.zeros((hidden, columns), np.float32) for _ in range(3))
        self.blocks = [self.gates[i * hidden : (i + 1) * hidden] for i in range(fused.shape[0] // hidden)]
        self.sigmoid_blocks = [self.sigmoid[i * hidden : (i + 1) * hidden] for i in range(fused.shape[0] // hidden)]
        self.reset_update, self.half_reset_update = self.gates[: 2 * hidden], self.half[: 2 * hidden]
        self.reset, self.update, self.hidden_new = self.blocks[:3]
        self.half_h = self.half[:hidden]
        self.input_new: np.ndarray = self.blocks[3] if len(self.blocks) == 4 else np.empty((0, columns), np.float32)
        self.cell = {"gru": self.gru_cell, "gru_folded": self.gru_cell_folded, "lstm": self.lstm_cell}[kind]

    def gru_cell(self) -> None:
        """First GRU layer: gates r, z (pre-scaled by 1/2), W_hn h + b_hn; `input_new` is W_in x + b_in."""
        tanh, multiply, add = np.tanh, np.multiply, np.add
        tanh(self.reset_update, self.reset_update)
        multiply(self.reset_update, self.half_reset_update, self.reset_update)
        add(self.reset_update, self.half_reset_update, self.reset_update)  # r, z
        multiply(self.hidden_new, self.reset, self.new)
        add(self.new, self.input_new, self.new)
        tanh(self.new, self.new)
        np.subtract(self.h, self.new, self.tmp)  # h' = n + z * (h - n)
        multiply(self.tmp, self.update, self.tmp)
        add(self.new, self.tmp, self.h)

    def gru_cell_folded(self) -> None:
        """Deeper GRU layer: gates a_r / 2, a_z / 2, B, A (see `NumpyBank._layer`)."""
        tanh, multiply, add = np.tanh, np.multiply, np.add
        tanh(self.reset_update, self.reset_update)
        multiply(self.reset, self.hidden_new, self.new)
        add(self.new, self.input_new, self.new)
        tanh(self.new, self.new)
        multiply(self.update, self.half_h, self.update)
        add(self.update, self.half_h, self.update)  # z
        np.subtract(self.h, self.new, self.tmp)  # h' = n + z * (h - n)
        multiply(self.tmp, self.update, self.tmp)
        add(self.new, self.tmp, self.h)

    def lstm_cell(self) -> None:
        input_gate, forget, _, output = self.sigmoid_blocks
        np.tanh(self.gates, self.gates)
        np.multiply(self.gates, self.half, self.sigmoid)  # i, f, o rows are sigmoids; g stays in `gates`
        np.add(self.sigmoid, self.half, self.sigmoid)
        np.multiply(self.c, forget, self.c)
        np.multiply(input_gate, self.blocks[2], self.tmp)
        np.add(self.c, self.tmp, self.c)
        np.tanh(self.c, self.h)
        np.multiply(self.h, output, self.h)


class TorchBankStep(nn.Module):
    """One bank step as a graph: per-row features and states in, logits of every row and new
    states out. The caller zeroes the starting row and picks the output row (see `NumpyBank`).

    forward(features [R, F] or [1, F] (shared by every row), steps [R, 1] (frames each row has
    seen, this one included),
    sums [R, H_last], h_0 .. h_k [R, H_i] (and c_0 .. c_k for LSTM)) ->
    (logits [R, C], sums, h_0 .. h_k, c_0 .. c_k).
    """

    def __init__(self, network: RecurrentNet) -> None:
        super().__init__()
        reason = incremental_blocker(network)
        if reason is not None:
            raise ValueError(reason)
        self.lstm = isinstance(network.rnn[0], nn.LSTM)
        self.mean_pooling = network.config.pooling == "mean"
        self.cells = nn.ModuleList()
        for layer in cast(list[nn.GRU | nn.LSTM], list(network.rnn)):
            cell_class = nn.LSTMCell if self.lstm else nn.GRUCell
            cell = cell_class(layer.input_size, layer.hidden_size)
            cell.weight_ih.data.copy_(layer.get_parameter("weight_ih_l0").data)
            cell.weight_hh.data.copy_(layer.get_parameter("weight_hh_l0").data)
            cell.bias_ih.data.copy_(layer.get_parameter("bias_ih_l0").data)
            cell.bias_hh.data.copy_(layer.get_parameter("bias_hh_l0").data)
            self.cells.append(cell)
        self.head = network.head
        self.eval()

    @property
    def state_names(self) -> list[str]:
        names = [f"h_{i}" for i in range(len(self.cells))]
        return names + ([f"c_{i}" for i in range(len(self.cells))] if self.lstm else [])

    def forward(
        self, features: torch.Tensor, steps: torch.Tensor, sums: torch.Tensor, *states: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        layers = len(self.cells)
        hs, cs = list(states[:layers]), list(states[layers:])
        inputs = features
        for index, cell in enumerate(self.cells):
            if self.lstm:
                hs[index], cs[index] = self._lstm(cast(nn.LSTMCell, cell), inputs, hs[index], cs[index])
            else:
                hs[index] = self._gru(cast(nn.GRUCell, cell), inputs, hs[index])
            inputs = hs[index]
        sums = sums + inputs
        pooled = sums / steps if self.mean_pooling else inputs
        return (self.head(pooled), sums, *hs, *cs)

    @staticmethod
    def _gru(cell: nn.GRUCell, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        # Written out (not cell(x, h)) so the ONNX graph is plain MatMul/Sigmoid/Tanh.
        gi = x @ cell.weight_ih.T + cell.bias_ih
        gh = h @ cell.weight_hh.T + cell.bias_hh
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        reset = torch.sigmoid(i_r + h_r)
        update = torch.sigmoid(i_z + h_z)
        new = torch.tanh(i_n + reset * h_n)
        return new + update * (h - new)

    @staticmethod
    def _lstm(
        cell: nn.LSTMCell, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
