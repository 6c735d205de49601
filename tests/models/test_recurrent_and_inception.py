import pytest
import torch

from actrec.errors import ConfigError
from actrec.models import build_model


@pytest.mark.parametrize(
    "name,options",
    [
        ("gru", {"pooling": "last"}),
        ("lstm", {"pooling": "mean", "hidden_sizes": [8, 6]}),
        ("gru", {"pooling": "attention", "bidirectional": True}),
        ("inception", {"filters": 4, "depth": 3}),
    ],
)
def test_extra_padding_does_not_change_logits(name, options):
    torch.manual_seed(0)
    model = build_model(name, 5, 3, options).eval()
    x = torch.randn(2, 10, 5)
    lengths = torch.tensor([10, 6])
    x[1, 6:] = 0
    padded = torch.cat([x, torch.zeros(2, 7, 5)], dim=1)
    with torch.no_grad():
        a, b = model(x, lengths), model(padded, lengths)
    assert torch.allclose(a, b, atol=1e-5)


def test_all_pooling_uses_every_step():
    model = build_model("gru", 3, 2, {"pooling": "all", "steps": 8, "dense": []})
    assert model.head[-1].in_features == 8 * 64


def test_unknown_model_and_option_list_the_choices():
    with pytest.raises(ConfigError, match=r"unknown model 'transformerxl'; choose one of: .*gru"):
        build_model("transformerxl", 3, 2)
    with pytest.raises(ConfigError, match="model 'gru' has no option 'units'"):
        build_model("gru", 3, 2, {"units": 3})
    with pytest.raises(ConfigError, match="unknown pooling"):
        build_model("gru", 3, 2, {"pooling": "max"})
