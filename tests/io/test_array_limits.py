"""A `.npy` / `.npz` whose headers declare too much is refused in one line before numpy allocates
or inflates anything: a 36 TiB header, a compression bomb, a header promising more data than the
file holds, and files over the limits a caller (the server) sets."""

from __future__ import annotations

import numpy as np
import pytest

from actrec.data.loading import load_dataset
from actrec.errors import DataError
from actrec.io.array_limits import MAX_BYTES_ENV, ArrayLimits
from actrec.io.recording import load_recording
from tests.helpers.bombs import TIB_36, npy_header, npz_of, zero_bomb


def one_line_naming(error: pytest.ExceptionInfo, path) -> str:
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_300_byte_npy_declaring_36_tib_is_refused_before_allocating(tmp_path):
    path = tmp_path / "forged.npy"
    path.write_bytes(npy_header(TIB_36) + bytes(100))
    assert path.stat().st_size < 300
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert "36.0 TiB" in one_line_naming(error, path) and "limit" in str(error.value)


def test_a_300_byte_npz_declaring_36_tib_is_refused_before_allocating(tmp_path):
    path = npz_of(tmp_path / "forged.npz", {"X.npy": npy_header(TIB_36), "y.npy": npy_header((2,), "<i8") + bytes(16)})
    assert path.stat().st_size < 400
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert "'X' declares shape" in one_line_naming(error, path) and "36.0 TiB" in str(error.value)


def test_a_header_promising_more_than_the_file_holds_is_refused(tmp_path):
    path = npz_of(tmp_path / "short.npz", {"X.npy": npy_header((4, 1000, 4)) + bytes(64)})
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert "truncated or forged" in one_line_naming(error, path)


def test_a_compression_bomb_is_refused_from_its_sizes_alone(tmp_path):
    path = zero_bomb(tmp_path / "bomb.npz", 8 << 20)
    assert path.stat().st_size < 100_000  # 8 MiB of zeros deflate ~1000-fold
    with pytest.raises(DataError) as error:
        load_dataset(path)
    assert "-fold" in one_line_naming(error, path) and "compression bomb" in str(error.value)
    assert str(error.value).endswith("ACTREC_MAX_ARRAY_RATIO=N")


def test_the_ratio_limit_comes_from_the_environment_too(tmp_path, monkeypatch):
    path = zero_bomb(tmp_path / "padded.npz", 2 << 20)
    monkeypatch.setenv("ACTREC_MAX_ARRAY_RATIO", "5000")
    assert load_dataset(path).X.shape[0] == 2


def test_a_recording_that_is_a_bomb_is_refused(tmp_path):
    path = zero_bomb(tmp_path / "recording.npz", 8 << 20)
    with pytest.raises(DataError) as error:
        load_recording(path)
    one_line_naming(error, path)


def test_the_callers_limits_bound_elements_and_bytes(tmp_path):
    X = np.random.default_rng(0).standard_normal((8, 50, 4)).astype(np.float32)
    np.savez(tmp_path / "plain.npz", X=X, y=np.arange(8) % 2)
    np.save(tmp_path / "plain.npy", X)
    assert load_dataset(tmp_path / "plain.npz").X.shape == (8, 50, 4)
    for name in ("plain.npz", "plain.npy"):
        with pytest.raises(DataError) as by_bytes:
            load_dataset(tmp_path / name, limits=ArrayLimits(max_bytes=X.nbytes - 1, remedy="send less"))
        assert one_line_naming(by_bytes, tmp_path / name).endswith("send less")
        with pytest.raises(DataError):
            load_dataset(tmp_path / name, limits=ArrayLimits(max_elements=X.size - 1))


def test_the_command_line_limit_comes_from_the_environment(tmp_path, monkeypatch):
    X = np.zeros((2, 10, 4), np.float32)
    np.savez(tmp_path / "small.npz", X=X, y=np.arange(2))
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    with pytest.raises(DataError) as error:
        load_dataset(tmp_path / "small.npz")
    assert MAX_BYTES_ENV in one_line_naming(error, tmp_path / "small.npz")
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(DataError, match=MAX_BYTES_ENV):
        load_dataset(tmp_path / "small.npz")


def test_a_library_error_without_a_message_is_still_one_line(tmp_path, monkeypatch):
    """A reader error raised with no text (as a truncated deflate stream can give) once made the
    one-line message itself raise IndexError; it now names the error's type."""
    import zipfile

    path = tmp_path / "cut.npz"
    np.savez(path, X=np.zeros((2, 3), np.float32), y=np.zeros(2, np.int64))

    def no_message(*args, **kwargs):
        raise EOFError()

    monkeypatch.setattr(zipfile.ZipFile, "infolist", no_message)
    with pytest.raises(DataError) as error:
        load_dataset(str(path))
    assert "EOFError" in one_line_naming(error, path)
