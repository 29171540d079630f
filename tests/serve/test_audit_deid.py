"""Issue #16: the serving audit log passes through the document- and conversation-consistent
de-identifier. A patient named with a cue in turn 1 and repeated without one in turn 3 appears in no log
file."""

from __future__ import annotations

import json
from pathlib import Path

import openai

from medgo.serve.audit import AuditLog

KEY = "sk-audit-deid-1"
NAME = "欧阳建国"
DAUGHTER = "李秀英"


def _all_log_text(root: Path) -> str:
    return "\n".join(p.read_text("utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


def test_audit_log_unit_conversation_memory(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt=f"患者{NAME}，男，65岁，胸痛三天，女儿{DAUGHTER}陪同。", response="建议心电图。")
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt="好的", response=f"{NAME}需要低盐饮食。")
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt=f"{NAME}今天还胸痛，{DAUGHTER}问要不要住院", response="请来院复查。")
    text = (tmp_path / "a.jsonl").read_text("utf-8")
    assert NAME not in text and DAUGHTER not in text
    rows = [json.loads(x) for x in text.splitlines()]
    assert rows[2]["prompt"] == "[姓名]今天还胸痛，[姓名]问要不要住院"
    assert "胸痛三天" in rows[0]["prompt"]  # clinical content stays


def test_audit_log_with_a_learned_tagger_catches_a_name_given_without_any_cue(tmp_path: Path, tiny_deid_tagger) -> None:
    from medgo.data.deid import find_phi

    turn1 = "今晨王永福拒绝进食，已告知医生。"
    assert not [p for p in find_phi(turn1) if p.type == "NAME"]  # the rules alone see no name here
    log = AuditLog(tmp_path / "a.jsonl", deid_tagger=tiny_deid_tagger)
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1, prompt=turn1, response="好的")
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt="他今天好些了吗", response="还需观察")
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt="王永福说想回家", response="王永福可以明天出院")
    text = (tmp_path / "a.jsonl").read_text("utf-8")
    assert "王永福" not in text and "拒绝进食" in text


def test_audit_log_truncates_after_deid(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl", max_chars=12)
    log.write(key_id="k", route="/x", status=200, latency_s=0.0, prompt=f"主治医师：张志刚，患者{NAME}。")
    row = json.loads((tmp_path / "a.jsonl").read_text("utf-8"))
    assert "张志" not in row["prompt"] and "欧阳" not in row["prompt"]


def test_conversation_through_the_server_leaves_no_name_in_any_log(serve, tmp_path: Path) -> None:
    audit = tmp_path / "logs" / "audit.jsonl"
    srv = serve(api_keys=[KEY], audit_log=audit)
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key=KEY, max_retries=0)
    turn1 = {"role": "user", "content": f"患者{NAME}，男，65岁，胸痛三天，住院号：ZY2024001，电话13812345678"}
    r1 = c.chat.completions.create(model="m", messages=[turn1], max_tokens=4, temperature=0)
    turn2 = {"role": "assistant", "content": r1.choices[0].message.content or ""}
    turn3 = {"role": "user", "content": f"{NAME}今天胸痛好些了，还需要复查心电图吗？"}
    c.chat.completions.create(model="m", messages=[turn1, turn2, turn3], max_tokens=4, temperature=0)
    c.chat.completions.create(model="m", messages=[turn3], max_tokens=4, temperature=0)  # a client resending one turn
    rows = [json.loads(x) for x in audit.read_text("utf-8").splitlines()]
    chat = [r for r in rows if r["route"] == "/v1/chat/completions"]
    assert len(chat) == 3 and all(r["status"] == 200 for r in chat)
    logs = _all_log_text(tmp_path)
    for secret in (NAME, "ZY2024001", "13812345678"):
        assert secret not in logs
    assert chat[1]["prompt"].startswith("[姓名]今天胸痛好些了")


def test_audit_log_keeps_listed_terms_and_a_bad_list_fails_at_start(tmp_path: Path) -> None:
    import pytest

    from medgo.errors import DataError

    terms = tmp_path / "formulary.txt"
    terms.write_text("施维舒\n", encoding="utf-8")
    log = AuditLog(tmp_path / "a.jsonl", deid_terms=[terms])
    log.write(key_id="k1", route="/v1/chat/completions", status=200, latency_s=0.1,
              prompt=f"患者{NAME}胃痛，施维舒护胃，施维舒饭前服可以吗", response="可以。")
    text = (tmp_path / "a.jsonl").read_text("utf-8")
    assert NAME not in text and text.count("施维舒") == 2
    with pytest.raises(DataError, match="missing.txt"):
        AuditLog(tmp_path / "b.jsonl", deid_terms=[tmp_path / "missing.txt"])
