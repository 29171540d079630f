"""The `sft` stage: chat-format supervised fine-tuning through TRL's SFTTrainer, loss on assistant tokens only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import SFTConfig as TrlSFTConfig
from trl import SFTTrainer

from medgo.config.schema import RunConfig
from medgo.data.jsonl import Reject, write_rejects
from medgo.errors import DataError
from medgo.log import console
from medgo.model.chat import (
    ChatSpanError,
    SpanFinder,
    assistant_mask,
    has_generation_markers,
    labels_from_mask,
)
from medgo.model.packing import FlattenedCollator, model_attn_implementation, uses_varlen_attention
from medgo.stage import StageContext, StageResult
from medgo.train.common import (
    disabled,
    make_args,
    stage_rows,
    train_stage,
)

NAME = "sft"


def config_for_hash(cfg: RunConfig) -> Any:
    return {"sft": cfg.sft.model_dump(mode="json"), "finetuning": cfg.model.finetuning, "lora": cfg.model.lora}


class PackedRowsCollator:
    """Batches packed SFT rows as rows: [batch, <=max_length], position ids restarting per conversation and
    no attention mask, so transformers builds a block-diagonal mask per row.

    TRL's padding-free collator flattens the whole batch into one sequence, which flash attention handles
    as variable-length sequences on GPU, but which on CPU makes attention quadratic in batch x length
    (measured: packing ran at 0.56x the unpacked speed on the benchmark model)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad = pad_token_id

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        ids, labels, pos = [], [], []
        for e in examples:
            n = len(e["input_ids"])
            lengths = e.get("seq_lengths") or [n]
            ids.append(list(e["input_ids"]) + [self.pad] * (width - n))
            labels.append(list(e["labels"]) + [-100] * (width - n))
            # the padding tail is its own segment, and its labels are -100
            pos.append([i for length in lengths for i in range(length)] + list(range(width - n)))
            start = 0
            for length in lengths:  # a segment's first token is no target for the previous segment's last one
                labels[-1][start] = -100
                start += length
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "position_ids": torch.tensor(pos)}


class RepackedBatchCollator:
    """Unpacked SFT on CPU without computing padding: the conversations of each batch (the same ones, in the
    same steps, with the same loss) are laid out head to tail in as few, as even rows of at most max_length
    as fit, with position ids restarting per conversation (block-diagonal attention, see PackedRowsCollator).
    A batch padded to its longest conversation spends ~40% of its positions on padding on the demo data."""

    def __init__(self, pad_token_id: int, max_length: int) -> None:
        self.rows = PackedRowsCollator(pad_token_id)
        self.max_length = max_length

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        lens = [len(e["input_ids"]) for e in examples]
        bins = balanced_rows(lens, self.max_length)
        rows = [
            {
                "input_ids": [t for i in b for t in examples[i]["input_ids"]],
                "labels": [t for i in b for t in examples[i]["labels"]],
                "seq_lengths": [lens[i] for i in b],
            }
            for b in bins
        ]
        return self.rows(rows)


def balanced_rows(lens: list[int], max_length: int) -> list[list[int]]:
    """Indices of `lens` grouped into rows of at most max_length tokens (any single length fits alone), the
    number of rows chosen to minimise rows x widest row: longest first, each to the shortest row so far."""
    order = sorted(range(len(lens)), key=lambda i: -lens[i])
    best: tuple[int, list[list[int]]] | None = None
    for r in range(max(1, -(-sum(lens) // max_length)), len(lens) + 1):
        bins: list[list[int]] = [[] for _ in range(r)]
        fill = [0] * r
        for i in order:
            k = fill.index(min(fill))
            bins[k].append(i)
            fill[k] += lens[i]
        width = max(fill)
        if width <= max_length and (best is None or r * width < best[0]):
            best = (r * width, [b for b in bins if b])
        if width == lens[order[0]]:  # as narrow as the longest conversation: more rows only add padding
            break
    assert best is not None  # r == len(lens) puts one conversation per row
    return best[1]


class MedgoSFTTrainer(SFTTrainer):
    """TRL's SFTTrainer with a choice of loss kernel.

    TRL always computes the loss through its chunked, fused LM-head kernel, which saves GPU memory for large
    vocabularies but costs ~45% of a CPU training step (measured on the demo model). With `fused_loss=False`
    the loss is computed by medgo: the LM head and cross-entropy run only on positions that have a label.
    With assistant-only loss most positions (system, user turns, padding) have none, and the LM head is
    the widest matmul of a small model, so this skips a large share of each step. The value is the model's
    own loss (sum over labelled tokens / number of labelled tokens in the batch), and so are its gradients."""

    def __init__(self, *args, fused_loss: bool = True, rows_collator: PackedRowsCollator | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fused_loss = fused_loss
        if rows_collator is not None:
            # TRL refuses a custom collator with packing (it assumes padding-free); swapped in after its checks.
            self.data_collator = rows_collator

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.fused_loss:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs["use_cache"] = False
        if not return_outputs and labelled_only_ok(model):
            loss, correct, n = labelled_only_loss(model, inputs, num_items_in_batch)
        else:  # wrapped models (DDP, PEFT) and callers that want the logits: the model's own forward
            outputs = model(**inputs, num_items_in_batch=num_items_in_batch)
            loss = outputs.loss
            with torch.no_grad():
                labels = inputs["labels"][:, 1:]
                mask = labels != -100
                correct, n = ((outputs.logits[:, :-1].argmax(-1) == labels) & mask).sum(), mask.sum()
        mode = "train" if self.model.training else "eval"
        correct, n = self.accelerator.gather_for_metrics(torch.stack([correct, n]).unsqueeze(0)).sum(0)
        self._metrics[mode]["mean_token_accuracy"].append((correct / n).item() if n > 0 else 0.0)
        return (loss, outputs) if return_outputs else loss


def labelled_only_ok(model: torch.nn.Module) -> bool:
    """The shortcut calls the decoder and the LM head directly, so it needs an unwrapped causal LM whose
    logits are exactly lm_head(hidden) (no soft-capping or scaling)."""
    cfg = getattr(model, "config", None)
    return (
        isinstance(model, PreTrainedModel)
        and hasattr(model, "get_decoder")
        and model.get_output_embeddings() is not None
        and cfg is not None
        and getattr(cfg, "final_logit_softcapping", None) is None
        and getattr(cfg, "logit_scale", None) is None
    )


def labelled_only_loss(
    model: PreTrainedModel, inputs: dict, num_items_in_batch: torch.Tensor | int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, correct next-token predictions, labelled tokens), with the LM head applied only where the
    shifted labels are not -100."""
    fwd = {k: v for k, v in inputs.items() if k not in ("labels", "num_items_in_batch")}
    hidden = model.get_decoder()(**fwd).last_hidden_state
    target = inputs["labels"][:, 1:]
    keep = target != -100
    logits = model.get_output_embeddings()(hidden[:, :-1][keep]).float()
    target = target[keep]
    if num_items_in_batch is None:
        loss = F.cross_entropy(logits, target, reduction="mean") if len(target) else logits.sum() * 0.0
    else:
        loss = F.cross_entropy(logits, target, reduction="sum") / num_items_in_batch
    with torch.no_grad():
        correct = (logits.argmax(-1) == target).sum()
    return loss, correct, keep.sum()


def encode_rows(tok: PreTrainedTokenizerBase, rows: list[dict], assistant_only: bool = True) -> list[dict]:
    """Rows with `input_ids` and `labels` (assistant tokens only, or every token): the spans come from
    medgo.model.chat, so a checkpoint's own template works with or without {% generation %} markers."""
    finder = None if has_generation_markers(tok.chat_template) else SpanFinder.for_tokenizer(tok)
    out = []
    for r in rows:
        if "input_ids" in r:
            out.append(r)
            continue
        ids, mask = assistant_mask(tok, r["messages"], finder)
        out.append({**r, "input_ids": ids, "labels": labels_from_mask(ids, mask) if assistant_only else list(ids)})
    return out


def build_trainer(
    cfg: RunConfig, model: PreTrainedModel, tok: PreTrainedTokenizerBase, rows: list[dict], out, callbacks=()
) -> SFTTrainer:
    s = cfg.sft
    rows = encode_rows(tok, rows, s.assistant_only_loss)
    ds = Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
    args = make_args(
        TrlSFTConfig,
        s,
        out,
        cfg.seed,
        max_length=s.max_length,
        assistant_only_loss=False,  # the labels are built above (TRL's mask needs {% generation %} markers)
        packing=s.packing,
        # best-fit decreasing keeps each conversation whole; position ids restart per conversation, which
        # transformers turns into a block-diagonal mask (sdpa/eager) or varlen flash attention.
        packing_strategy="bfd",
        dataset_num_proc=None,
    )
    fused = s.fused_loss if s.fused_loss is not None else torch.cuda.is_available()
    extra = {}
    # flash/flex attention: ONE flattened row with explicit cu_seqlens (varlen kernels isolate conversations;
    # [B, L] rows would attend across them); sdpa/eager: rows with a block-diagonal mask (model/packing.py)
    varlen = uses_varlen_attention(model_attn_implementation(model))
    if s.packing:
        extra["rows_collator"] = FlattenedCollator() if varlen else PackedRowsCollator(tok.pad_token_id)
    elif s.padding_free or (s.padding_free is None and not torch.cuda.is_available()):
        extra["rows_collator"] = FlattenedCollator() if varlen else RepackedBatchCollator(tok.pad_token_id,
                                                                                         s.max_length)
    return MedgoSFTTrainer(
        model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=list(callbacks), fused_loss=fused,
        **extra,
    )


def check_lengths(
    rows: list[dict], tok: PreTrainedTokenizerBase, max_length: int, path: Path, assistant_only: bool = True
) -> tuple[list[dict], list[Reject], int]:
    """Rows whose first assistant token lies beyond `max_length` would train on nothing after truncation:
    they are rejected with a reason rather than dropped silently, and so are rows whose assistant turns the
    template does not render where its header says. Returns (kept rows with input_ids + labels, rejects,
    truncated)."""
    kept, rejects, truncated = [], [], 0
    try:
        finder = None if has_generation_markers(tok.chat_template) else SpanFinder.for_tokenizer(tok)
    except ChatSpanError as e:
        raise DataError(f"the tokenizer's chat template cannot be used for SFT: {e}",
                        hint="check chat_template in the checkpoint's tokenizer_config.json") from None
    for i, row in enumerate(rows, start=1):
        try:
            ids, mask = assistant_mask(tok, row["messages"], finder)
        except ChatSpanError as e:
            rejects.append(Reject(str(path), i, f"chat template: {e}", json.dumps(row, ensure_ascii=False)))
            continue
        if not any(mask[:max_length]):
            first = mask.index(1) if 1 in mask else len(mask)
            why = (f"too long: the first assistant token is at {first} >= sft.max_length={max_length}" if 1 in mask
                   else "no assistant tokens in the rendered conversation")
            rejects.append(Reject(str(path), i, why, json.dumps(row, ensure_ascii=False)))
            continue
        truncated += len(mask) > max_length
        labels = labels_from_mask(ids, mask) if assistant_only else list(ids)
        kept.append({**row, "input_ids": ids, "labels": labels})
    return kept, rejects, truncated


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    if not cfg.sft.enabled:
        return disabled(NAME)
    tok, path, rows = stage_rows(ctx, "sft_train", "SFT")
    n_in = len(rows)
    rows, rejects, truncated = check_lengths(rows, tok, cfg.sft.max_length, path, cfg.sft.assistant_only_loss)
    write_rejects(ctx.out / "rejects.jsonl", rejects)
    too_long = sum(r.reason.startswith("too long") for r in rejects)
    if not rows:
        if too_long == n_in:
            raise DataError(
                f"{path}: all {n_in} conversations are longer than sft.max_length={cfg.sft.max_length} before their "
                "first assistant answer", hint=f"raise sft.max_length; see {ctx.out / 'rejects.jsonl'}",
            )
        raise DataError(
            f"{path}: none of the {n_in} conversations is usable: {too_long} too long for sft.max_length="
            f"{cfg.sft.max_length}, {n_in - too_long} without an assistant span in the chat template's rendering",
            hint=f"check the chat template (tokenizer_config.json); see {ctx.out / 'rejects.jsonl'}",
        )
    if rejects or truncated:
        console.print(f"sft: {len(rejects)} conversation(s) rejected ({too_long} too long), {truncated} truncated "
                      f"(max_length={cfg.sft.max_length})")
    counts = {"conversations_in": n_in, "conversations": len(rows), "rejected_too_long": too_long,
              "rejected_no_assistant_span": len(rejects) - too_long, "truncated": truncated}
    result, _ = train_stage(
        cfg, ctx, tok, cfg.sft.max_length, lambda model, cbs: build_trainer(cfg, model, tok, rows, ctx.out, cbs),
        counts,
    )
    return result
