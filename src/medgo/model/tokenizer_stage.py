"""The `tokenizer` stage: train a BPE on the run's corpus, build the genuine Qwen2 one, or take model.base's."""

from __future__ import annotations

from typing import Any

from medgo.config.schema import RunConfig
from medgo.data.jsonl import read_jsonl
from medgo.data.stage import OUT_FILES
from medgo.log import console
from medgo.model.tokenizer import (
    IM_END,
    SPECIAL_TOKENS,
    build_qwen2_tokenizer,
    load_pretrained_tokenizer,
    save_tokenizer,
    train_bpe_tokenizer,
)
from medgo.stage import StageContext, StageResult

NAME = "tokenizer"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"tokenizer": cfg.tokenizer.model_dump(mode="json"), "base": cfg.model.base}


def _training_texts(ctx: StageContext):
    data = ctx.run.stage("data")
    for row in read_jsonl(data / OUT_FILES["corpus_train"]):
        yield row["text"]
    # Chat data too, so that SFT text is not split into bytes.
    for row in read_jsonl(data / OUT_FILES["sft_train"]):
        for m in row["messages"]:
            yield m["content"]


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    t = cfg.tokenizer
    if t.type == "bpe":
        tok = train_bpe_tokenizer(_training_texts(ctx), t.vocab_size, t.min_frequency)
    elif t.type == "qwen2":
        tok = build_qwen2_tokenizer()
    else:
        path = t.path or cfg.model.base
        if not path:
            from medgo.errors import ConfigError

            raise ConfigError("tokenizer.type=pretrained needs tokenizer.path or model.base")
        tok = load_pretrained_tokenizer(path, cfg.model.trust_remote_code)
    out = ctx.out / "tokenizer"
    # A checkpoint's tokenizer files are kept byte for byte unless medgo had to add a pad token or template.
    source = path if t.type == "pretrained" and not getattr(tok, "medgo_fixed", []) else None
    how = save_tokenizer(tok, out, source)
    # Characters per token on held-out text: how well the vocabulary fits the domain.
    held = [r["text"] for r in read_jsonl(ctx.run.stage("data") / OUT_FILES["corpus_heldout"])]
    n_chars = sum(len(x) for x in held)
    n_tok = sum(len(tok.encode(x, add_special_tokens=False)) for x in held)
    cpt = n_chars / max(n_tok, 1)
    console.print(f"tokenizer: {t.type}, {len(tok)} tokens, {cpt:.2f} chars/token on held-out text")
    return StageResult(
        metrics={"vocab_size": len(tok), "chars_per_token_heldout": round(cpt, 4)},
        extra={"special_tokens": {s: tok.convert_tokens_to_ids(s) for s in SPECIAL_TOKENS if s in tok.get_vocab()},
               "chat_stop": IM_END, "files": how, "added_by_medgo": getattr(tok, "medgo_fixed", [])},
    )
