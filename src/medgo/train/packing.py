"""Packing documents into fixed-length blocks for causal-LM training (EOS between documents)."""

from __future__ import annotations

from collections.abc import Iterable

from transformers import PreTrainedTokenizerBase

from medgo.model.tokenizer import ENDOFTEXT


def pack_documents(
    texts: Iterable[str], tokenizer: PreTrainedTokenizerBase, block_size: int, keep_remainder: bool = False
) -> tuple[list[list[int]], int]:
    """Concatenate `doc <|endoftext|> doc <|endoftext|> ...` and cut into blocks of `block_size` tokens.

    Returns (blocks, total_tokens). The tail shorter than a block is dropped unless `keep_remainder`.
    """
    eot = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    if eot is None or eot == tokenizer.unk_token_id:
        eot = tokenizer.eos_token_id
    stream: list[int] = []
    for t in texts:
        stream.extend(tokenizer.encode(t, add_special_tokens=False))
        stream.append(eot)
    n_full = len(stream) // block_size
    blocks = [stream[i * block_size : (i + 1) * block_size] for i in range(n_full)]
    if keep_remainder and len(stream) % block_size:
        blocks.append(stream[n_full * block_size :])
    return blocks, len(stream)


def document_positions(block: list[int], eot: int) -> list[int]:
    """Position ids that restart after every end-of-document token.

    Given position_ids and no attention mask, transformers builds a block-diagonal causal mask (sdpa/eager)
    or uses variable-length flash attention: tokens then attend only within their own document."""
    pos, p = [], 0
    for t in block:
        pos.append(p)
        p = 0 if t == eot else p + 1
    return pos
