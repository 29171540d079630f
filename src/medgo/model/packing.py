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
