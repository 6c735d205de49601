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

    States are stored transposed, `[H, W]` (one column per window start), so each gate's block
    of `W_hh @ h` is a contiguous slice: NumPy runs contiguous float32 ops several times faster
    than strided ones, and copies operands that are different views of one array, so every op
    here writes to a buffer distinct from its inputs.
    """

    def __init__(self, network: RecurrentNet, window_length: int) -> None:
        reason = incremental_blocker(network)
        if reason is not None:
            raise ValueError(reason)
        self.window_length = window_length
        self.lstm = isinstance(network.rnn[0], nn.LSTM)
        self.mean_pooling = network.config.pooling == "mean"
        self.layers = [self._layer(layer, window_length) for layer in network.rnn]
        self.head: list = []
        for module in network.head:
            if isinstance(module, nn.Linear):
                self.head.append((_array(module.weight), _array(module.bias)))
            else:
                activation = _numpy_activation(module)
                if activation is not None:
                    self.head.append(activation)
        self.sums = np.zeros((self.layers[-1]["hidden"], window_length), np.float32)
        self.age = np.zeros(window_length, np.int64)
        self.count = 0

    def _layer(self, layer: nn.RNNBase, columns: int) -> dict:
        """Weights `[G*H, In]` with the sigmoid gates pre-scaled by 1/2, so that
        sigmoid(a) = 0.5 + 0.5 * tanh(a / 2) costs one fast tanh (scipy's expit is ~8x slower)."""
        hidden = layer.hidden_size
        gates = 4 if self.lstm else 3
        weight_ih, weight_hh = _array(layer.weight_ih_l0), _array(layer.weight_hh_l0)
        bias_ih, bias_hh = _array(layer.bias_ih_l0), _array(layer.bias_hh_l0)
        if self.lstm:  # i, f, g, o: all but g are sigmoid; the two biases only appear summed
            sigmoid = np.r_[np.arange(2 * hidden), np.arange(3 * hidden, 4 * hidden)]
            bias_in, bias_hn = bias_ih + bias_hh, None
        else:  # r, z, n: b_hn stays inside r * (W_hn h + b_hn)
            sigmoid = np.arange(2 * hidden)
            bias_in = bias_ih.copy()
            bias_in[: 2 * hidden] += bias_hh[: 2 * hidden]
            bias_hn = bias_hh[2 * hidden :, None].copy()
        for array in (weight_ih, weight_hh, bias_in):
            array[sigmoid] *= 0.5
        buffer = lambda height: np.zeros((height, columns), np.float32)  # noqa: E731
        return dict(
            hidden=hidden, weight_ih=weight_ih, weight_hh=weight_hh, bias_in=bias_in[:, None].copy(),
            bias_hn=bias_hn, h=buffer(hidden), c=buffer(hidden), gi=buffer(gates * hidden),
            gh=buffer(gates * hidden), gates=buffer(gates * hidden), new=buffer(hidden), tmp=buffer(hidden),
        )

    def reset(self) -> None:
        for layer in self.layers:
            layer["h"].fill(0.0)
            layer["c"].fill(0.0)
        self.sums.fill(0.0)
        self.age.fill(0)
        self.count = 0

    def step(self, variants: np.ndarray) -> np.ndarray:
        """Logits `[C]` of the window ending at this frame; `variants` from `FrameFeatures.push`."""
        width = self.window_length
        start = self.count % width
        for layer in self.layers:
            layer["h"][:, start] = 0.0
            layer["c"][:, start] = 0.0
        self.sums[:, start] = 0.0
        self.age[start] = 0
        first = self.layers[0]
        projected = first["weight_ih"] @ variants.T + first["bias_in"]  # [G*H, V]
        if projected.shape[1] == 1:
            inputs = projected  # broadcast: every window sees the same features
        else:
            inputs = projected[:, np.minimum(self.age, projected.shape[1] - 1)]
        for index, layer in enumerate(self.layers):
            if index:
                np.matmul(layer["weight_ih"], self.layers[index - 1]["h"], out=layer["gi"])
                layer["gi"] += layer["bias_in"]
                inputs = layer["gi"]
            if self.lstm:
                self._lstm_cell(layer, inputs)
            else:
                self._gru_cell(layer, inputs)
        last = self.layers[-1]["h"]
        self.age += 1
        self.count += 1
        column = max(0, self.count - width) % width
        if self.mean_pooling:
            self.sums += last
            out = self.sums[:, column] / np.float32(self.age[column])
        else:
            out = last[:, column]
        for part in self.head:
            out = part[0] @ out + part[1] if isinstance(part, tuple) else part(out)
        return out

    @staticmethod
    def _gru_cell(layer: dict, inputs: np.ndarray) -> None:
        hidden, h, gh, tmp, new = layer["hidden"], layer["h"], layer["gh"], layer["tmp"], layer["new"]
        reset_update = layer["gates"][: 2 * hidden]
        np.matmul(layer["weight_hh"], h, out=gh)
        np.add(gh[: 2 * hidden], inputs[: 2 * hidden], out=reset_update)
        np.tanh(reset_update, out=reset_update)
        reset_update *= 0.5
        reset_update += 0.5
        np.add(gh[2 * hidden :], layer["bias_hn"], out=new)
        new *= reset_update[:hidden]
        new += inputs[2 * hidden :]
        np.tanh(new, out=new)
        np.subtract(h, new, out=tmp)  # h' = n + z * (h - n)
        tmp *= reset_update[hidden:]
        np.add(new, tmp, out=h)

    @staticmethod
    def _lstm_cell(layer: dict, inputs: np.ndarray) -> None:
        hidden, h, c, gh, gates, tmp = layer["hidden"], layer["h"], layer["c"], layer["gh"], layer["gates"], layer["tmp"]
        np.matmul(layer["weight_hh"], h, out=gh)
        gh += inputs
        np.tanh(gh, out=gh)
        np.multiply(gh, 0.5, out=gates)  # sigmoid gates i, f, o; the g rows are unused here
        gates += 0.5
        c *= gates[hidden : 2 * hidden]
        np.multiply(gates[:hidden], gh[2 * hidden : 3 * hidden], out=tmp)
        c += tmp
        np.tanh(c, out=h)
        h *= gates[3 * hidden :]


class TorchBankStep(nn.Module):
    """One bank step as a graph: per-row features and states in, logits of every row and new
    states out. The caller zeroes the starting row and picks the output row (see `NumpyBank`).

    forward(features [R, F], steps [R, 1] (frames each row has seen, this one included),
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
