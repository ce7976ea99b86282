"""A faster, torch-free way to run a sentence-transformers encoder: ONNX Runtime, fp32.

The model's transformer is exported once with `torch.onnx.export` (from the installed weights,
offline) and kept in the cache folder; later runs need only onnxruntime and the `tokenizers`
library. The vectors match sentence-transformers' to ~1e-6 (see bench/embedding_bench.py), so
the embedding cache is shared between the two backends. Only plain encoders are supported
(a Transformer module, then mean or CLS pooling, then optional Normalize); anything else uses torch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

SUPPORTED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


TOKENS_PER_BATCH = 4096  # rows × padded length per batch: 64 short texts, 16 of 256 tokens


class Unsupported(Exception):
    """This model cannot run on the ONNX backend; use torch."""


def pooling_mode(model_dir: Path) -> str:
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        raise Unsupported("no modules.json")
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    if {m.get("type") for m in modules} - SUPPORTED_MODULES:
        raise Unsupported("modules beyond Transformer, Pooling and Normalize")
    pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
    config = json.loads((model_dir / pooling["path"] / "config.json").read_text()) if pooling else {}
    if config.get("pooling_mode_mean_tokens", True) and not config.get("pooling_mode_cls_token"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise Unsupported("pooling other than mean or CLS")


def max_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() else 256


def export(model_dir: Path, target: Path, scratch: Path | None = None) -> None:
    """Export the transformer to `target` atomically, building it in `scratch` (default: beside the target;
    it must be on the target's file system)."""
    import warnings

    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    sample = tokenizer(["export"], return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Wrapper(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=scratch or target.parent, prefix=".export-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Wrapper(model),
                tuple(sample[n] for n in names),
                str(folder / "model.onnx"),
                input_names=names,
                output_names=["last_hidden_state"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in (*names, "last_hidden_state")},
            )
        os.replace(folder / "model.onnx", target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class OnnxEncoder:
    def __init__(self, model_dir: Path, onnx_file: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.pooling = pooling_mode(model_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length(model_dir))
        self.tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # the arena keeps the largest batch's buffers: GBs on long texts
        self.session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode(self, texts: Sequence[str], batch_size: int, progress: Any = None) -> np.ndarray:
        order = np.argsort([len(t) for t in texts], kind="stable")
        result = np.zeros((len(texts), 0), dtype=np.float32)
        start = 0
        while start < len(texts):
            chosen = order[start : start + batch_size]
            batch = self.tokenizer.encode_batch([texts[i] for i in chosen])
            fits = max(1, TOKENS_PER_BATCH // max(len(batch[-1].ids), 1))
            if fits < len(chosen):  # long texts: fewer per batch, so memory stays flat (same vectors)
                chosen = chosen[:fits]
                batch = self.tokenizer.encode_batch([texts[i] for i in chosen])
            start += len(chosen)
            feeds = {
                "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
            }
            hidden = self.session.run(None, {name: feeds[name] for name in self.inputs})[0]
            if self.pooling == "cls":
                vectors = hidden[:, 0]
            else:
                mask = feeds["attention_mask"][..., None].astype(np.float32)
                vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
            if result.shape[1] == 0:
                result = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            result[chosen] = vectors
            if progress is not None:
                progress.update(len(chosen))
        return result
