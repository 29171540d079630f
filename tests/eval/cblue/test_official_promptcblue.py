"""medgo's PromptCBLUE scores equal the official evaluator's on the same predictions.

The official code (michael-wzhu/PromptCBLUE `src/evaluation/`: post_generate_process.py, evaluate.py,
evaluators.py, text2dt_eval_func.py) is run by path from ../shared/data/official-scorers/promptcblue/; it is
never copied into the project. Gold: PromptCBLUE's toy dev set (16 tasks x 5) plus Text2DT and CMedCausal
records written here (the toy set has none), so the official evaluator sees all 18 of its tasks.
Predictions: the gold answers, then perturbed ones (empty, partial, wrong, mixed)."""

from __future__ import annotations

import copy
import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest

from medgo.eval.suites.promptcblue import ALIASES, OFFICIAL_TASKS, score_files
from medgo.eval.suites.promptcblue_parse import render_causal, render_text2dt, structure

TOY = "cblue/PromptCBLUE/datasets/PromptCBLUE/toy_examples/dev.json"


def _official_dir(shared_data: Path) -> Path:
    d = shared_data / "official-scorers" / "promptcblue"
    if not (d / "evaluate.py").is_file():
        pytest.skip(f"official PromptCBLUE evaluator not found under {d}")
    return d


@pytest.fixture(scope="module")
def official(shared_data):
    d = _official_dir(shared_data)
    sys.path.insert(0, str(d))  # evaluate.py imports `evaluators`, which imports `text2dt_eval_func`
    try:
        mods = {}
        for name in ("post_generate_process", "evaluate"):
            spec = importlib.util.spec_from_file_location(f"_official_pcb_{name}", d / f"{name}.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            mods[name] = mod
        mods["evaluators"] = sys.modules["evaluators"]
        yield mods
    finally:
        sys.path.remove(str(d))


# -- gold ------------------------------------------------------------------------------------------------

def _trees() -> list[list[dict]]:
    def n(role, rel, *trip):
        return {"role": role, "logical_rel": rel, "triples": [list(t) for t in trip]}

    a = ("患者", "临床表现", "糖尿病")
    return [
        [n("C", "null", a), n("D", "null", ("患者", "治疗药物", "ACEI")), n("D", "null", ("患者", "治疗药物", "利尿剂"))],
        [n("D", "or", ("患者", "治疗药物", "布洛芬"), ("患者", "治疗药物", "对乙酰氨基酚"))],
        [n("C", "and", a, ("患者", "基本情况", "老年")), n("C", "null", ("患者", "临床表现", "肾功能不全")),
         n("D", "null", ("患者", "治疗药物", "胰岛素")), n("D", "null", ("患者", "治疗药物", "二甲双胍")),
         n("D", "null", ("患者", "治疗方案", "饮食控制"))],
        [n("C", "null", ("患者", "临床表现", "发热")), n("D", "null", ("患者", "治疗药物", "布洛芬")),
         n("C", "null", ("患者", "临床表现", "咳嗽")), n("D", "null", ("患者", "治疗药物", "右美沙芬")),
         n("D", "null")],
        [n("C", "or", ("患者", "临床表现", "胸痛"), ("患者", "临床表现", "ST段抬高")),
         n("D", "and", ("患者", "治疗方案", "溶栓"), ("阿司匹林", "用法用量", "300mg")),
         n("D", "null", ("患者", "治疗方案", "观察"))],
        [n("C", "null", ("患者", "基本情况", "妊娠")), n("D", "null", ("患者", "禁用药物", "华法林")),
         n("D", "null", ("患者", "治疗药物", "华法林"))],
    ]


def _causal() -> list[list[dict]]:
    def t(rel, s, o):
        return {"predicate": rel, "subject": s, "object": o}

    return [
        [t("因果关系", "吸烟", "肺癌"), t("上下位关系", "肺癌", "恶性肿瘤")],
        [t("条件关系", "血糖控制不佳", t("因果关系", "感染", "酮症酸中毒"))],
        [],
        [t("因果关系", "高血压", "脑出血"), t("因果关系", "高血压", "肾损害"),
         t("条件关系", "长期", t("因果关系", "饮酒", "肝硬化"))],
        [t("上下位关系", "2型糖尿病", "糖尿病"), t("因果关系", "肥胖", "2型糖尿病")],
        [t("因果关系", "幽门螺杆菌感染", "胃溃疡")],
    ]


def _row(task: str, i: int, target: str) -> dict:
    return {"input": f"{task} 示例 {i}", "target": target, "answer_choices": None, "task_type": "extraction",
            "task_dataset": task, "sample_id": f"{task}-{i}"}


@pytest.fixture(scope="module")
def gold_rows(shared_data) -> list[dict]:
    path = shared_data / TOY
    if not path.is_file():
        pytest.skip(f"PromptCBLUE toy dev set not found: {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows += [_row("Text2DT", i, render_text2dt(t)) for i, t in enumerate(_trees())]
    rows += [_row("CMedCausal", i, render_causal(c)) for i, c in enumerate(_causal())]
    return rows


# -- perturbations -----------------------------------------------------------------------------------------

# the official post-processing raises on a Text2DT / CMedCausal line it cannot read (medgo skips the line:
# test_official_unreadable_lines), so for those two tasks the perturbations keep whole lines
LINE_TASKS = {"Text2DT": "", "CMedCausal": "给定的文本没有指定关系的三元组。"}


def _truncate(text: str, task: str) -> str:
    lines = text.split("\n")
    if len(lines) > 2 or task in LINE_TASKS:
        return "\n".join(lines[: (len(lines) + 1) // 2])
    return text[: max(1, len(text) // 2)]


def _perturb(rows: list[dict], kind: str, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    by_task: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_task.setdefault(r["task_dataset"], []).append(i)
    out = copy.deepcopy(rows)
    for task, idx in by_task.items():
        targets = [rows[i]["target"] for i in idx]
        rotated = targets[1:] + targets[:1]
        for k, i in enumerate(idx):
            mode = kind if kind != "mixed" else rng.choice(["gold", "empty", "partial", "wrong", "noise"])
            if mode == "empty":
                out[i]["target"] = ""
            elif mode == "partial":
                out[i]["target"] = _truncate(targets[k], task) if k % 2 == 0 else targets[k]
            elif mode == "wrong":
                out[i]["target"] = rotated[k]
            elif mode == "noise":
                out[i]["target"] = LINE_TASKS.get(task, "不知道，请咨询医生。")
    return out


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _official_scores(official, tmp_path: Path, gold: list[dict], pred: list[dict]) -> dict[str, float]:
    """The official pipeline: post_generate_process on both files, then evaluate.calc_scores."""
    def v2(rows):  # the official scripts know CMeIE-V2 only; the toy data says CMeIE
        return [{**r, "task_dataset": ALIASES.get(r["task_dataset"], r["task_dataset"])} for r in rows]

    post = official["post_generate_process"].process_generated_results
    dict_gt = post(str(_jsonl(tmp_path / "official_gold.jsonl", v2(gold))))
    dict_pred = post(str(_jsonl(tmp_path / "official_pred.jsonl", v2(pred))))
    score_map, ok = official["evaluate"].calc_scores(dict_gt, dict_pred, str(tmp_path / "official_out.json"))
    assert ok, (tmp_path / "official_out.json").read_text(encoding="utf-8")
    text2dt = official["evaluators"].calc_text2dt_task_scores(
        post(str(tmp_path / "official_gold.jsonl"))["Text2DT"], post(str(tmp_path / "official_pred.jsonl"))["Text2DT"])
    per_task = {}
    for key, val in score_map.items():
        if key != "score":
            per_task[key.rsplit("-", 2)[0] if key.endswith(("-Micro-F1", "-Macro-F1")) else key.rsplit("-", 1)[0]] = val
    return {**per_task, "Overall": score_map["score"], "Text2DT node_f1": text2dt[1], "Text2DT path_f1": text2dt[2]}


KINDS = ["gold", "empty", "partial", "wrong", "mixed"]


@pytest.mark.parametrize("kind", KINDS)
def test_official_promptcblue_parity(official, gold_rows, tmp_path, kind) -> None:
    pred = _perturb(gold_rows, kind, seed=KINDS.index(kind))
    ref = _official_scores(official, tmp_path, gold_rows, pred)
    mine = score_files(_jsonl(tmp_path / "gold.jsonl", gold_rows), _jsonl(tmp_path / "pred.jsonl", pred))
    tasks = {ALIASES.get(t, t): v for t, v in mine["tasks"].items()}
    assert sorted(tasks) == sorted(OFFICIAL_TASKS)
    diffs = {t: (ref[t], tasks[t]["score"]) for t in OFFICIAL_TASKS if tasks[t]["score"] != pytest.approx(ref[t], abs=1e-9)}
    assert not diffs, f"{kind}: official vs medgo differ on {diffs}"
    assert mine["overall"] / 100 == pytest.approx(ref["Overall"], abs=1e-9)
    assert mine["subset_average"] == pytest.approx(mine["overall"], abs=1e-9)  # all 18 tasks present
    assert tasks["Text2DT"]["node_f1"] == pytest.approx(ref["Text2DT node_f1"], abs=1e-9)
    assert tasks["Text2DT"]["path_f1"] == pytest.approx(ref["Text2DT path_f1"], abs=1e-9)
    if kind == "gold":
        assert all(tasks[t]["score"] == pytest.approx(1.0, abs=1e-5) for t in OFFICIAL_TASKS)
    else:  # the perturbation must move the score, or the test could not fail
        assert ref["Overall"] < 0.99


def test_official_kuake_qtr_empty_answers_use_revised_first_label(official, gold_rows, tmp_path) -> None:
    """The case medgo got wrong before: empty QTR answers become "完全不匹配或者没有参考价值" (2023-08-28 labels)."""
    rows = [r for r in gold_rows if r["task_dataset"] == "KUAKE-QTR"]
    pred = _perturb(rows, "empty")
    mine = score_files(_jsonl(tmp_path / "g.jsonl", rows), _jsonl(tmp_path / "p.jsonl", pred))
    gold_labels = [r["target"] for r in rows]
    assert "完全不匹配或者没有参考价值" in gold_labels
    from sklearn.metrics import classification_report  # the official evaluator's own call

    rep = classification_report(gold_labels, ["完全不匹配或者没有参考价值"] * len(rows), output_dict=True, zero_division=0)
    assert mine["tasks"]["KUAKE-QTR"]["score"] == pytest.approx(rep["weighted avg"]["f1-score"]) and rep["weighted avg"]["f1-score"] > 0


def test_official_overall_counts_absent_tasks_as_zero(gold_rows, tmp_path) -> None:
    rows = [r for r in gold_rows if r["task_dataset"] in ("KUAKE-QIC", "CHIP-STS")]
    mine = score_files(_jsonl(tmp_path / "g.jsonl", rows), _jsonl(tmp_path / "p.jsonl", rows))
    assert mine["subset_average"] == pytest.approx(100.0) and mine["subset_tasks"] == 2
    assert mine["overall"] == pytest.approx(100 * 2 / 18)
    assert len(mine["absent_tasks"]) == 16


def test_official_unreadable_lines(official, tmp_path) -> None:
    """Where a Text2DT / CMedCausal answer has a line the official post-processing cannot read, the official
    script raises (one bad generation stops the whole evaluation); medgo drops that line and scores the rest
    exactly as the official code scores the answer without it."""
    post = official["post_generate_process"].process_generated_results
    cases = {"Text2DT": ("根据给定的指南文本抽取的诊疗决策树如下：\n节点1：role=D；logical_rel=null；triples=[('a', 'b', 'c')]",
                         "不知道"),
             "CMedCausal": ("具有因果关系三元组如下：\n头实体：吸烟；尾实体：肺癌", "吸烟导致肺癌")}
    for task, (good, bad) in cases.items():
        with pytest.raises(IndexError):
            post(str(_jsonl(tmp_path / "bad.jsonl", [_row(task, 0, good + "\n" + bad)])))
        ref = post(str(_jsonl(tmp_path / "good.jsonl", [_row(task, 0, good)])))[task][0]["answer"]
        assert structure(task, good + "\n" + bad, None) == ref


@pytest.mark.parametrize("seed", range(3))
def test_official_text2dt_parser_and_trees(official, tmp_path, seed) -> None:
    """Random (often malformed) node sequences: medgo's structure + tree scores equal the official ones."""
    rng = random.Random(seed)
    ev = official["evaluators"]
    golds, preds = [], []
    pool = [("患者", "临床表现", "发热"), ("患者", "治疗药物", "布洛芬"), ("患者", "基本情况", "儿童"), ("A", "B", "C")]
    for _ in range(30):
        pair = []
        for _ in range(2):
            tree = [{"role": rng.choice("CCDDDX"), "logical_rel": rng.choice(["null", "and", "or"]),
                     "triples": rng.sample(pool, rng.randint(0, 2))} for _ in range(rng.randint(0, 6))]
            pair.append(render_text2dt(tree))
        golds.append(pair[0])
        preds.append(pair[1])
    from medgo.eval.suites.promptcblue import score_task

    mine = score_task("Text2DT", [structure("Text2DT", g, None) for g in golds], [structure("Text2DT", p, None) for p in preds])
    post = official["post_generate_process"].process_generated_results
    ref = ev.calc_text2dt_task_scores(
        post(str(_jsonl(tmp_path / "g.jsonl", [_row("Text2DT", i, g) for i, g in enumerate(golds)])))["Text2DT"],
        post(str(_jsonl(tmp_path / "p.jsonl", [_row("Text2DT", i, p) for i, p in enumerate(preds)])))["Text2DT"])
    assert (mine["tree_lenv_radio"], mine["node_f1"], mine["path_f1"]) == pytest.approx(ref, abs=1e-9)
