"""The judge against a real HTTP endpoint (scripted replies on 127.0.0.1 through the openai client): rubric
prompts, strict parsing, re-asks on malformed replies, HTTP timeouts / 5xx retried, both-order pairwise."""

from __future__ import annotations

import json

import pytest

from medgo.eval.judge import (
    JudgeParseError,
    combine_orders,
    extract_json,
    make_judge,
    parse_absolute,
    parse_pairwise,
)

GOOD = '{"accuracy": 4, "completeness": 3, "safety": 5, "helpfulness": 4, "rationale": "基本正确"}'
ITEM = {"question": "胸痛怎么办？", "answer": "立即就医，查心电图。", "case_text": "主诉：胸痛2小时",
        "reference": "急诊心电图", "rubric": [{"point": "心电图"}]}


@pytest.mark.parametrize("text", [GOOD, f"```json\n{GOOD}\n```", f"评分如下：{GOOD} 以上。"])
def test_parse_absolute_accepts_json_forms(text: str) -> None:
    assert parse_absolute(text) == {"accuracy": 4, "completeness": 3, "safety": 5, "helpfulness": 4,
                                    "rationale": "基本正确"}


@pytest.mark.parametrize("text", ["好的，我认为回答不错。", "{accuracy: 4}", "[1, 2]",
                                  GOOD.replace('"safety": 5', '"safety": 6'),
                                  GOOD.replace('"safety": 5', '"safety": 4.5'),
                                  GOOD.replace('"safety": 5', '"safety": "5"'),
                                  GOOD.replace('"safety": 5, ', '')])
def test_parse_absolute_is_strict(text: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_absolute(text)


def test_parse_pairwise() -> None:
    assert parse_pairwise('{"winner": "B", "rationale": "x"}')["winner"] == "B"
    assert parse_pairwise('{"winner": " tie "}')["winner"] == "tie"
    for bad in ('{"winner": "C"}', '{"winner": null}', "A"):
        with pytest.raises(JudgeParseError):
            parse_pairwise(bad)
    with pytest.raises(JudgeParseError):
        extract_json("no braces at all")


def test_absolute_prompt_and_parse_over_http(judge_server) -> None:
    judge_server.reply = lambda p, n: (200, f"```json\n{GOOD}\n```", 0.0)
    j = make_judge(judge_server.url, "judge", timeout_s=5)
    [v] = j.absolute([ITEM])
    assert v["accuracy"] == 4 and v["attempts"] == 1
    p = judge_server.prompts[0]
    assert all(s in p for s in ("accuracy（准确性）", "主诉：胸痛2小时", "急诊心电图", "- 心电图", "立即就医，查心电图。"))


def test_malformed_reply_is_reasked_then_given_up(judge_server) -> None:
    judge_server.reply = lambda p, n: (200, "我觉得挺好" if n == 1 else GOOD, 0.0)
    j = make_judge(judge_server.url, "judge", timeout_s=5)
    [v] = j.absolute([ITEM])
    assert v["attempts"] == 2 and j.malformed == 1 and v["helpfulness"] == 4
    judge_server.reply = lambda p, n: (200, '{"accuracy": 9}', 0.0)
    j2 = make_judge(judge_server.url, "judge", timeout_s=5, attempts=3)
    [v2] = j2.absolute([ITEM])
    assert "error" in v2 and "accuracy must be" in v2["error"] and j2.malformed == 3


def test_timeout_and_server_error_are_retried(judge_server) -> None:
    # 1st request hangs past the client timeout, 2nd is a 503, 3rd answers
    judge_server.reply = lambda p, n: (200, GOOD, 3.0) if n == 1 else (503, "", 0.0) if n == 2 else (200, GOOD, 0.0)
    j = make_judge(judge_server.url, "judge", timeout_s=0.5, max_retries=3, concurrency=1)
    j.engine.backoff_s = 0.01
    [v] = j.absolute([ITEM])
    assert v["accuracy"] == 4 and j.engine.retries == 2 and j.malformed == 0


def test_position_bias_cancels_in_both_orders(judge_server) -> None:
    items = [{"question": f"问题{i}", "model": f"模型回答{i}", "baseline": f"基线回答{i}"} for i in range(4)]
    judge_server.reply = lambda p, n: (200, '{"winner": "A", "rationale": "先出现的好"}', 0.0)
    j = make_judge(judge_server.url, "judge", timeout_s=5)
    res = j.pairwise(items)
    assert [r["outcome"] for r in res] == ["tie"] * 4  # a judge that always picks A decides nothing
    # the model's answer is A in the first order and B in the second
    p1 = next(p for p in judge_server.prompts if "问题0" in p and p.index("模型回答0") < p.index("基线回答0"))
    assert "【回答A】\n模型回答0" in p1
    assert any("【回答A】\n基线回答0" in p for p in judge_server.prompts)

    def content_judge(p: str, n: int) -> tuple[int, str, float]:
        a = p.split("【回答A】")[1].split("【回答B】")[0]
        return 200, json.dumps({"winner": "A" if "模型" in a else "B"}), 0.0

    judge_server.reply = content_judge
    res = make_judge(judge_server.url, "judge", timeout_s=5).pairwise(items)
    assert [r["outcome"] for r in res] == ["win"] * 4


def test_combine_orders_table() -> None:
    assert combine_orders("A", "B") == "win"  # model won as A and as B
    assert combine_orders("B", "A") == "loss"
    assert combine_orders("A", "A") == "tie" and combine_orders("B", "B") == "tie"  # position bias
    assert combine_orders("A", "tie") == "win" and combine_orders("tie", "A") == "loss"
    assert combine_orders("tie", "tie") == "tie" and combine_orders(None, "A") is None
