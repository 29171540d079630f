"""A tiny project-made data set and config that run every stage in seconds (imported by tests)."""

from __future__ import annotations

import json
import random
from pathlib import Path

LABELS = ["病情诊断", "治疗方案", "病因分析", "用药建议", "注意事项", "就医建议"]
TEMPLATE = (
    "请判断下面这个医疗问题的意图类别。\n选项：病情诊断，治疗方案，病因分析，用药建议，注意事项，就医建议\n问题：{text}\n答案："
)
DISEASES = ["高血压", "糖尿病", "肺炎", "胃炎", "哮喘", "冠心病", "肾结石", "偏头痛"]
SYMPTOMS = ["头痛", "咳嗽", "胸痛", "腹痛", "发热", "乏力", "腰痛", "头晕"]
DRUGS = ["氨氯地平", "二甲双胍", "阿莫西林", "奥美拉唑", "沙丁胺醇", "阿司匹林", "坦索罗辛", "布洛芬"]
CUES = ["是什么病", "怎么治疗", "为什么会这样", "吃什么药", "要注意什么", "挂什么科"]


def _dump(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def write_mini_project(root: Path, *, pretrain_steps: int = 6, extra_yaml: str = "") -> Path:
    """Files + config for a run of every stage on a ~30k-parameter Qwen2. Returns the config path."""
    rng = random.Random(0)
    root.mkdir(parents=True, exist_ok=True)
    corpus = []
    for i in range(240):
        d = rng.randrange(len(DISEASES))
        corpus.append({
            "id": f"c{i}",
            "text": f"第{i}例：{DISEASES[d]}患者常见{SYMPTOMS[d]}，可以使用{DRUGS[d]}治疗，需定期复查{i % 7}次。",
            "source": "mini",
        })
    _dump(root / "corpus.jsonl", corpus)
    sft = []
    for i in range(96):
        d, lab = rng.randrange(len(DISEASES)), i % 6
        sft.append({"id": f"s{i}", "messages": [
            {"role": "user", "content": TEMPLATE.format(text=f"我{SYMPTOMS[d]}，{CUES[lab]}？")},
            {"role": "assistant", "content": LABELS[lab]},
        ]})
    sft.append({"id": "s-chat", "messages": [
        {"role": "system", "content": "你是医生助手。"},
        {"role": "user", "content": "高血压吃什么药？"},
        {"role": "assistant", "content": "可以使用氨氯地平。"},
        {"role": "user", "content": "要注意什么？"},
        {"role": "assistant", "content": "低盐饮食，定期测血压。"},
    ]})
    _dump(root / "sft.jsonl", sft)
    with (root / "sft.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "bad-role", "messages": [{"role": "assistant", "content": "x"}]}\n')
        f.write("not json at all\n")
    pref = []
    for i in range(16):
        d = i % len(DISEASES)
        pref.append({"id": f"p{i}", "messages": [{"role": "user", "content": f"{DISEASES[d]}吃什么药？"}],
                     "chosen": f"可以在医生指导下使用{DRUGS[d]}。", "rejected": "随便吃点就行。"})
    _dump(root / "pref.jsonl", pref)
    evals = [{"id": f"e{i}", "task": "qic", "text": f"最近{SYMPTOMS[i % 8]}，{CUES[i % 6]}", "label": LABELS[i % 6]}
             for i in range(24)]
    _dump(root / "eval.jsonl", evals)
    cfg = root / "mini.yaml"
    cfg.write_text(
        f"""name: mini
seed: 1
output_dir: {root / 'runs'}
data: {{corpus: [corpus.jsonl], sft: [sft.jsonl], preference: [pref.jsonl], eval_cls: eval.jsonl, heldout_fraction: 0.1, preference_eval_fraction: 0.2}}
tokenizer: {{type: bpe, vocab_size: 400}}
model: {{tiny: {{hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,
        num_key_value_heads: 1, max_position_embeddings: 256}}}}
pretrain: {{max_steps: {pretrain_steps}, block_size: 32, per_device_batch_size: 4, save_steps: 2, logging_steps: 1}}
sft: {{max_steps: 4, max_length: 96, per_device_batch_size: 4, save_steps: 2, logging_steps: 1}}
preference: {{max_steps: 2, max_length: 96, per_device_batch_size: 2, save_steps: 2, logging_steps: 1}}
eval:
  batch_size: 8
  classification:
    template: "{TEMPLATE.encode('unicode_escape').decode('ascii')}"
    labels: [{', '.join(LABELS)}]
{extra_yaml}""",
        encoding="utf-8",
    )
    return cfg


def save_tiny_model(out: Path, texts: list[str], vocab_size: int = 300, seed: int = 0, **tiny: int) -> Path:
    """A servable folder (tokenizer + random tiny Qwen2) in about a second; `tiny` overrides the shape."""
    from medgo.config.schema import ModelConfig, TinyModelConfig
    from medgo.model.factory import build_tiny_qwen2
    from medgo.model.tokenizer import train_bpe_tokenizer

    tok = train_bpe_tokenizer(texts, vocab_size=vocab_size)
    shape = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 1, "max_position_embeddings": 2048, **tiny}
    out.mkdir(parents=True, exist_ok=True)
    build_tiny_qwen2(ModelConfig(tiny=TinyModelConfig(**shape)), tok, seed).save_pretrained(out)
    tok.save_pretrained(out)
    return out


# ---- a tiny learned name tagger (issue #16) ---------------------------------------------------------------
# Record-style sentences that refer to people only by role; the tagger learns where names stand from these.
DEID_SENTENCES = [
    "患者突然坐起喊叫，予以安抚。", "凌晨2点患者诉胸闷，心电监护示窦性心动过速。", "患者自觉乏力3天，无发热。",
    "今晨患者拒绝进食，已告知医生。", "医生查看后考虑低血糖，予葡萄糖静推。", "患者与同室病友发生争执，护士协调后调换床位。",
    "其母陪同就诊，代诉病史。", "患者可独立行走20米，步态稳。", "已通知医生调整胰岛素剂量。", "患者既往无药物过敏史。",
    "医生带领实习生查看患者，讲解腹水体征。", "患者今日出院，嘱定期复查。", "患者于夜间跌倒，护士到场处理。",
    "其女代为签字，知情同意。", "患者术后第3天，切口愈合好。", "医生与家属沟通病情，家属表示理解。",
    "患者精神差，食欲减退，睡眠欠佳。", "护士协助患者翻身拍背。", "患者血压160/95mmHg，予硝苯地平口服。",
    "主任查房后指示完善胃镜检查。", "患者突发意识障碍，呼之不应。", "晚间患者情绪激动，要求回家。",
]
DEID_NAMES_HELD_OUT = ["王永福", "李杭生", "张德贵", "刘天明", "陈向阳"]  # given names the rules do not trust alone


def train_tiny_deid_tagger(root: Path) -> Path:
    """~30 s on 2 cores: a small tagger trained on DEID_SENTENCES with names planted, plus generator notes."""
    import json

    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    corpus = root / "records.jsonl"
    with corpus.open("w", encoding="utf-8") as f:
        for s in DEID_SENTENCES * 30:
            f.write(json.dumps({"text": s}, ensure_ascii=False) + "\n")
    cfg = TaggerTrainConfig(corpus=[str(corpus)], out=str(root / "tagger"), segments=2000, synth_notes=200,
                            steps=700, batch=32, dim=96, blocks=(1, 2, 4), plant=0.8, seed=3, threads=2)
    meta = train_tagger(cfg)
    assert meta["held_out"]["recall"] > 0.8, meta["held_out"]
    return Path(cfg.out)
