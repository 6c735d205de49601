"""The `.actrec` model file: safetensors tensors, actrec's JSON metadata, and a checksum of both.

Layout: a safetensors file whose header metadata holds `actrec` (the JSON the recognizer writes:
format, config, labels, pipeline, ...) and `actrec_sha256`, the SHA-256 of that JSON text followed
by every tensor in name order (its name, dtype, shape and raw bytes). `read_model_file` recomputes
it and refuses a file whose weights or metadata changed after saving (a flipped bit on a disk or
in a copy loads silently otherwise: the tensors are still valid floats). Files saved before the
checksum existed carry none and load unchecked. Loading never unpickles.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from actrec.errors import ModelFileError
from actrec.io.atomic import atomic_path

MODEL_FILE = "model.actrec"  # a RUN folder's model
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
        raise ModelFileError(f"{file}: a link to {file.resolve()}, outside the RUN folder; give that file itself, "
                             f"or copy it into the folder")
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
        raise ModelFileError(f"{path}: checksum mismatch: its weights or metadata changed after it was saved "
                             "(a damaged disk or copy, or an edit); restore the file from a good copy or retrain")
    return metadata, tensors
