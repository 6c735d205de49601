"""The `.actrec` model file: safetensors tensors, actrec's JSON metadata, and a checksum of both.

Layout: a safetensors file whose header metadata holds `actrec` (the JSON the recognizer writes:
format, config, labels, pipeline, ...) and `actrec_sha256`, the SHA-256 of that JSON text followed
by every tensor in name order (its name, dtype, shape and raw bytes). `read_model_file` recomputes
it and refuses a file whose weights or metadata changed after saving (a flipped bit on a disk or
in a copy loads silently otherwise: the tensors are still valid floats). Files saved before the
checksum existed carry none and load unchecked. Loading never unpickles.

Every kind of recognizer is saved and read here (`save_model`, `load_model`): its metadata carries
a `kind` ("sequence" or "video"; files written before kinds were recorded are sequence models),
which `actrec.recognizers.load_recognizer` reads (`model_kind`) to pick the class that loads it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from actrec.errors import ActrecError, ModelFileError
from actrec.io.atomic import atomic_path

MODEL_FILE = "model.actrec"  # a RUN folder's model
KINDS_WORDS = {"sequence": "a sequence model", "video": "a clip model"}
METADATA_KEY = "actrec"
CHECKSUM_KEY = "actrec_sha256"


def model_path(path: Path) -> Path:
    """The model file `path` names: the file itself, or a RUN folder's `model.actrec`. A RUN's
    model that is a link leading out of the folder is refused: the folder would silently stand for
    a model that is not in it (give the file itself to load it)."""
    if not path.is_dir():
        return path
    file = path / MODEL_FILE
    if file.is_symlink() and path.resolve() not in file.resolve().parents:
        raise ModelFileError(
            f"{file}: a link to {file.resolve()}, outside the RUN folder; give that file itself, "
            f"or copy it into the folder"
        )
    return file


def model_checksum(metadata_text: str, tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of the metadata JSON text and the tensors, in name order."""
    digest = hashlib.sha256(metadata_text.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous()
        digest.update(f"\n{name} {tensor.dtype} {list(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def write_model_file(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> None:
    """Write `tensors` and `metadata` (JSON-able) with their checksum, atomically (temp + rename)."""
    from safetensors.torch import save

    text = json.dumps(metadata)
    # serialised in memory, written by Python: a full disk is an OSError with its errno, not a SafetensorError
    content = save(tensors, metadata={METADATA_KEY: text, CHECKSUM_KEY: model_checksum(text, tensors)})
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(content)


def read_model_file(path: Path, with_tensors: bool = True) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(metadata, tensors) of the model file at `path`; the checksum is verified when the tensors
    are read. ModelFileError (one line naming the file) for a foreign, cut or changed file."""
    from safetensors import safe_open

    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file; give a RUN folder from 'actrec train' or its model.actrec")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()} if with_tensors else {}  # noqa: SIM118 (safe_open is not iterable)
        text = header[METADATA_KEY]
        metadata = json.loads(text)
    except Exception as error:  # noqa: BLE001  safetensors raises several types for foreign or cut files
        raise ModelFileError(
            f"{path}: not a readable actrec model ({type(error).__name__}); the file is truncated or foreign "
            "(actrec never unpickles); re-save it with actrec"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != "actrec-model":
        raise ModelFileError(f"{path}: safetensors file without actrec metadata; save models with actrec")
    expected = header.get(CHECKSUM_KEY)
    if with_tensors and expected is not None and model_checksum(text, tensors) != expected:
        raise ModelFileError(
            f"{path}: checksum mismatch: its weights or metadata changed after it was saved "
            "(a damaged disk or copy, or an edit); restore the file from a good copy or retrain"
        )
    return metadata, tensors


def save_model(path: str | Path, kind: str, network: torch.nn.Module, metadata: dict[str, Any]) -> Path:
    """Write a recognizer (`network`'s weights, `metadata` with its `kind`) as one model file; a
    RUN folder gets `model.actrec`. Returns the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    tensors = {name: value.detach().contiguous().clone() for name, value in network.state_dict().items()}
    write_model_file(path, tensors, {"kind": kind} | metadata)
    return path


def model_kind(metadata: dict[str, Any]) -> str:
    """The kind of recognizer a model file's metadata describes (files without one: sequence)."""
    return str(metadata.get("kind", "sequence"))


def load_model(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, torch.Tensor], Path]:
    """(metadata, tensors, file path) of a model file or RUN folder holding a `kind` recognizer;
    a file of another kind is refused in one line pointing at `load_recognizer`."""
    path = model_path(Path(path))
    metadata, tensors = read_model_file(path)
    found = model_kind(metadata)
    if found != kind:
        raise ModelFileError(
            f"{path}: {KINDS_WORDS.get(found, f'a {found} model')}, not {KINDS_WORDS.get(kind, kind)}; "
            "load it with actrec.recognizers.load_recognizer, which reads any kind"
        )
    return metadata, tensors, path


@contextmanager
def metadata_errors(path: Path) -> Iterator[None]:
    """Inside: a metadata field missing, of the wrong type or refused by the config's checks is
    one ModelFileError naming `path`."""
    try:
        yield
    except ModelFileError:
        raise
    except ActrecError as error:
        raise ModelFileError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ModelFileError(
            f"{path}: its metadata is not what actrec writes ({type(error).__name__}: {str(error)[:120]}); the file "
            "was edited or written by another tool; re-save it with actrec"
        ) from None
