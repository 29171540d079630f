"""IMCS-V2 (NER/DAC/SR/MRG), MedDG, CHIP-MDCFNPC, Text2DT, CMedCausal and the PromptCBLUE-<task> tasks:
hand-made cases with hand-computed scores, submission round trips, and a run on the tiny model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medgo.cli.main import app
from medgo.eval.metrics.generation import corpus_bleu, multi_ref_rouge, sample_rouge
from medgo.eval.metrics.tree import paths, tree_scores
from medgo.eval.suites.cblue import score_files, write_submission
from medgo.eval.suites.cblue_run import parse_tasks
from medgo.eval.tasks import get_task
from medgo.eval.tasks.imcs import to_bio

NEW = ["IMCS-V2-NER", "IMCS-V2-DAC", "IMCS-V2-SR", "IMCS-V2-MRG", "MedDG", "CHIP-MDCFNPC", "Text2DT", "CMedCausal"]
SIX = ["IMCS-V2-NER", "IMCS-V2-SR", "IMCS-V2-DAC", "IMCS-V2-MRG", "MedDG", "CHIP-MDCFNPC"]


# -- text metrics -----------------------------------------------------------------------------------
def test_multi_reference_rouge_hand_computed() -> None:
    # 'ab' vs refs 'abcd', 'ab': unigram matches 2 + 2 over recall 4 + 2 and precision 2 refs x 2 -> R 2/3, P 1
    r = sample_rouge("ab", ["abcd", "ab"])
    assert r["rouge1"] == pytest.approx(0.8) and r["rougeL"] == pytest.approx(0.8)
    assert r["rouge2"] == pytest.approx(2 / 3)  # bigrams: 1 + 1 matches, recall 3 + 1, precision 2 x 1
    assert sample_rouge("a b\nc", ["abc"])["rougeL"] == 1.0  # whitespace is dropped
    m = multi_ref_rouge(["ab", None, ""], [["ab"], ["x"], ["y"]])  # missing and empty predictions score 0
    assert m["rougeL"] == pytest.approx(1 / 3) and multi_ref_rouge([], [])["rougeL"] == 0.0


def test_corpus_bleu_hand_computed() -> None:
    assert corpus_bleu(["abcde"], ["abcde"]) == 1.0
    assert corpus_bleu(["ab"], ["abcd"], 1) == pytest.approx(math.exp(-1))  # P1 = 1, brevity penalty e^(1-4/2)
    assert corpus_bleu(["aa"], ["ab"], 1) == pytest.approx(0.5)  # clipped: 'a' counts once
    assert corpus_bleu(["abc"], ["abc"], 4) == 0.0  # no 4-gram: unsmoothed BLEU-4 is 0
    assert corpus_bleu([None, ""], ["ab", "cd"]) == 0.0


# -- Text2DT ----------------------------------------------------------------------------------------
C = ("C", "null", frozenset({("患者", "临床表现", "发热")}))
D1 = ("D", "null", frozenset({("患者", "用药", "布洛芬")}))
D2 = ("D", "null", frozenset({("患者", "治疗", "物理降温")}))


def test_decision_paths_and_tree_scores() -> None:
    assert paths([C, D1, D2]) == {((C, "yes"), (D1, "")), ((C, "no"), (D2, ""))}
    assert paths([C, D1]) == {((C, "yes"), (D1, "")), ((C, "no"),)}  # truncated pre-order keeps what it has
    s = tree_scores([[C, D1, D2]], [[C, D2, D1]])  # branches swapped: same nodes, no path right
    assert s["tree_accuracy"] == 0 and s["node_f1"] == 1 and s["triple_f1"] == 1 and s["path_f1"] == 0
    s = tree_scores([[C, D1, D2], [D1]], [[C, D1, D1], None])  # one path of 3 gold right, 2 predicted
    assert s["path_precision"] == pytest.approx(1 / 2) and s["path_recall"] == pytest.approx(1 / 3)
    assert s["tree_accuracy"] == 0 and s["path_f1"] == pytest.approx(0.4)


def test_text2dt_parser() -> None:
    t = get_task("Text2DT")
    got = t.parse("C null：患者|临床表现|发热\nD：患者|用药|布洛芬；患者|用药|布洛芬；坏|三元组\n杂项", {})
    assert got == [C, D1]  # duplicates collapse, malformed triples dropped, missing relation = null
    assert t.parse("", {}) is None and t.parse("随便说说", {}) is None


# -- CMedCausal -------------------------------------------------------------------------------------
def test_cmedcausal_nested_relations() -> None:
    t = get_task("CMedCausal")
    ex = {"text": "x", "relation_of_mention": [
        {"head": {"mention": "A"}, "relation": 2, "tail": {"head": {"mention": "B"}, "relation": 1, "tail": {"mention": "C"}}},
        {"head": {"mention": "D"}, "relation": 3, "tail": {"mention": "E"}}]}
    gold = t.gold(ex)
    assert t.answer(gold, ex) == "A | 条件 | (B | 因果 | C)\nD | 上下位 | E"
    pred = t.parse("A | 条件 | (B | 因果 | C)\nA | 条件 | (B | 因果 | C)\nD | 因果 | E\n无关", ex)
    s = t.score("cblue", [gold], [pred], [ex])  # 1 of 2 predicted right (duplicate once), 1 of 2 gold found
    assert s["precision"] == 0.5 and s["recall"] == 0.5
    assert t.parse("无", ex) == [] and t.parse("A | 未知 | B", ex) is None


# -- IMCS-V2 ----------------------------------------------------------------------------------------
def test_imcs_ner_bio_and_scores() -> None:
    assert to_bio(5, [(0, 1, "Symptom"), (1, 3, "Drug"), (4, 4, "Operation")]) == "O B-Drug I-Drug I-Drug B-Operation"
    t = get_task("IMCS-V2-NER")
    ex = {"sentence": "咳嗽吃益生菌", "speaker": "患者", "BIO_label": "B-Symptom I-Symptom O B-Drug_Category I-Drug_Category I-Drug_Category"}
    gold = t.gold(ex)
    assert gold == [(0, 1, "Symptom"), (3, 5, "Drug_Category")]
    pred = t.parse("症状：咳嗽，咳嗽\n药物：益生菌\n未知类型：吃", ex)  # right span, wrong type
    s = t.score("cblue", [gold], [pred], [ex])
    assert (s["precision"], s["recall"]) == (0.5, 0.5)
    assert t.parse("乱七八糟", ex) is None and t.parse("无", ex) == []


def test_imcs_sr_parse() -> None:
    t = get_task("IMCS-V2-SR")
    assert t.parse("咳嗽：阳性\n咳嗽：阳性\n发热：没有患有该症状\n鼻塞：也许", {}) == [("发热", "0"), ("咳嗽", "1")]
    assert t.parse("无", {}) == [] and t.parse("都挺好", {}) is None


@pytest.mark.parametrize("name", ["IMCS-V2-NER", "IMCS-V2-DAC", "IMCS-V2-SR", "IMCS-V2-MRG"])
def test_imcs_submission_round_trip(name: str, tmp_path: Path) -> None:
    """Gold answers written as the leaderboard's nested file score like the gold under the official scorer."""
    t = get_task(name)
    rows, src = t.load("dev")
    path = write_submission(t, rows, [t.gold(r) for r in rows], tmp_path)
    sub = json.loads(path.read_text(encoding="utf-8"))
    assert set(sub) == {"90001", "90002"}
    r = score_files(name, Path(src), path)
    if name == "IMCS-V2-MRG":  # the first reference against both references (sumeval multi-reference ROUGE)
        expect = sum(sample_rouge(x[0], list(x))["rougeL"] for x in (t.gold(y) for y in rows)) / len(rows)
        assert r["score"] == pytest.approx(expect) and 0 < r["score"] < 1
    else:
        assert r["score"] == pytest.approx(1.0) and r["missing"] == 0


def test_imcs_mrg_file_scorer_hand_computed(tmp_path: Path) -> None:
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps({"1": {"report": ["ab", "abcd"]}, "2": {"report": ["x"]}}), encoding="utf-8")
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"1": "ab"}), encoding="utf-8")
    r = score_files("IMCS-V2-MRG", gold, pred)
    assert r["score"] == pytest.approx(0.8 / 2) and r["missing"] == 1


# -- MedDG and CHIP-MDCFNPC -------------------------------------------------------------------------
def test_meddg_entities_and_bleu() -> None:
    t = get_task("MedDG")
    rows, _ = t.load("dev")
    assert [r["response"] for r in rows][:1] == ["疼的时候和吃饭有关系吗？"] and len(rows) == 3
    golds = [t.gold(r) for r in rows]
    preds = [golds[0][0], "先吃奥美拉唑", None]  # entity 奥美拉唑 found in text; the third is missing
    s = t.score("cblue", golds, preds, rows)
    # gold entities: {诱因}, {奥美拉唑, 胃镜}, {发热}; predicted: {}, {奥美拉唑}, {} -> P 1, R 1/4
    assert s["entity_precision"] == 1.0 and s["entity_recall"] == pytest.approx(0.25)
    assert s["score"] == pytest.approx((s["bleu1"] + s["bleu4"]) / 2)


def test_mdcfnpc_macro_f1_hand_computed() -> None:
    t = get_task("CHIP-MDCFNPC")
    rows, _ = t.load("dev")
    golds = [t.gold(r) for r in rows]  # labels 阳性 阴性 其他 | 阳性 不标注
    preds = [t.parse("咳嗽：阳性\n发烧：阳性\n咳嗽：阴性", rows[0]), None]
    s = t.score("cblue", golds, preds, rows)
    # 阳性: tp 1, fp 1, fn 1 -> F1 0.5; 阴性, 其他, 不标注: 0 -> macro 0.125; 1 of 5 right
    assert s["score"] == pytest.approx(0.125) and s["accuracy"] == pytest.approx(0.2)
    assert t.parse("不知道", rows[0]) is None and t.parse("无", rows[0]) == {}


# -- registry, CLI, harness -------------------------------------------------------------------------
def test_suites_list_their_own_tasks() -> None:
    assert set(NEW) <= set(parse_tasks("all")) and not any(n.startswith("PromptCBLUE-") for n in parse_tasks("all"))
    pcb = parse_tasks("all", "promptcblue")
    assert len(pcb) == 16 and parse_tasks("MedDG,PromptCBLUE-KUAKE-QIC", "promptcblue") == [
        "PromptCBLUE-MedDG", "PromptCBLUE-KUAKE-QIC"]


def test_cli_runs_new_tasks_end_to_end(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the bundled samples, whatever MEDGO_DATA says: a shared folder need not hold IMCS-V2 or MedDG
    monkeypatch.delenv("MEDGO_DATA", raising=False)
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "run", "--model", str(model_dir), "--tasks", ",".join(NEW), "--limit", "2",
                            "--out", str(tmp_path / "run"), "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]
    assert set(scores) == set(NEW) and all(0 <= s["generate"]["score"] <= 1 for s in scores.values())
    r = runner.invoke(app, ["eval", "run", "--suite", "promptcblue", "--model", str(model_dir), "--tasks",
                            ",".join(SIX), "--out", str(tmp_path / "pcb")])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "pcb" / "scores.json").read_text())
    assert s["convention"] == "promptcblue" and len(s["tasks"]) == 6
    r = runner.invoke(app, ["eval", "submit", "--model", str(model_dir), "--tasks", "IMCS-V2-NER,Text2DT",
                            "--out", str(tmp_path / "sub")])
    assert r.exit_code == 0, r.output
    assert set(json.loads((tmp_path / "sub" / "IMCS-V2-NER_test.json").read_text())) == {"70001"}


@pytest.mark.parametrize("name", SIX)
def test_promptcblue_toy_gold_scores_one(shared_data: Path, name: str) -> None:
    t = get_task("PromptCBLUE-" + name)
    rows, src = t.load("dev", shared_data)
    assert len(rows) == 5 and "toy_examples" in src
    golds = [t.gold(r) for r in rows]
    assert t.score("promptcblue", golds, golds, rows)["score"] == pytest.approx(1.0, abs=1e-6)
    worse = t.score("promptcblue", golds, [None] * 5, rows)["score"]
    assert worse < 1.0 or name == "IMCS-V2-DAC"  # all 5 DAC golds are the empty-answer default 非上述类型
