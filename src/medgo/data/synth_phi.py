"""Synthetic annotated clinical notes for measuring de-identification: every PHI span is labelled with its
type, and clinical content that must survive (drugs, diseases, doses, lab values) is labelled KEEP.
All names, numbers and places are random; nothing here comes from a real record."""

from __future__ import annotations

import random
from typing import Any

# Drawn partly from outside deid_lexicon's surname list so the benchmark also sees unseen surnames.
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕") + [
    "欧阳", "司马", "诸葛", "上官", "燕", "闻", "芮", "仝",
]
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌波宇浩凯鹏飞鑫佳欣怡婷雪琳晨子涵")
_PROV = ["北京", "上海", "河北省", "山东省", "江苏省", "浙江省", "广东省", "四川省", "湖北省", "河南省", "辽宁省"]
_CITY = ["石家庄", "济南", "南京", "杭州", "广州", "成都", "武汉", "郑州", "沈阳", "承德", "保定", "苏州"]
_DIST = ["朝阳", "海淀", "鼓楼", "西湖", "天河", "武侯", "江岸", "金水", "和平", "双滦", "莲池", "姑苏"]
_ROAD = ["建国", "人民", "解放", "中山", "和平", "胜利", "长江", "黄河", "新华", "文化", "青年", "光明"]
_TOWN = ["城关", "新庄", "大营", "李家", "王庄", "柳河", "石桥", "东关"]
_DOMAINS = ["163.com", "qq.com", "126.com", "sina.com", "hospital.cn", "gmail.com"]
_KEEP = [
    "阿莫西林胶囊0.5g tid", "二甲双胍500mg bid", "硝苯地平控释片30mg qd", "黄芪注射液20ml ivgtt", "白蛋白35g/L",
    "高血压病3级", "2型糖尿病", "冠状动脉粥样硬化性心脏病", "慢性阻塞性肺疾病", "WBC 12.5×10^9/L", "Hb 98g/L",
    "血钾3.2mmol/L", "BP 150/90mmHg", "T 38.5℃", "HbA1c 8.2%", "CRP 56mg/L", "ALT 120U/L", "甘草片2片 tid",
    "石膏固定", "左氧氟沙星0.4g qd", "胰岛素12U皮下注射", "肌酐156μmol/L", "心率98次/分", "当归10g", "高热",
    "黄疸", "全血细胞减少", "房颤", "房室传导阻滞", "关节肿痛", "麻醉", "康复治疗", "柴胡12g", "血小板 85×10^9/L",
]
_FILLER = ["因发热、咳嗽{d}天入院", "主诉胸闷气短{d}年，加重{d}天", "查体：神志清，精神可", "予以对症支持治疗", "病情平稳"]


def _name(r: random.Random) -> str:
    return r.choice(_SURNAMES) + "".join(r.choice(_GIVEN) for _ in range(r.choice([1, 2, 2])))


def _id18(r: random.Random) -> str:
    body = f"{r.choice(['110105', '130802', '320102', '440106', '510107'])}{r.randint(1940, 2015)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w, strict=True)) % 11]


def _id15(r: random.Random) -> str:
    return f"{r.choice(['110105', '130802', '320102'])}{r.randint(40, 99)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"


def _phone(r: random.Random) -> str:
    n = f"1{r.choice('3456789')}{r.randint(0, 9)}{r.randint(0, 99999999):08d}"
    return r.choice([n, f"{n[:3]}-{n[3:7]}-{n[7:]}", f"{n[:3]} {n[3:7]} {n[7:]}", f"+86 {n}",
                     f"0{r.choice(['10', '21', '311', '531', '25'])}-{r.randint(2, 8)}{r.randint(0, 9999999):07d}",
                     f"(0{r.choice(['10', '20', '311'])}){r.randint(2, 8)}{r.randint(0, 9999999):07d}"])


def _address(r: random.Random) -> str:
    road = f"{r.choice(_ROAD)}路{r.randint(1, 300)}号"
    unit = f"{r.randint(1, 30)}栋{r.randint(1, 6)}单元{r.randint(101, 2802)}室"
    return r.choice([
        f"{r.choice(_PROV)}{r.choice(_CITY)}市{r.choice(_DIST)}区{road}{unit}",
        f"{r.choice(_CITY)}市{r.choice(_DIST)}区{road}",
        f"{r.choice(_DIST)}县{r.choice(_TOWN)}镇{r.choice(_TOWN)}村{r.randint(1, 12)}组",
        f"{r.choice(_CITY)}市{r.choice(_ROAD)}小区{r.randint(1, 40)}号楼{r.randint(101, 1802)}室",
    ])


def _date(r: random.Random) -> str:
    y, m, d = r.randint(1990, 2024), r.randint(1, 12), r.randint(1, 28)
    return r.choice([f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}.{m:02d}.{d:02d}", f"{m}月{d}日",
                     f"{y}年{m}月"])


def _record(r: random.Random) -> tuple[str, str]:
    cue = r.choice(["住院号：", "病案号 ", "门诊号：", "病历号:", "登记号："])
    return cue, r.choice([f"{r.randint(100000, 99999999)}", f"ZY{r.randint(10000, 999999)}", f"MZ-{r.randint(1000, 99999)}"])


def _hospital(r: random.Random) -> str:
    return r.choice([
        f"{r.choice(_CITY)}市第{r.choice('一二三四五六')}人民医院", f"{r.choice(_PROV)}人民医院", f"{r.choice(_CITY)}市中医院",
        f"{r.choice(['四川大学', '中山大学', '浙江大学', '河北医科大学'])}附属第{r.choice('一二三')}医院",
        f"{r.choice(_TOWN)}镇卫生院", "北京协和医院",
    ])


def generate_note(r: random.Random) -> dict[str, Any]:
    """One note as text plus spans [{start, end, type}] (PHI types and KEEP)."""
    parts: list[tuple[str, str | None]] = []

    def add(*items: str | None) -> None:  # alternating text, type (None = plain text)
        parts.extend((str(items[i]), items[i + 1]) for i in range(0, len(items), 2))
    age = r.randint(1, 95)
    header = r.choice(["name_sex", "form", "patient"])
    if header == "name_sex":
        add(_name(r), "NAME", f"，{r.choice('男女')}，{age}岁，", None)
    elif header == "form":
        add("姓名：", None, _name(r), "NAME", f" 性别：{r.choice('男女')} 年龄：{age}岁 ", None)
    else:
        add("患者", None, _name(r), "NAME", r.choice(["因", "于", "，"]), None)
    add(r.choice(_FILLER).format(d=r.randint(2, 10)) + "，", None)
    add("于", None, _date(r), "DATE", "就诊于", None, _hospital(r), "HOSPITAL", "。", None)
    k = r.randint(2, 4)
    for item in r.sample(_KEEP, k):
        add("既往" if r.random() < 0.3 else "", None, item, "KEEP", "，", None)
    cue, rec = _record(r)
    add(cue, None, rec, "RECORD", "，", None)
    if r.random() < 0.5:
        add(str(r.randint(1, 60)), "RECORD", "床。", None)
    add(r.choice(["身份证号：", "身份证：", "证件号码 "]), None, (_id18(r) if r.random() < 0.8 else _id15(r)), "ID")
    add(r.choice(["，联系电话：", "，手机 ", "，家属电话"]), None, _phone(r), "PHONE", "。", None)
    add(r.choice(["住址：", "家住", "现住"]), None, _address(r), "ADDRESS", "。", None)
    if r.random() < 0.5:
        add("邮箱：", None)
        user = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 8)))
        add(f"{user}{r.choice(['', '.', '_'])}{r.randint(1, 999)}@{r.choice(_DOMAINS)}", "EMAIL", "。", None)
    kind = r.choice(["family", "doctor", "chief", "none"])
    if kind == "family":
        add(r.choice(["家属", "联系人："]), None, _name(r), "NAME", r.choice(["签字。", "（患者之子）。"]), None)
    elif kind == "doctor":
        add("主治医师：", None, _name(r), "NAME", "。", None)
    elif kind == "chief":
        add("今日", None, _name(r), "NAME", "主任查房，", None, r.choice(_KEEP), "KEEP", "。", None)
    add("复诊日期：", None, _date(r), "DATE", "。", None)
    text, spans, pos = "", [], 0
    for s, t in parts:
        if t is not None:
            spans.append({"start": pos, "end": pos + len(s), "type": t})
        text += s
        pos += len(s)
    return {"text": text, "spans": spans}


def generate_notes(n: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    r = random.Random(seed)
    return [{"id": f"synth-{i}", **generate_note(r)} for i in range(n)]


def score(notes: list[dict[str, Any]], cfg: Any = None) -> dict[str, Any]:
    """Per PHI type: recall = gold spans fully covered by some predicted span (the text is gone, whatever
    placeholder replaced it); precision = predicted spans of that type that overlap any gold PHI span.
    `keep_rate` = clinical KEEP spans left untouched."""
    from medgo.data.deid import PLACEHOLDERS, find_phi

    types = list(PLACEHOLDERS)
    gold_n = dict.fromkeys(types, 0)
    gold_hit = dict.fromkeys(types, 0)
    pred_n = dict.fromkeys(types, 0)
    pred_ok = dict.fromkeys(types, 0)
    keep_n = keep_ok = 0
    misses: list[str] = []
    for note in notes:
        text, spans = note["text"], note["spans"]
        pred = find_phi(text, cfg)
        covered = bytearray(len(text))
        for p in pred:
            covered[p.start : p.end] = b"\x01" * (p.end - p.start)
        phi = [s for s in spans if s["type"] != "KEEP"]
        for s in spans:
            full = all(covered[s["start"] : s["end"]])
            if s["type"] == "KEEP":
                keep_n += 1
                keep_ok += not any(covered[s["start"] : s["end"]])
                continue
            gold_n[s["type"]] += 1
            gold_hit[s["type"]] += full
            if not full and len(misses) < 30:
                misses.append(f"{s['type']}: {text[s['start']:s['end']]!r} in …{text[max(0, s['start'] - 8):s['end'] + 8]}…")
        for p in pred:
            pred_n[p.type] += 1
            pred_ok[p.type] += any(p.start < g["end"] and g["start"] < p.end for g in phi)
    per_type = {
        t: {
            "gold": gold_n[t],
            "predicted": pred_n[t],
            "recall": round(gold_hit[t] / gold_n[t], 4) if gold_n[t] else None,
            "precision": round(pred_ok[t] / pred_n[t], 4) if pred_n[t] else None,
        }
        for t in types
    }
    return {"notes": len(notes), "per_type": per_type, "keep_rate": round(keep_ok / max(1, keep_n), 4),
            "keep_spans": keep_n, "misses_sample": misses}
