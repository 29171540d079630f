"""TF-IDF + logistic regression reference, scored by the task's own metric, on project-made rows."""

from __future__ import annotations

from medgo.eval.classical import evaluate_classical, texts_of
from medgo.eval.tasks import get_task


def test_single_text_task_learns_a_separable_pattern() -> None:
    task = get_task("KUAKE-QIC")
    train = [{"id": f"a{i}", "query": f"{w}怎么治疗", "label": "治疗方案"} for i, w in enumerate("头胃腰腿背颈")]
    train += [{"id": f"b{i}", "query": f"{w}挂什么科", "label": "就医建议"} for i, w in enumerate("头胃腰腿背颈")]
    test = [{"id": "t1", "query": "眼怎么治疗", "label": "治疗方案"}, {"id": "t2", "query": "耳挂什么科", "label": "就医建议"}]
    res = evaluate_classical(task, train, test)
    assert res["metric"] == "accuracy" and res["score"] == 1.0 and res["n_train"] == 12


def test_pair_task_uses_both_texts() -> None:
    task = get_task("CHIP-STS")
    ex = {"id": "1", "text1": "糖尿病能吃西瓜吗", "text2": "糖尿病人可以吃西瓜吗", "label": "1"}
    assert texts_of(task, ex) == ["糖尿病能吃西瓜吗", "糖尿病人可以吃西瓜吗"]
    same = [{"id": f"s{i}", "text1": f"{w}病怎么办", "text2": f"{w}病怎么办呢", "label": "1"} for i, w in enumerate("心肝脾肺肾胃")]
    diff = [{"id": f"d{i}", "text1": f"{w}病怎么办", "text2": "今天天气好", "label": "0"} for i, w in enumerate("心肝脾肺肾胃")]
    test = [{"id": "t", "text1": "眼病怎么办", "text2": "眼病怎么办呢", "label": "1"},
            {"id": "u", "text1": "耳病怎么办", "text2": "今天天气好", "label": "0"}]
    res = evaluate_classical(task, same + diff, test)
    assert res["score"] == 1.0
