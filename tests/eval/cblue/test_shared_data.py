"""On the real shared files: example gold/pred pairs, perfect predictions = 1.0, PromptCBLUE toy files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from medgo.eval.suites import promptcblue as pcb
from medgo.eval.suites.cblue import score_files
from medgo.eval.suites.promptcblue_parse import structure
from medgo.eval.tasks import get_task

C1 = "cblue/Sherlock-coder_CBLUE/data"
EXAMPLES = {  # task -> (gold, pred, hand-checked score)
    "CMeEE": (f"{C1}/CMeEE/example_gold.json", f"{C1}/CMeEE/example_pred.json", 2 * 0.625 * 0.5 / 1.125),
    "CMeIE": (f"{C1}/CMeIE/example_gold.json", f"{C1}/CMeIE/example_pred.json", 2 * (5 / 6) * (5 / 8) / (5 / 6 + 5 / 8)),
    "CHIP-CDN": (f"{C1}/CHIP-CDN/example_gold.json", f"{C1}/CHIP-CDN/example_pred.json", 0.75),
    "CHIP-CTC": (f"{C1}/CHIP-CTC/example_gold.json", f"{C1}/CHIP-CTC/example_pred.json", 0.2),
    "CHIP-STS": (f"{C1}/CHIP-STS/example_golden.json", f"{C1}/CHIP-STS/example_pred.json", 2 / 3),
    "KUAKE-QIC": (f"{C1}/KUAKE-QIC/example_gold.json", f"{C1}/KUAKE-QIC/example_pred.json", 1 / 3),
    "KUAKE-QQR": (f"{C1}/KUAKE-QQR/example_gold.json", f"{C1}/KUAKE-QQR/example_pred.json", 1 / 3),
    "KUAKE-QTR": (f"{C1}/KUAKE-QTR/example_gold.json", f"{C1}/KUAKE-QTR/example_pred.json", 1 / 3),
    "CHIP-CDEE": ("cblue/zlnick_LLaMA-Factory/data/CHIP-CDEE/example_gold.json",
                  "cblue/zlnick_LLaMA-Factory/data/CHIP-CDEE/example_pred.json", 1.0),
}
TOY = "cblue/PromptCBLUE/datasets/PromptCBLUE/toy_examples"


@pytest.mark.parametrize("task", sorted(EXAMPLES))
def test_example_pairs(shared_data: Path, task: str) -> None:
    gold, pred, expected = EXAMPLES[task]
    r = score_files(task, shared_data / gold, shared_data / pred)
    assert {"task", "metric", "score"} <= set(r) and r["score"] == pytest.approx(expected)


@pytest.mark.parametrize("task", ["CMeEE", "CMeEE-V2", "CMeIE", "CMeIE-V2", "CHIP-CDN", "CHIP-CDEE", "CHIP-CTC",
                                  "CHIP-STS", "KUAKE-QIC", "KUAKE-QQR", "KUAKE-QTR"])
def test_gold_as_prediction_scores_one(shared_data: Path, task: str) -> None:
    t = get_task(task)
    path = t.find("dev", shared_data)
    assert path is not None
    start = time.perf_counter()
    assert score_files(task, path, path)["score"] == pytest.approx(1.0)
    assert time.perf_counter() - start < 10  # whole dev sets score in seconds


def test_promptcblue_parser_reproduces_dev_structured(shared_data: Path) -> None:
    rows = [json.loads(x) for x in (shared_data / TOY / "dev.json").read_text(encoding="utf-8").splitlines() if x]
    by_id = {r["sample_id"]: r for r in rows}
    structured = json.loads((shared_data / TOY / "dev_structured.json").read_text(encoding="utf-8"))
    n = 0
    for task, items in structured.items():
        for it in items:
            r = by_id[it["sample_id"]]
            mine = structure(task, r["target"], r["answer_choices"])
            if isinstance(mine, list):
                def key(d):
                    return json.dumps(d, ensure_ascii=False, sort_keys=True)
                assert sorted(map(key, mine)) == sorted(map(key, it["answer"]))
            else:
                assert mine == it["answer"]
            n += 1
    assert n == 80


def test_promptcblue_toy_scoring(shared_data: Path) -> None:
    dev = shared_data / TOY / "dev.json"
    perfect = pcb.score_files(dev, dev)
    assert len(perfect["tasks"]) == 16 and perfect["subset_average"] == pytest.approx(100.0, abs=1e-5)
    assert perfect["overall"] == pytest.approx(100.0 * 16 / 18, abs=1e-5)  # official: Text2DT, CMedCausal absent
    structured = pcb.score_files(shared_data / TOY / "dev_structured.json", dev)
    assert structured["subset_average"] == pytest.approx(100.0, abs=1e-5)
    none = pcb.score_files(dev, shared_data / TOY / "results.json")  # other sample ids: nothing matches
    assert none["missing"] == 80 and none["subset_average"] < 50
