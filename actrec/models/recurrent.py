"""LSTM and GRU stacks, shaped the way Keras users build them.

`Sequential([GRU(64, return_sequences=True), GRU(32), Dense(32), Dense(n)])` is
`gru` with `hidden_sizes=[64, 32]`, `dense=[32]`. Layers are separate single-layer modules so
streaming can carry each layer's state and export can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from actrec.errors import ConfigError
from actrec.models.registry import Capabilities, register_model

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "selu": nn.SELU,
}
POOLINGS = ("last", "mean", "attention", "all")


@dataclass
class RecurrentConfig:
    """hidden_sizes: units per recurrent layer; dense: units per head layer before the output.

    activation: used in the dense head (the recurrent cells keep their own tanh/sigmoid).
    pooling: how a window's hidden states reach the head: the last valid step, the mean over
    valid steps, learned attention weights, or `all` (every step's state concatenated; needs the
    fixed window length `steps`, which the Recognizer fills in).
    """

    hidden_sizes: list[int] = field(default_factory=lambda: [64])
    dense: list[int] = field(default_factory=lambda: [32])
    dropout: float = 0.2
    activation: str = "relu"
    bidirectional: bool = False
    pooling: str = "last"
    steps: int | None = None

    def __post_init__(self) -> None:
        """Checked when the config is made (`TrainConfig.check`), before any data is read."""
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ConfigError(f"hidden_sizes {self.hidden_sizes}: give one positive width per layer, e.g. [64]")
        if self.dense and min(self.dense) < 1:
            raise ConfigError(f"dense {self.dense}: give positive widths, e.g. [32], or [] for none")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling '{self.pooling}'; choose one of: {', '.join(POOLINGS)}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation '{self.activation}'; choose one of: {', '.join(ACTIVATIONS)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout {self.dropout}: use a fraction in [0, 1)")


def head_layers(in_features: int, dense: list[int], activation: str, dropout: float, n_classes: int) -> nn.Sequential:
    """Dense layers with activation and dropout, then the output layer (`activation` is a key of
    ACTIVATIONS, checked by RecurrentConfig)."""
    layers: list[nn.Module] = []
    for units in dense:
        layers += [nn.Linear(in_features, units), ACTIVATIONS[activation](), nn.Dropout(dropout)]
        in_features = units
    layers.append(nn.Linear(in_features, n_classes))
    return nn.Sequential(*layers)


class RecurrentNet(nn.Module):
    """`[B, T, F]` -> logits `[B, C]` through stacked GRU/LSTM layers, a pooling and a dense head."""

    cell: type[nn.GRU] | type[nn.LSTM] = nn.GRU

    @classmethod
    def capabilities_for(cls, config: RecurrentConfig) -> Capabilities:
        """`pooling=all` fixes the window length; a unidirectional stack with last or mean pooling
        streams in O(1) per frame (`actrec.stream.recurrent`)."""
        note = ""
        if config.bidirectional:
            note = "a bidirectional layer reads each window backwards from its end"
        elif config.pooling not in ("last", "mean"):
            note = f"'{config.pooling}' pooling weighs every step of the window"
        return Capabilities(
            fixed_length=config.pooling == "all",
            per_frame_streaming=not note,
            frame_state="" if note else "recurrent",
            streaming_note=note,
        )

    def __init__(self, n_features: int, n_classes: int, config: RecurrentConfig, schema: Any = None) -> None:
        super().__init__()
        if config.pooling == "all" and not config.steps:
            raise ConfigError("pooling 'all' needs the window length: set option steps")
        self.config = config
        directions = 2 if config.bidirectional else 1
        self.rnn = nn.ModuleList()
        in_size = n_features
        for hidden in config.hidden_sizes:
            self.rnn.append(self.cell(in_size, hidden, batch_first=True, bidirectional=config.bidirectional))
            in_size = hidden * directions
        self.between = nn.Dropout(config.dropout)
        self.attention = nn.Linear(in_size, 1) if config.pooling == "attention" else None
        pooled = in_size * (config.steps or 1) if config.pooling == "all" else in_size
        self.head = head_layers(pooled, list(config.dense), config.activation, config.dropout, n_classes)

    def sequence(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden states of the last layer, `[B, T, H]`, zero on padding steps."""
        total = x.shape[1]
        out = x
        for index, layer in enumerate(self.rnn):
            packed = pack_padded_sequence(out, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = layer(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
            if index < len(self.rnn) - 1:
                out = self.between(out)
        return out

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=x.device)
        states = self.sequence(x, lengths)
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        pooling = self.config.pooling
        if pooling == "last":
            pooled = self.last_step(states, lengths)
        elif pooling == "mean":
            pooled = states.sum(1) / lengths[:, None].to(states.dtype)
        elif pooling == "attention":
            assert self.attention is not None  # built for pooling=attention
            scores = self.attention(states).squeeze(-1).masked_fill(~mask, float("-inf"))
            pooled = (torch.softmax(scores, dim=1).unsqueeze(-1) * states).sum(1)
        else:
            steps = self.config.steps
            assert steps is not None  # pooling=all: the Recognizer fills in the window length
            padded = torch.zeros(states.shape[0], steps, states.shape[2], dtype=states.dtype, device=states.device)
            keep = min(steps, states.shape[1])
            padded[:, :keep] = states[:, :keep]
            pooled = padded.flatten(1)
        return self.head(self.between(pooled))

    def last_step(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Forward direction at each sample's last valid step; backward direction at step 0."""
        index = (lengths - 1).clamp(min=0)
        forward = states[torch.arange(states.shape[0], device=states.device), index]
        if not self.config.bidirectional:
            return forward
        hidden = states.shape[2] // 2
        return torch.cat([forward[:, :hidden], states[:, 0, hidden:]], dim=1)


@register_model("gru", RecurrentConfig)
class GRUNet(RecurrentNet):
    cell = nn.GRU


@register_model("lstm", RecurrentConfig)
class LSTMNet(RecurrentNet):
    cell = nn.LSTM
