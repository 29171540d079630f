"""Assistant-only labels with the checkpoints' own templates (no {% generation %} markers), token by token
against hand-computed spans: each answer and its <|im_end|> are targets; role headers, system / user
turns and the newline after <|im_end|> are not."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from medgo.model.chat import assistant_mask, has_generation_markers, labels_from_mask
from medgo.model.tokenizer import chatml_template

SYS = "你是一名严谨的临床医生助手。"
CONV = [
    {"role": "system", "content": SYS},
    {"role": "user", "content": "头痛三天了，怎么办？"},
    {"role": "assistant", "content": "可以先服用布洛芬 200 mg，观察 24 小时。"},
    {"role": "user", "content": "还要注意什么？"},
    {"role": "assistant", "content": "低盐饮食，按时休息；如果发热超过38.5℃请就医。"},
]


def _tok(qwen2_tok, template: str):
    tok = copy.deepcopy(qwen2_tok)
    tok.chat_template = template
    return tok


def _expected(tok, pieces: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
    """Token ids and labels from (text, is_target) pieces encoded one by one (boundaries are at special
    tokens and newlines, where the Qwen2 pre-tokeniser splits anyway)."""
    ids, labels = [], []
    for text, target in pieces:
        t = tok.encode(text, add_special_tokens=False)
        ids += t
        labels += t if target else [-100] * len(t)
    return ids, labels


def _pieces(system: str | None, turns: list[tuple[str, str]], last_prefix: str = "") -> list[tuple[str, bool]]:
    p: list[tuple[str, bool]] = []
    if system is not None:
        p.append((f"<|im_start|>system\n{system}<|im_end|>\n", False))
    for k, (q, a) in enumerate(turns):
        p.append((f"<|im_start|>user\n{q}<|im_end|>\n", False))
        p.append(("<|im_start|>assistant\n", False))
        pre = last_prefix if k == len(turns) - 1 else ""
        p.append((f"{pre}{a}<|im_end|>", True))
        p.append(("\n", False))
    return p


TURNS = [(CONV[1]["content"], CONV[2]["content"]), (CONV[3]["content"], CONV[4]["content"])]


@pytest.mark.parametrize("family,system,last_prefix", [
    ("qwen2", SYS, ""),
    ("qwen2.5", SYS, ""),
    ("qwen3", SYS, "<think>\n\n</think>\n\n"),  # Qwen3 renders an empty think block on the last turn only
])
def test_labels_match_hand_computed_spans(qwen2_tok, template_file, family, system, last_prefix) -> None:
    text = template_file(family).read_text(encoding="utf-8")
    assert not has_generation_markers(text)
    tok = _tok(qwen2_tok, text)
    ids, mask = assistant_mask(tok, CONV)
    exp_ids, exp_labels = _expected(tok, _pieces(system, TURNS, last_prefix))
    assert ids == exp_ids
    assert labels_from_mask(ids, mask) == exp_labels


@pytest.mark.parametrize("family,default_system", [
    ("qwen2", "You are a helpful assistant."),
    ("qwen2.5", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."),
    ("qwen3", None),
])
def test_default_system_prompt_is_no_target(qwen2_tok, template_file, family, default_system) -> None:
    tok = _tok(qwen2_tok, template_file(family).read_text(encoding="utf-8"))
    conv = CONV[1:3]
    ids, mask = assistant_mask(tok, conv)
    prefix = "<think>\n\n</think>\n\n" if family == "qwen3" else ""
    exp_ids, exp_labels = _expected(tok, _pieces(default_system, TURNS[:1], prefix))
    assert (ids, labels_from_mask(ids, mask)) == (exp_ids, exp_labels)


def test_qwen3_reasoning_is_a_target_where_the_template_renders_it(qwen2_tok, template_file) -> None:
    tok = _tok(qwen2_tok, template_file("qwen3").read_text(encoding="utf-8"))
    conv = [
        {"role": "user", "content": "发热怎么办？"},
        {"role": "assistant", "content": "<think>\n先问体温。\n</think>\n\n多喝水，必要时就医。"},
        {"role": "user", "content": "体温39℃。"},
        {"role": "assistant", "content": "<think>\n高热。\n</think>\n\n请尽快就医。"},
    ]
    ids, mask = assistant_mask(tok, conv)
    # earlier turns lose their reasoning (as the template renders them); the last keeps it
    pieces = [("<|im_start|>user\n发热怎么办？<|im_end|>\n", False), ("<|im_start|>assistant\n", False),
              ("多喝水，必要时就医。<|im_end|>", True), ("\n", False),
              ("<|im_start|>user\n体温39℃。<|im_end|>\n", False), ("<|im_start|>assistant\n", False),
              ("<think>\n高热。\n</think>\n\n请尽快就医。<|im_end|>", True), ("\n", False)]
    assert (ids, labels_from_mask(ids, mask)) == _expected(tok, pieces)


def test_marked_template_gives_the_same_labels(qwen2_tok, template_file) -> None:
    """medgo's ChatML (with {% generation %} markers) and Qwen2-Instruct's (without) render the same text;
    the marker path and the span search must give the same labels."""
    marked = _tok(qwen2_tok, chatml_template())
    plain = _tok(qwen2_tok, template_file("qwen2").read_text(encoding="utf-8"))
    assert has_generation_markers(marked.chat_template)
    assert assistant_mask(marked, CONV) == assistant_mask(plain, CONV)


def test_sft_length_check_keeps_rows_with_a_checkpoint_template(qwen2_tok, template_file, tmp_path: Path) -> None:
    """The bug of issue 13: with Qwen2-Instruct's template every conversation was rejected (all-zero mask)."""
    from medgo.train.sft import check_lengths

    tok = _tok(qwen2_tok, template_file("qwen2").read_text(encoding="utf-8"))
    rows = [{"messages": CONV[1:3]}, {"messages": CONV}, {"messages": CONV[:3]}]
    kept, rejects, truncated = check_lengths(rows, tok, 512, tmp_path / "sft.jsonl")
    assert (len(kept), len(rejects), truncated) == (3, 0, 0)
    assert tok.decode([t for t in kept[1]["labels"] if t != -100]) == (
        CONV[2]["content"] + "<|im_end|>" + CONV[4]["content"] + "<|im_end|>")


def test_a_template_without_assistant_header_is_a_clear_error(qwen2_tok, tmp_path: Path) -> None:
    from medgo.errors import DataError
    from medgo.train.sft import check_lengths

    tok = _tok(qwen2_tok, "{% for m in messages %}{{ m['content'] }}{% endfor %}")
    with pytest.raises(DataError, match="chat template cannot be used for SFT"):
        check_lengths([{"messages": CONV[1:3]}], tok, 512, tmp_path / "sft.jsonl")
