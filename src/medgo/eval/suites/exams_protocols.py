"""Where each exam's `published` protocol comes from, and its prompt: the benchmark's own format, the answer
letter scored after it (not the option text), k-shot from the set's dev split where it has one.

| exam | published protocol | source |
|---|---|---|
| cmmlu-medical, cmmlu-general | header 以下是关于{科目}的单项选择题，请直接给出正确答案的选项。, 5-shot: the subject's first 5 dev rows, each `问题\nA. …\nD. …\n答案： X`, blank line between; score " A".." D" | CMMLU's code (src/mp_utils.py) and lm-evaluation-harness `cmmlu_*` (tasks/cmmlu, sampler first_n, target delimiter " ") |
| medqa-usmle | `Question: …\nA. …\nE. …\nAnswer:`, score " A".." E", zero-shot (PULSE's 150 have no dev split) | lm-evaluation-harness `medqa_4options` (tasks/medqa/preprocess_medqa.py), with the set's 5 options |
| medqa-mcmle, cnmleqa | CMMLU's format with the header naming the exam, zero-shot (no dev split) | the authors publish no LLM prompt (MedQA, CNMLEQA); CMMLU's format is medgo's choice |
| cmb-exam | CMB's answer-only prompt: 以下是中国{exam_type}中{exam_class}考试的一道{question_type}，不需要做任何分析和解释，直接输出答案选项。, a newline, the question and `A. …` options, zero-shot; the letter is scored after `答案：` (CMB has it as the assistant's turn); multi-answer questions only by generation | CMB's README ("CMB评测细节", Answer-only Prompt; FreedomIntelligence/CMB) |

The `chat` protocol is medgo's instruction prompt rendered with the model's chat template, scoring
"X. option<|im_end|>" (for instruction-tuned models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medgo.eval.suites.exams import MCQ

PROTOCOLS = ("published", "chat")

# CMMLU's 67 subjects and the Chinese names its header uses (CMMLU src/categories.py = lm-eval tasks/cmmlu)
CMMLU_SUBJECTS = {
    "agronomy": "农学", "anatomy": "解剖学", "ancient_chinese": "古汉语", "arts": "艺术学", "astronomy": "天文学",
    "business_ethics": "商业伦理", "chinese_civil_service_exam": "中国公务员考试", "chinese_driving_rule": "中国驾驶规则",
    "chinese_food_culture": "中国饮食文化", "chinese_foreign_policy": "中国外交政策", "chinese_history": "中国历史",
    "chinese_literature": "中国文学", "chinese_teacher_qualification": "中国教师资格", "clinical_knowledge": "临床知识",
    "college_actuarial_science": "大学精算学", "college_education": "大学教育学", "college_engineering_hydrology": "大学工程水文学",
    "college_law": "大学法律", "college_mathematics": "大学数学", "college_medical_statistics": "大学医学统计",
    "college_medicine": "大学医学", "computer_science": "计算机科学", "computer_security": "计算机安全",
    "conceptual_physics": "概念物理学", "construction_project_management": "建设工程管理", "economics": "经济学",
    "education": "教育学", "electrical_engineering": "电气工程", "elementary_chinese": "小学语文",
    "elementary_commonsense": "小学常识", "elementary_information_and_technology": "小学信息技术",
    "elementary_mathematics": "初等数学", "ethnology": "民族学", "food_science": "食品科学", "genetics": "遗传学",
    "global_facts": "全球事实", "high_school_biology": "高中生物", "high_school_chemistry": "高中化学",
    "high_school_geography": "高中地理", "high_school_mathematics": "高中数学", "high_school_physics": "高中物理学",
    "high_school_politics": "高中政治", "human_sexuality": "人类性行为", "international_law": "国际法学", "journalism": "新闻学",
    "jurisprudence": "法理学", "legal_and_moral_basis": "法律与道德基础", "logical": "逻辑学", "machine_learning": "机器学习",
    "management": "管理学", "marketing": "市场营销", "marxist_theory": "马克思主义理论", "modern_chinese": "现代汉语",
    "nutrition": "营养学", "philosophy": "哲学", "professional_accounting": "专业会计", "professional_law": "专业法学",
    "professional_medicine": "专业医学", "professional_psychology": "专业心理学", "public_relations": "公共关系",
    "security_study": "安全研究", "sociology": "社会学", "sports_science": "体育学", "traditional_chinese_medicine": "中医中药",
    "virology": "病毒学", "world_history": "世界历史", "world_religions": "世界宗教",
}
CMMLU_MEDICAL = ("anatomy", "clinical_knowledge", "college_medical_statistics", "college_medicine", "genetics",
                 "nutrition", "professional_medicine", "traditional_chinese_medicine", "virology")
CMMLU_GENERAL = tuple(s for s in CMMLU_SUBJECTS if s not in CMMLU_MEDICAL)  # 58: general ability kept or lost

# exam -> (default shots under `published`, where they come from)
PUBLISHED_SHOTS = {"cmmlu-medical": 5, "cmmlu-general": 5, "medqa-usmle": 0, "medqa-mcmle": 0, "cnmleqa": 0,
                   "cmb-exam": 0}
EXAM_HEADERS = {"medqa-mcmle": "中国医师资格考试", "cnmleqa": "中国执业医师资格考试"}


def cmmlu_header(subject: str) -> str:
    return f"以下是关于{CMMLU_SUBJECTS.get(subject, subject)}的单项选择题，请直接给出正确答案的选项。\n\n"


def _cmmlu_doc(q: MCQ) -> str:
    return q.question + "".join(f"\n{k}. {v}" for k, v in q.options.items()) + "\n答案："


def _usmle_doc(q: MCQ) -> str:
    return "Question: " + q.question + "\n" + "".join(f"{k}. {v}\n" for k, v in q.options.items()) + "Answer:"


def _cmb_header(q: MCQ) -> str:
    m = q.meta
    return (f"以下是中国{m.get('exam_type', '')}中{m.get('exam_class', '')}考试的一道{q.qtype or '单项选择题'}，"
            "不需要做任何分析和解释，直接输出答案选项。\n")


def published_prompt(exam: str, q: MCQ, shots: Sequence[MCQ]) -> str:
    """The benchmark's own prompt as raw text (no chat template); the letter follows after a space."""
    if exam == "medqa-usmle":
        doc, head = _usmle_doc, ""
    elif exam == "cmb-exam":
        doc, head = _cmmlu_doc, _cmb_header(q)
    elif exam in EXAM_HEADERS:
        doc, head = _cmmlu_doc, cmmlu_header(EXAM_HEADERS[exam])
    else:
        doc, head = _cmmlu_doc, cmmlu_header(q.subject)
    sep = "\n\n"
    return head + "".join(doc(s) + " " + "".join(sorted(s.answer)) + sep for s in shots) + doc(q)


def published_continuation(letter: str) -> str:
    return " " + letter
