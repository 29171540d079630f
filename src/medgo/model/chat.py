"""Chat templates and assistant spans: which tokens of a rendered conversation an SFT loss trains on.

A checkpoint's own template (Qwen2-Instruct, Qwen2.5, Qwen3) rarely marks assistant spans with
`{% generation %}`, so transformers' `return_assistant_tokens_mask` gives all zeros for it. medgo finds
the spans itself, in the text the template renders for the whole conversation:

- a target span starts right after the assistant header, which is what the template's generation prompt
  renders (`<|im_start|>assistant\\n` for ChatML) and ends with the turn's end token (`<|im_end|>`), included;
- the header, every system / user / tool turn and the newline after `<|im_end|>` are not targets;
- what the template renders inside an assistant turn is a target as rendered: Qwen3's template puts an
  empty `<think>\\n\\n</think>\\n\\n` before the answer of the last assistant turn (and the reasoning, when a
  turn has `reasoning_content`), and strips it from earlier turns; the labels follow that text. Qwen3's
  default generation prompt (thinking on) is `<|im_start|>assistant\\n` as well, so the model is trained to
  write what it writes at inference.

Templates that do carry `{% generation %}` markers get the same answer either way; the markers are used
when present (the template author's own declaration), the header search otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedTokenizerBase

from medgo.model.tokenizer import IM_END

_PROBE = "\ue000"  # a private-use character no template touches


class ChatSpanError(ValueError):
    """The rendered conversation does not show each assistant message where the template's header says."""


def has_generation_markers(template: str | None) -> bool:
    return bool(template) and re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None


def render(tok: PreTrainedTokenizerBase, messages: Sequence[dict], add_generation_prompt: bool = False,
           **template_kwargs: Any) -> str:
    return tok.apply_chat_template(
        list(messages), tokenize=False, add_generation_prompt=add_generation_prompt, **template_kwargs
    )


def generation_prompt(tok: PreTrainedTokenizerBase, **template_kwargs: Any) -> str:
    """What the template adds for add_generation_prompt=True after a user turn: the assistant header."""
    msgs = [{"role": "user", "content": _PROBE}]
    with_prompt = render(tok, msgs, add_generation_prompt=True, **template_kwargs)
    without = render(tok, msgs, **template_kwargs)
    if not with_prompt.startswith(without) or len(with_prompt) == len(without):
        raise ChatSpanError("the chat template renders no generation prompt (add_generation_prompt=True adds nothing)")
    return with_prompt[len(without):]


def end_of_turn(tok: PreTrainedTokenizerBase) -> str:
    """The token that closes an assistant turn: <|im_end|> for ChatML, else the tokenizer's eos."""
    if IM_END in tok.get_vocab():
        return IM_END
    if not tok.eos_token:
        raise ChatSpanError("the tokenizer has neither <|im_end|> nor an eos token to end an assistant turn")
    return tok.eos_token


def _answer_text(message: dict) -> str:
    """The part of an assistant message every Qwen template renders verbatim (think blocks may be moved)."""
    content = message.get("content") or ""
    return content.split("</think>")[-1].strip()


@dataclass
class SpanFinder:
    """Locates assistant spans for one tokenizer + template (header and end token computed once)."""

    header: str
    end: str

    @classmethod
    def for_tokenizer(cls, tok: PreTrainedTokenizerBase, **template_kwargs: Any) -> SpanFinder:
        header = generation_prompt(tok, **template_kwargs)
        end = end_of_turn(tok)
        # A generation prompt that opens a think block (Qwen3, enable_thinking=false) is a header plus a
        # prefilled answer start; earlier turns show only the role line, so search for that.
        first_line = header.split("\n", 1)[0] + "\n" if "\n" in header else header
        return cls(header=first_line, end=end)

    def char_spans(self, text: str, messages: Sequence[dict]) -> list[tuple[int, int]]:
        """[start, end) character spans of each assistant turn's target text in `text`."""
        spans: list[tuple[int, int]] = []
        pos = 0
        for m in messages:
            if m.get("role") != "assistant":
                continue
            s = text.find(self.header, pos)
            if s < 0:
                raise ChatSpanError(f"assistant header {self.header!r} not found for assistant turn {len(spans) + 1}")
            s += len(self.header)
            e = text.find(self.end, s)
            e = len(text) if e < 0 else e + len(self.end)
            answer = _answer_text(m)
            if answer and answer not in text[s:e]:
                raise ChatSpanError(
                    f"assistant turn {len(spans) + 1}: its text is not where the template's header puts it"
                )
            spans.append((s, e))
            pos = e
        return spans


def assistant_mask(
    tok: PreTrainedTokenizerBase, messages: Sequence[dict], finder: SpanFinder | None = None, **template_kwargs: Any
) -> tuple[list[int], list[int]]:
    """(input_ids, mask) of the rendered conversation; mask is 1 on the tokens an assistant-only loss trains on.

    A token is a target when it starts inside an assistant span."""
    if has_generation_markers(tok.chat_template):
        enc = tok.apply_chat_template(
            list(messages), tokenize=True, return_dict=True, return_assistant_tokens_mask=True, **template_kwargs
        )
        return list(enc["input_ids"]), list(enc["assistant_masks"])
    finder = finder or SpanFinder.for_tokenizer(tok, **template_kwargs)
    text = render(tok, messages, **template_kwargs)
    spans = finder.char_spans(text, messages)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = []
    k = 0
    for start, _ in enc["offset_mapping"]:
        while k < len(spans) and start >= spans[k][1]:
            k += 1
        mask.append(int(k < len(spans) and spans[k][0] <= start < spans[k][1]))
    return list(enc["input_ids"]), mask


def labels_from_mask(ids: Sequence[int], mask: Sequence[int]) -> list[int]:
    return [i if m else -100 for i, m in zip(ids, mask, strict=True)]
