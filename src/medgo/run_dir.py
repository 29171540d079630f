"""Layout of runs/<name>/: one folder per stage, each with manifest.json and a DONE marker."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

# The stages that write a model folder, in pipeline order (the full order is `medgo.pipeline.registry`).
TRAIN_STAGES = ["pretrain", "sft", "preference"]
MANIFEST = "manifest.json"
DONE = "DONE"
FINGERPRINT = ".fingerprint"


class RunDir:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def stage(self, name: str) -> Path:
        return self.root / name

    def manifest(self, name: str) -> dict[str, Any] | None:
        p = self.stage(name) / MANIFEST
        if not p.is_file():
            return None
        return json.loads(p.read_text(encoding="utf-8"))

    def is_done(self, name: str) -> bool:
        return (self.stage(name) / DONE).is_file() and (self.stage(name) / MANIFEST).is_file()

    def model_dir(self, name: str) -> Path:
        return self.stage(name) / "model"

    @property
    def tokenizer_dir(self) -> Path:
        return self.stage("tokenizer") / "tokenizer"

    def trained_models(self) -> dict[str, Path]:
        """Completed training stages that produced a model, in pipeline order."""
        out = {}
        for s in TRAIN_STAGES:
            m = self.manifest(s)
            if self.is_done(s) and m and m.get("status") == "done" and (self.model_dir(s) / "config.json").is_file():
                out[s] = self.model_dir(s)
        return out

    def latest_model(self, before: str | None = None) -> tuple[str, Path] | None:
        """The newest trained model among training stages earlier than `before` (all when None or a later stage)."""
        limit = TRAIN_STAGES.index(before) if before in TRAIN_STAGES else len(TRAIN_STAGES)
        best = None
        for s, p in self.trained_models().items():
            if TRAIN_STAGES.index(s) < limit:
                best = (s, p)
        return best

    def reset_stage(self, name: str) -> Path:
        d = self.stage(name)
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        return d


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
