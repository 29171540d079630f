"""Per-step counters installed identically into both trainers (medgo's TRL SFTTrainer and LLaMA-Factory's
Seq2SeqTrainer): both subclass transformers.Trainer, so wrapping `Trainer.training_step` sees every batch as the
model gets it. Counts batch positions, real (non-pad) tokens, loss tokens, sum of squared sequence lengths (for
attention FLOPs), per-step loss and wall time; writes JSON at exit to the path given. Imports only what both
virtualenvs have (transformers, torch)."""

from __future__ import annotations

import atexit
import json
import os
import time

ROWS_KEPT = 2  # the first steps' token ids are kept so the two sides' inputs can be compared exactly


def _real_end(row_ids: list[int], pad_id: int | None) -> int:
    """Where a right-padded row's tokens end: the trailing run of pad ids is padding."""
    end = len(row_ids)
    while pad_id is not None and end > 0 and row_ids[end - 1] == pad_id:
        end -= 1
    return end


def _seq_lengths(inputs, pad_id: int | None = None) -> tuple[list[int], int, int]:
    """(lengths of the sequences in the batch, positions, real tokens). Padding-free batches carry position_ids
    that restart at 0 for each sequence and have no attention_mask."""
    ids = inputs["input_ids"]
    positions = int(ids.numel())
    mask = inputs.get("attention_mask")
    if mask is not None and mask.dim() == 2:
        lens = [int(x) for x in mask.sum(dim=1).tolist()]
        return lens, positions, sum(lens)
    if mask is not None and mask.dim() == 4:  # LLaMA-Factory neat_packing: block-diagonal (b, 1, L, L) mask
        allowed = mask[:, 0] == 0 if mask.is_floating_point() else mask[:, 0].bool()
        real_rows = allowed.diagonal(dim1=-2, dim2=-1)  # a pad position may not even attend to itself
        prev = allowed.diagonal(offset=-1, dim1=-2, dim2=-1)  # token i attends to i-1: same sequence
        lens = []
        for b in range(real_rows.shape[0]):
            for i, is_real in enumerate(real_rows[b].tolist()):
                if not is_real:
                    continue
                if i == 0 or not bool(prev[b, i - 1]):
                    lens.append(0)
                lens[-1] += 1
        return lens, positions, sum(lens)
    pos = inputs.get("position_ids")
    if pos is not None:
        # rows are right-padded: a trailing run of pad ids (its own position segment) is padding, not tokens
        lens: list[int] = []
        for row, row_ids in zip(pos.tolist(), ids.tolist(), strict=True):
            for p in row[: _real_end(row_ids, pad_id)]:
                if p == 0:
                    lens.append(0)
                lens[-1] += 1
        return lens, positions, sum(lens)
    lens = [int(ids.shape[-1])] * int(ids.shape[0])
    return lens, positions, positions


def install(out_path: str) -> None:
    from transformers import Trainer

    stats: dict = {"steps": [], "rows": [], "pid": os.getpid()}
    orig = Trainer.training_step

    def training_step(self, model, inputs, *args, **kwargs):
        tok = getattr(self, "processing_class", None) or getattr(self, "tokenizer", None)
        lens, positions, real = _seq_lengths(inputs, getattr(tok, "pad_token_id", None))
        labels = inputs.get("labels")
        trained = int((labels[..., 1:] != -100).sum()) if labels is not None else 0
        if len(stats["rows"]) < ROWS_KEPT:
            ids = inputs["input_ids"]
            mask = inputs.get("attention_mask")
            rows = []
            if mask is None and inputs.get("position_ids") is not None:  # rows of several conversations
                pad_id = getattr(tok, "pad_token_id", None)
                for i in range(ids.shape[0]):
                    row_ids, pos = ids[i].tolist(), inputs["position_ids"][i].tolist()
                    lab = labels[i].tolist() if labels is not None else [-100] * len(row_ids)
                    end = _real_end(row_ids, pad_id)
                    starts = [k for k in range(end) if pos[k] == 0] + [end]
                    for a, b in zip(starts, starts[1:], strict=False):
                        rows.append({"ids": row_ids[a:b], "label_tokens": sum(t != -100 for t in lab[a:b])})
            else:
                for i in range(ids.shape[0]):
                    row = ids[i] if mask is None or mask.dim() != 2 else ids[i][mask[i].bool()]
                    lab = labels[i] if labels is not None else None
                    rows.append({"ids": row.tolist(),
                                 "label_tokens": int((lab != -100).sum()) if lab is not None else None})
            stats["rows"].append(rows)
        t0 = time.perf_counter()
        loss = orig(self, model, inputs, *args, **kwargs)
        t1 = time.perf_counter()
        stats["steps"].append({
            "t0": t0, "t1": t1, "positions": positions, "real_tokens": real, "loss_tokens": trained,
            "sum_len_sq": sum(n * n for n in lens), "sequences": len(lens), "shape": list(inputs["input_ids"].shape),
            "loss": float(loss), "has_attention_mask": inputs.get("attention_mask") is not None,
        })
        return loss

    Trainer.training_step = training_step

    def dump() -> None:
        if stats["steps"]:
            with open(out_path, "w", encoding="utf-8") as f:
                json.dump(stats, f)

    atexit.register(dump)
