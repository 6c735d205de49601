"""Ragged sequences read from files are padded (never truncated) and an empty one is named."""

import numpy as np
import pytest

from actrec.errors import DataError
from actrec.io.arrays import pad_sequences


def test_empty_sequence_is_named():
    with pytest.raises(DataError, match="sample b is empty"):
        pad_sequences([np.ones((3, 2)), np.ones((0, 2))], ids=["a", "b"])


def test_ragged_sequences_are_padded_not_truncated():
    X, lengths = pad_sequences([np.ones((3, 2)), np.ones((5, 2))])
    assert X.shape == (2, 5, 2) and lengths.tolist() == [3, 5]
    assert X[0, 3:].sum() == 0
