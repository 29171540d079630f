"""Server settings: one pydantic model, filled by `medgo serve` options (or by tests directly)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    model_name: str | None = Field(
        None, description="id shown by /v1/models (default: the model folder name)"
    )
    api_keys: list[str] = Field(
        default_factory=list, description="bearer keys; empty: no auth (loopback only)"
    )
    rate_limit_rpm: int = Field(600, ge=0, description="requests per minute per key (0: unlimited)")
    rate_burst: int = Field(
        60, ge=1, description="requests a key may send at once before the per-minute rate applies"
    )
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    max_prompt_tokens: int = Field(4096, ge=1)
    max_tokens_cap: int = Field(1024, ge=1, description="largest max_tokens a request may ask for")
    request_timeout_s: float = Field(120.0, gt=0)
    max_batch_size: int = Field(16, ge=1, description="1: one request at a time (no dynamic batching)")
    batch_wait_ms: float = Field(
        20.0, ge=0, description="how long an idle worker waits for more requests to batch"
    )
    batching: Literal["continuous", "static"] = Field(
        "continuous",
        description="transformers engine: rows join and leave the running batch every step (continuous) "
        "or one generate call per batch (static)",
    )
    max_queue: int = Field(256, ge=1, description="sequences waiting beyond this get 503 + Retry-After")
    cors_origins: list[str] = Field(default_factory=list, description="empty: CORS off")
    audit_log: Path | None = Field(None, description="JSONL audit file; None: no audit log")
    audit_text: bool = Field(
        True, description="log de-identified request/response text (truncated) in the audit"
    )
    audit_deid_tagger: Path | None = Field(
        None, description="learned name tagger folder (medgo data deid-train) the audit log's de-identifier uses"
    )
    audit_deid_terms: list[Path] = Field(
        default_factory=list, description="clinical term lists (medgo data deid-terms) the audit log's de-identifier "
        "never reads as names"
    )
    assess_attempts: int = Field(3, ge=1, le=5, description="generations tried before assess gives up")
    assess_constrained: bool = Field(
        True, description="decode assessments under the schema where the engine can (off: parse and repair)"
    )
    graceful_timeout_s: float = Field(30.0, ge=0)
    index_dir: Path | None = Field(None, description="a `medgo index` folder: retrieval-augmented answers")
    rag_top_k: int = Field(3, ge=1, le=20, description="passages put into the prompt")
    rag_default: bool = Field(False, description="retrieve when a request does not say (`rag: true|false`)")

    def key_ids(self) -> dict[str, str]:
        """Key → short id for logs and metrics: never log the key itself."""
        return {k: "key-" + hashlib.sha256(k.encode()).hexdigest()[:8] for k in self.api_keys}


GENERIC_NAMES = {"model", "final", "merged", "hf", "export"}


def model_id(target: Path) -> str:
    """The id /v1/models shows: a run folder → RUN-STAGE (runs/demo → demo-sft); a stage's model folder →
    the same (runs/demo/sft/model → demo-sft); a GGUF file → its stem; any other folder → its name."""
    target = Path(target)
    if target.suffix == ".gguf":
        return target.stem
    if target.is_dir() and not (target / "config.json").is_file():
        from medgo.run_dir import RunDir

        latest = RunDir(target).latest_model()
        if latest is not None:
            return f"{target.resolve().name}-{latest[0]}"
    p = target.resolve()
    if p.name in GENERIC_NAMES and p.parent.name:
        from medgo.run_dir import TRAIN_STAGES

        if p.parent.name in TRAIN_STAGES and p.parent.parent.name:
            return f"{p.parent.parent.name}-{p.parent.name}"
        return p.parent.name
    return p.name
