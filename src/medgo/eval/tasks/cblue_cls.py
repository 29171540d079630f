"""CBLUE classification and matching tasks: CHIP-CTC, CHIP-STS, KUAKE-QIC, KUAKE-QTR, KUAKE-QQR."""

from __future__ import annotations

from medgo.eval.tasks.base import Template
from medgo.eval.tasks.common import classification_task, options
from medgo.eval.tasks.registry import register

CBLUE1 = "Sherlock-coder_CBLUE/data/{task}"

CTC_LABELS = [
    "Disease", "Symptom", "Sign", "Pregnancy-related Activity", "Neoplasm Status", "Non-Neoplasm Disease Stage",
    "Allergy Intolerance", "Organ or Tissue Status", "Life Expectancy", "Oral related", "Pharmaceutical Substance or Drug",
    "Therapy or Surgery", "Device", "Nursing", "Diagnostic", "Laboratory Examinations", "Risk Assessment",
    "Receptor Status", "Age", "Special Patient Characteristic", "Literacy", "Gender", "Education", "Address",
    "Ethnicity", "Consent", "Enrollment in other studies", "Researcher Decision", "Capacity", "Ethical Audit",
    "Compliance with Protocol", "Addictive Behavior", "Bedtime", "Exercise", "Diet", "Alcohol Consumer",
    "Sexual related", "Smoking Status", "Blood Donation", "Encounter", "Disabilities", "Healthy", "Data Accessible",
    "Multiple",
]
QIC_LABELS = ["病情诊断", "病因分析", "治疗方案", "就医建议", "指标解读", "疾病表述", "后果表述", "注意事项",
              "功效作用", "医疗费用", "其他"]
QTR = {"0": "完全不匹配", "1": "很少匹配", "2": "部分匹配", "3": "完全匹配"}
QQR = {"0": "语义父集或无关", "1": "语义子集", "2": "完全一致"}
STS = {"0": "不同", "1": "相同"}


def _ctc(ex: dict) -> dict[str, str]:
    return {"text": ex["text"].strip(), "options": ", ".join(CTC_LABELS)}


register(classification_task(
    "CHIP-CTC", repo_dir=CBLUE1.format(task="CHIP-CTC"), labels={x: x for x in CTC_LABELS}, fields=_ctc,
    native="macro", promptcblue_avg="macro",
    templates=[
        Template("zero", "判断下面临床试验筛选标准的类别。\n类别选项：{options}\n筛选标准：{text}\n类别："),
        Template("short", "临床试验筛选标准：{text}\n它属于哪一类（{options}）？\n答："),
        Template("few3", "判断下面临床试验筛选标准的类别。\n类别选项：{options}\n筛选标准：{text}\n类别：", shots=3),
    ],
))


def _qic(ex: dict) -> dict[str, str]:
    return {"query": ex["query"], "options": "，".join(QIC_LABELS)}


register(classification_task(
    "KUAKE-QIC", repo_dir=CBLUE1.format(task="KUAKE-QIC"), labels={x: x for x in QIC_LABELS}, fields=_qic,
    native="accuracy", promptcblue_avg="macro",
    templates=[
        Template("zero", "判断下面医疗搜索词的意图。\n选项：{options}\n搜索词：{query}\n意图："),
        Template("short", "搜索词“{query}”的意图是（{options}）：\n答："),
        Template("few3", "判断下面医疗搜索词的意图。\n选项：{options}\n搜索词：{query}\n意图：", shots=3),
    ],
))


def _pair(a: str, b: str, labels: dict[str, str]):
    def fields(ex: dict) -> dict[str, str]:
        return {"a": ex.get(a) or ex.get("query1") or ex.get("query", ""),
                "b": ex.get(b) or ex.get("query2") or ex.get("title", ""), "options": options(labels)}
    return fields


register(classification_task(
    "KUAKE-QTR", repo_dir=CBLUE1.format(task="KUAKE-QTR"), labels=QTR, fields=_pair("query", "title", QTR),
    native="accuracy", promptcblue_avg="weighted",
    templates=[
        Template("zero", "判断搜索词与页面标题的相关程度。\n搜索词：{a}\n标题：{b}\n选项：{options}\n答："),
        Template("short", "“{a}”与“{b}”的匹配程度（{options}）：\n答："),
        Template("few3", "判断搜索词与页面标题的相关程度。\n搜索词：{a}\n标题：{b}\n选项：{options}\n答：", shots=3),
    ],
))
register(classification_task(
    "KUAKE-QQR", repo_dir=CBLUE1.format(task="KUAKE-QQR"), labels=QQR, fields=_pair("query1", "query2", QQR),
    native="accuracy", promptcblue_avg="weighted",
    templates=[
        Template("zero", "判断后一个搜索词相对前一个的语义关系。\n前者：{a}\n后者：{b}\n选项：{options}\n答："),
        Template("short", "“{a}”，“{b}”：后者是前者的（{options}）？\n答："),
        Template("few3", "判断后一个搜索词相对前一个的语义关系。\n前者：{a}\n后者：{b}\n选项：{options}\n答：", shots=3),
    ],
))
register(classification_task(
    "CHIP-STS", repo_dir=CBLUE1.format(task="CHIP-STS"), labels=STS, fields=_pair("text1", "text2", STS),
    native="macro", promptcblue_avg="weighted",
    templates=[
        Template("zero", "判断下面两个医疗问题的意思是否相同。\n问题一：{a}\n问题二：{b}\n选项：{options}\n答："),
        Template("short", "“{a}”和“{b}”意思（{options}）？\n答："),
        Template("few3", "判断下面两个医疗问题的意思是否相同。\n问题一：{a}\n问题二：{b}\n选项：{options}\n答：", shots=3),
    ],
))
