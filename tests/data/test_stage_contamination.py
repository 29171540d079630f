"""The data stage's contamination summary of SFT / preference sets against the eval files, and its report table."""

from __future__ import annotations

import json
from pathlib import Path

from medgo.config import load_config
from medgo.data.stage import OUT_FILES, contamination_summary
from medgo.report.stage import contamination_section

LEAK = "患者男性六十岁反复胸痛三天伴大汗诊断为急性心肌梗死"


def test_sft_and_preference_overlap_is_counted_and_reported(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("文本" * 20, encoding="utf-8")
    ev = tmp_path / "dev.jsonl"
    ev.write_text(json.dumps({"id": "e1", "text": LEAK}, ensure_ascii=False) + "\n"
                  + json.dumps({"id": "e2", "text": "完全无关的另一段评测文本内容没有重叠部分"}, ensure_ascii=False) + "\n",
                  encoding="utf-8")
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("name: t\ndata:\n  corpus: [c.txt]\n  prepare: {contamination: {eval: [dev.jsonl]}}\n",
                        encoding="utf-8")
    cfg = load_config(cfg_file)
    out = tmp_path / "data"
    out.mkdir()
    sft = {"id": "s1", "messages": [{"role": "user", "content": LEAK}, {"role": "assistant", "content": "好"}]}
    (out / OUT_FILES["sft_train"]).write_text(json.dumps(sft, ensure_ascii=False) + "\n", encoding="utf-8")
    pref = {"id": "p1", "prompt": "头痛怎么办", "chosen": "多休息", "rejected": "不用管"}
    (out / OUT_FILES["preference"]).write_text(json.dumps(pref, ensure_ascii=False) + "\n", encoding="utf-8")
    s = contamination_summary(cfg, out)
    assert s["sets"]["sft"]["per_eval"][str(ev)]["contaminated"] == 1
    assert s["sets"]["preference"]["per_eval"][str(ev)]["contaminated"] == 0
    text = "\n".join(contamination_section({"counts": {"contamination": s}}))
    assert "| dev.jsonl | 1/2 | 0/2 | 0 |" in text
