"""Packing documents into fixed-length blocks for causal-LM training (EOS between documents)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from transformers import PreTrainedTokenizerBase

from medgo.model.tokenizer import ENDOFTEXT


def pack_documents(
    texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, block_size: int, keep_remainder: bool = False
) -> tuple[list[list[int]], int]:
    """Concatenate `doc <|endoftext|> doc <|endoftext|> ...` and cut into blocks of `block_size` tokens.

    Returns (blocks, total_tokens). The tail shorter than a block is dropped unless `keep_remainder`.
    """
    counter = [0]
    blocks = list(iter_blocks(texts, tokenizer, block_size, keep_remainder, counter))
    return blocks, counter[0]


def end_of_text_id(tokenizer: PreTrainedTokenizerBase) -> int:
    eot = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    if eot is None or eot == tokenizer.unk_token_id:
        eot = tokenizer.eos_token_id
    return eot


def iter_blocks(
    texts: Iterable[str],
    tokenizer: PreTrainedTokenizerBase,
    block_size: int,
    keep_remainder: bool = False,
    counter: list[int] | None = None,
) -> Iterator[list[int]]:
    """Blocks as they fill, holding at most one block plus one document in memory (streaming corpora)."""
    eot = end_of_text_id(tokenizer)
    buf: list[int] = []
    for t in texts:
        ids = tokenizer.encode(t, add_special_tokens=False) + [eot]
        if counter is not None:
            counter[0] += len(ids)
        buf.extend(ids)
        while len(buf) >= block_size:
            yield buf[:block_size]
            buf = buf[block_size:]
    if keep_remainder and buf:
        yield buf


def document_positions(block: list[int], eot: int) -> list[int]:
    """Position ids that restart after every end-of-document token.

    Given position_ids and no attention mask, transformers builds a block-diagonal causal mask (sdpa/eager)
    or uses variable-length flash attention: tokens then attend only within their own document."""
    pos, p = [], 0
    for t in block:
        pos.append(p)
        p = 0 if t == eot else p + 1
    return pos


# -- batches for training: rows (block-diagonal mask) or one flattened row (variable-length attention) --------

def uses_varlen_attention(attn_implementation: str | None) -> bool:
    """Whether the attention implementation isolates packed documents only in the flattened layout.

    transformers infers variable-length flash attention from restarting position_ids only when the batch
    has ONE row (`_is_packed_sequence` checks `batch_size == 1`); given [B, L] rows it runs plain causal
    flash attention over each whole row and attention crosses documents while positions restart. sdpa and
    eager build a block-diagonal mask from the position ids at any batch size, so rows are right for them.
    Flex attention gets the flattened layout as well (its block mask is built from the same position ids)."""
    impl = (attn_implementation or "").lower()
    return "flash" in impl or "flex" in impl


def flatten_examples(examples: list[dict], segment_starts_unlabelled: bool = True, varlen_kwargs: bool = True) -> dict:
    """Examples (input_ids, labels, and position_ids or seq_lengths) laid head to tail in ONE row with
    position ids restarting per segment, plus the explicit varlen kwargs transformers passes to
    flash_attn_varlen_func (`cu_seq_lens_q/k`, `max_length_q/k`): no padding, no attention mask.

    Each example's first token is no target of the previous example's last one (label -100). With
    `segment_starts_unlabelled` every segment's first token gets -100 as well (SFT conversations); pretrain
    blocks pass False so a block's documents keep the targets they have in the rows layout. Without
    `varlen_kwargs` the batch holds [1, N] tensors only and transformers derives cu_seqlens from the position
    ids (batch size 1): for streaming datasets, whose batches accelerate concatenates and splits along dim 0
    when it dispatches them to the processes (a 1-D cu_seqlens would be cut apart)."""
    import torch

    ids: list[int] = []
    labels: list[int] = []
    pos: list[int] = []
    for e in examples:
        x = list(e["input_ids"])
        y = list(e.get("labels", x))
        if e.get("position_ids") is not None:
            p = list(e["position_ids"])
        else:
            p = [i for n in (e.get("seq_lengths") or [len(x)]) for i in range(n)]
        y[0] = -100
        if segment_starts_unlabelled:
            y = [-100 if p[i] == 0 else t for i, t in enumerate(y)]
        ids += x
        labels += y
        pos += p
    starts = [i for i, q in enumerate(pos) if q == 0 or i == 0]
    cu = starts + [len(pos)]
    longest = max(b - a for a, b in zip(cu, cu[1:], strict=False))
    cu_t = torch.tensor(cu, dtype=torch.int32)
    batch = {"input_ids": torch.tensor([ids]), "labels": torch.tensor([labels]), "position_ids": torch.tensor([pos])}
    if not varlen_kwargs:
        return batch
    return {
        **batch,
        "cu_seq_lens_q": cu_t,
        "cu_seq_lens_k": cu_t.clone(),
        "max_length_q": longest,
        "max_length_k": longest,
    }


class FlattenedCollator:
    """The flattened layout for flash / flex attention (see `flatten_examples`)."""

    def __init__(self, segment_starts_unlabelled: bool = True, varlen_kwargs: bool = True) -> None:
        self.segment_starts_unlabelled = segment_starts_unlabelled
        self.varlen_kwargs = varlen_kwargs

    def __call__(self, examples: list[dict]) -> dict:
        return flatten_examples(examples, self.segment_starts_unlabelled, self.varlen_kwargs)


def pretrain_collator(attn_implementation: str | None, document: bool, streaming: bool = False):
    """The collator of packed pretraining blocks: the flattened layout when the attention implementation
    needs it and documents must not see each other, else rows as they are (block-diagonal mask from the
    restarting position ids on sdpa/eager; plain causal rows with `concat` packing)."""
    from transformers import default_data_collator

    if document and uses_varlen_attention(attn_implementation):
        return FlattenedCollator(segment_starts_unlabelled=False, varlen_kwargs=not streaming)
    return default_data_collator


def model_attn_implementation(model) -> str | None:
    """The attention implementation a (possibly PEFT-wrapped) model actually runs."""
    cfg = getattr(model, "config", None)
    return getattr(cfg, "_attn_implementation", None) if cfg is not None else None
