"""O(1)-per-frame recurrent inference that equals batch predict on every sliding window.

A sliding window of W frames restarts the recurrence at each window start, so carrying one state
is not the same as predicting on the window. The *staggered state bank* keeps W states per layer,
one per window start offset (row s mod W started at frame s). Each new frame advances every row
in one batched cell step; the row that started W-1 frames ago has then seen exactly the current
window, its state goes through the pooling and head, and that row is zeroed to start the next
window. Before W frames the oldest row has seen the partial window, which equals batch predict
with `lengths`. Cost per frame: a few `[W, H]` matrix products, independent of W's history.

`NumpyBank` runs the cell math (PyTorch gate order: GRU r, z, n with b_hn inside r * (...);
LSTM i, f, g, o) in float32 NumPy with preallocated buffers. `TorchBankStep` is the same step as
an `nn.Module` for the torch runtime and for ONNX export.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy.special import erf
from torch import nn

from actrec.models.recurrent import RecurrentNet


def incremental_blocker(network: nn.Module) -> str | None:
    """Why `network` cannot be updated frame by frame, or None when the state bank applies."""
    if not isinstance(network, RecurrentNet):
        return f"{type(network).__name__} looks at the whole window at once"
    if network.config.bidirectional:
        return "a bidirectional layer reads each window backwards from its end"
    if network.config.pooling not in ("last", "mean"):
        return f"'{network.config.pooling}' pooling weighs every step of the window"
    return None


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

    def __init__(self, network: RecurrentNet, window_length: int) -> None:
        reason = incremental_blocker(network)
        if reason is not None:
            raise ValueError(reason)
        self.window_length = window_length
        self.lstm = isinstance(network.rnn[0], nn.LSTM)
        self.mean_pooling = network.config.pooling == "mean"
        sizes = [layer.hidden_size for layer in network.rnn]
        # Layer k's rows start at offsets[k]; the last layer sits on top, the ones row at the bottom.
        self.offsets = [sum(sizes[k + 1 :]) for k in range(len(sizes))]
        self.columns = -(-window_length // 8) * 8
        self.state = np.zeros((sum(sizes) + 1, self.columns), np.float32)
        self.state[-1] = 1.0
        self.layers = [self._layer(k, layer) for k, layer in enumerate(network.rnn)]
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
        self.count = 0

    def _layer(self, k: int, layer: nn.RNNBase) -> "_BankLayer":
        """Fused weights `[4H, rows read]` over (own state, layer below, ones row).

        GRU gate rows: r, z (input + hidden, pre-scaled), W_hn h + b_hn, W_in x + b_in (kept
        apart because n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). LSTM: i, f, g, o.
        """
        hidden = layer.hidden_size
        weight_ih, weight_hh = _array(layer.weight_ih_l0), _array(layer.weight_hh_l0)
        bias_ih, bias_hh = _array(layer.bias_ih_l0), _array(layer.bias_hh_l0)
        inputs = weight_ih.shape[1]
        if self.lstm:
            rows_hh, rows_ih, bias = weight_hh, weight_ih, bias_ih + bias_hh
            sigmoid = np.r_[0 : 2 * hidden, 3 * hidden : 4 * hidden]
        else:
            zeros_h, zeros_x = np.zeros((hidden, hidden), np.float32), np.zeros((hidden, inputs), np.float32)
            rows_hh = np.concatenate([weight_hh[: 2 * hidden], weight_hh[2 * hidden :], zeros_h])
            rows_ih = np.concatenate([weight_ih[: 2 * hidden], zeros_x, weight_ih[2 * hidden :]])
            bias = np.concatenate([bias_ih[: 2 * hidden] + bias_hh[: 2 * hidden], bias_hh[2 * hidden :], bias_ih[2 * hidden :]])
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
            return _BankLayer(hidden, fused, self.state, self.offsets[k], self.columns,
                              input_weight=rows_ih[input_rows], input_bias=bias[input_rows], into_fused=2 * hidden)
        fused = np.zeros((4 * hidden, width), np.float32)
        fused[:, :hidden] = rows_hh
        fused[:, -1] = bias
        if k:
            fused[:, hidden : hidden + inputs] = rows_ih  # the layer below sits right under this one
            return _BankLayer(hidden, fused, self.state, self.offsets[k], self.columns)
        fused[:, -1] = 0.0
        return _BankLayer(hidden, fused, self.state, self.offsets[k], self.columns,
                          input_weight=rows_ih, input_bias=bias, into_fused=4 * hidden)

    def divide_inputs(self, std: np.ndarray) -> None:
        """Fold a per-feature division (standardize's std) into the first layer's input weights,
        saving one op per frame; the caller then feeds `x - mean`."""
        self.layers[0].input_weight = self.layers[0].input_weight / std[None, :]

    def reset(self) -> None:
        self.state[:-1] = 0.0
        for layer in self.layers:
            layer.c.fill(0.0)
        self.sums.fill(0.0)
        self.count = 0

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` of the window ending at this frame; `variants` from `FrameFeatures.push`."""
        width = self.window_length
        start = self.count % width
        if start == 0 and self.columns > width:  # once per window: clear the padding columns
            self._clear(slice(width, self.columns))
        self._clear(slice(start, start + 1))
        first = self.layers[0]
        projected = first.input_weight @ variants.T  # [rows fed by the input, V]
        projected += first.input_bias[:, None]
        rows = first.into_fused
        per_column = None
        if projected.shape[1] == 1:  # every window sees the same features: one column does it
            first.bias_column[:rows] = projected[:rows, 0]
            first.input_new = projected[rows:]  # GRU: W_in x + b_in, broadcast over the windows
        else:  # frame features differ by window start (pipeline steps with context)
            first.bias_column[:rows] = 0.0
            frames_seen = (self.count - self.column_index) % width  # before this frame, per column
            per_column = projected[:, np.minimum(frames_seen, projected.shape[1] - 1)]
            first.input_new = per_column[rows:]
        for layer in self.layers:
            np.matmul(layer.fused, layer.below, out=layer.gates)
            if per_column is not None:
                layer.gates[:rows] += per_column[:rows]
                per_column = None
            if self.lstm:
                layer.lstm_cell()
            else:
                layer.gru_cell()
        self.count += 1
        column = max(0, self.count - width) % width
        if self.mean_pooling:
            self.sums += self.layers[-1].h
            out = self.sums[:, column] / np.float32(min(self.count, width))
        else:
            out = self.layers[-1].h[:, column]
        for part in self.head:
            out = part[0] @ out + part[1] if isinstance(part, tuple) else part(out)
        return out

    def _clear(self, columns: slice) -> None:
        self.state[:-1, columns] = 0.0
        if self.lstm:
            for layer in self.layers:
                layer.c[:, columns] = 0.0
        if self.mean_pooling:
            self.sums[:, columns] = 0.0


class _BankLayer:
    """One layer's fused weights, buffers and precomputed views (slicing costs time per frame)."""

    def __init__(self, hidden: int, fused: np.ndarray, state: np.ndarray, offset: int, columns: int,
                 input_weight: np.ndarray | None = None, input_bias: np.ndarray | None = None, into_fused: int = 0) -> None:
        # First layer only: input projection `input_weight @ x + input_bias`, whose first
        # `into_fused` rows go into the fused matrix's ones column and the rest (GRU) into `input_new`.
        self.fused, self.input_weight, self.input_bias, self.into_fused = fused, input_weight, input_bias, into_fused
        self.bias_column = fused[:, -1]
        self.below = state[offset:]
        self.h = state[offset : offset + hidden]
        self.gates = np.zeros((fused.shape[0], columns), np.float32)
        self.sigmoid = np.zeros_like(self.gates)
        self.c, self.new, self.tmp = (np.zeros((hidden, columns), np.float32) for _ in range(3))
        self.blocks = [self.gates[i * hidden : (i + 1) * hidden] for i in range(fused.shape[0] // hidden)]
        self.sigmoid_blocks = [self.sigmoid[i * hidden : (i + 1) * hidden] for i in range(fused.shape[0] // hidden)]
        self.reset_update = self.gates[: 2 * hidden]
        self.input_new: np.ndarray | None = self.blocks[3] if len(self.blocks) == 4 else None

    def gru_cell(self) -> None:
        reset, update, hidden_new = self.blocks[:3]
        np.tanh(self.reset_update, out=self.reset_update)
        self.reset_update *= 0.5
        self.reset_update += 0.5
        np.multiply(hidden_new, reset, out=self.new)
        self.new += self.input_new
        np.tanh(self.new, out=self.new)
        np.subtract(self.h, self.new, out=self.tmp)  # h' = n + z * (h - n)
        self.tmp *= update
        np.add(self.new, self.tmp, out=self.h)

    def lstm_cell(self) -> None:
        input_gate, forget, _, output = self.sigmoid_blocks
        np.tanh(self.gates, out=self.gates)
        np.multiply(self.gates, 0.5, out=self.sigmoid)  # i, f, o rows are sigmoids; g stays in `gates`
        self.sigmoid += 0.5
        self.c *= forget
        np.multiply(input_gate, self.blocks[2], out=self.tmp)
        self.c += self.tmp
        np.tanh(self.c, out=self.h)
        self.h *= output


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
        for layer in network.rnn:
            cell_class = nn.LSTMCell if self.lstm else nn.GRUCell
            cell = cell_class(layer.input_size, layer.hidden_size)
            cell.weight_ih.data.copy_(layer.weight_ih_l0.data)
            cell.weight_hh.data.copy_(layer.weight_hh_l0.data)
            cell.bias_ih.data.copy_(layer.bias_ih_l0.data)
            cell.bias_hh.data.copy_(layer.bias_hh_l0.data)
            self.cells.append(cell)
        self.head = network.head
        self.eval()

    @property
    def state_names(self) -> list[str]:
        names = [f"h_{i}" for i in range(len(self.cells))]
        return names + ([f"c_{i}" for i in range(len(self.cells))] if self.lstm else [])

    def forward(self, features: torch.Tensor, steps: torch.Tensor, sums: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        layers = len(self.cells)
        hs, cs = list(states[:layers]), list(states[layers:])
        inputs = features
        for index, cell in enumerate(self.cells):
            if self.lstm:
                hs[index], cs[index] = self._lstm(cell, inputs, hs[index], cs[index])
            else:
                hs[index] = self._gru(cell, inputs, hs[index])
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
    def _lstm(cell: nn.LSTMCell, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
