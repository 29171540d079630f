"""Build the derived inputs of `configs/small.yaml` from MEDGO_DATA (../shared/data) into runs/small-inputs/
(gitignored; nothing is copied into the repository):

  corpus/*.jsonl   pre-training documents {id, text, source} (the run's `prepare` cleans, dedups, de-identifies
                   and decontaminates them)
  sft/*.jsonl      CBLUE train splits as instructions (`medgo data cblue-to-sft`), QA and multi-turn dialogue
  pref/*.jsonl     pairs from judged answer pairs (PULSE elo), right/wrong QA answers (cMedQA), exam answers
                   (CNMLEQA questions outside the exam sample)
  evalsets/        the exact evaluation rows (seeded CBLUE dev subsets, exam samples, ClinicalQA cases), the
                   files every training set is checked against

SFT and preference sets are decontaminated here (rows sharing a 13-gram with any evaluation row are dropped);
the run's data stage checks all three training sets again and puts the table in the report.

    python benchmarks/quality/build_inputs.py [--config configs/small.yaml] [--out runs/small-inputs]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _h(s: str) -> float:
    return int(hashlib.sha1(s.encode("utf-8")).hexdigest()[:8], 16) / 2**32


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return len(rows)


def cap_chars(rows: list[dict[str, Any]], budget: int, key: str) -> list[dict[str, Any]]:
    """A seeded subset of documents up to `budget` characters."""
    rows = sorted(rows, key=lambda r: _h(f"{key}:{r['id']}"))
    out, n = [], 0
    for r in rows:
        if n >= budget:
            break
        out.append(r)
        n += len(r["text"])
    return out


def chunk(paragraphs: list[str], size: int) -> list[str]:
    docs, buf = [], ""
    for p in paragraphs:
        p = p.strip()
        if not p:
            continue
        if buf and len(buf) + len(p) > size:
            docs.append(buf)
            buf = ""
        buf = f"{buf}\n{p}" if buf else p
    if buf:
        docs.append(buf)
    return docs


def neike_rows(c: Path) -> list[tuple[str, str]]:
    """内科 consultations: blocks separated by blank lines; 'title,question' on the first line, the doctor's
    answer on the next ones."""
    text = (c / "Chinese-medical-dialogue-data/Data_数据/IM_内科/内科.txt.utf8").read_text(encoding="utf-8")
    out = []
    for block in text.split("\n\n"):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if len(lines) < 2 or "," not in lines[0]:
            continue
        title, _, ask = lines[0].partition(",")
        q = ask if title.strip("？?") in ask else f"{title}\n{ask}"
        out.append((q.strip(), "\n".join(lines[1:])))
    return out


def cmdd_dialogues(c: Path, split: str) -> list[list[tuple[str, str]]]:
    out = []
    for p in sorted((c / "ChineseBLUE/data/CMDD" / split).glob("*.json"), key=lambda p: p.name):
        d = json.loads(p.read_text(encoding="utf-8"))
        out.append([(t["speaker"], t["sentence"]) for t in d["dialogue-content"]])
    return out


def build_corpus(c: Path, cb: Path, out: Path, budget: dict[str, int], qa_pretrain: list[tuple[str, str]]) -> dict:
    sizes: dict[str, Any] = {}
    # TCM classics: paragraphs grouped into ~800-character documents
    tcm = []
    for p in sorted((c / "TCM-Ancient-Books").glob("*.txt.utf8")):
        for i, d in enumerate(chunk(p.read_text(encoding="utf-8", errors="replace").splitlines(), 800)):
            tcm.append({"id": f"tcm-{p.name[:3]}-{i}", "text": d, "source": "TCM-Ancient-Books"})
    drugs = [{"id": f"drug-{i}", "text": t, "source": "CareGPT/drug"}
             for i, t in enumerate(json.loads((c / "CareGPT/data/drug.json").read_text(encoding="utf-8")))]
    # CMeEE-V2 / CMeIE-V2 *test* texts (no labels; the dev splits are evaluation data): 8 sentences per document
    sents = [r["text"] for r in json.loads((cb / "honeyandme_knowledge/data/CMeEE-V2/CMeEE-V2_test.json")
                                           .read_text(encoding="utf-8"))]
    sents += [json.loads(ln)["text"] for ln in (cb / "simmed2017_CCHDnet-PMVSD/CMeIE-V2/CMeIE-V2_test.jsonl")
              .read_text(encoding="utf-8").splitlines() if ln.strip()]
    textbook = [{"id": f"cblue-test-{i}", "text": "\n".join(sents[i:i + 8]), "source": "CMeEE-V2+CMeIE-V2 test text"}
                for i in range(0, len(sents), 8)]
    records = []
    for p in sorted((c / "MedicalNamedEntityRecognition/data_origin").rglob("*.txtoriginal.txt")):
        records.append({"id": f"ccks-{p.parent.name}-{p.stem}", "text": p.read_text(encoding="utf-8", errors="replace"),
                        "source": "CCKS2017 records"})
    for split in ("train", "dev", "test"):
        for i, ln in enumerate((c / f"ChineseBLUE/data/cEHRNER/{split}.json").read_text(encoding="utf-8").splitlines()):
            if ln.strip():
                records.append({"id": f"cehr-{split}-{i}", "text": json.loads(ln)["text"], "source": "cEHRNER"})
    qa = [{"id": f"neike-pt-{i}", "text": f"问：{q}\n答：{a}", "source": "内科 QA"} for i, (q, a) in enumerate(qa_pretrain)]
    dialog = [{"id": f"cmdd-{i}", "text": "\n".join(f"{s}：{t}" for s, t in d), "source": "CMDD dialogue"}
              for i, d in enumerate(cmdd_dialogues(c, "train"))]
    for name, rows in (("tcm", tcm), ("drugs", drugs), ("textbook", textbook), ("records", records), ("qa", qa),
                       ("dialogue", dialog)):
        kept = cap_chars(rows, budget[name], name)
        write_jsonl(out / f"{name}.jsonl", kept)
        sizes[name] = {"docs": len(kept), "chars": sum(len(r["text"]) for r in kept), "available_docs": len(rows)}
    return sizes


def msgs(*turns: str) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]


def build_sft(c: Path, data_root: Path, out: Path, qa_sft: list[tuple[str, str]], caps: dict[str, Any]) -> dict:
    from medgo.eval.cblue_sft import cblue_to_sft

    sizes: dict[str, Any] = {}
    stats = {}
    rows_all = []
    for task, n in caps["cblue"].items():
        m = cblue_to_sft([task], out / f"cblue-{task}.jsonl", data_root, limit=n, seed=0)
        stats[task] = m["tasks"]
        rows_all.append(out / f"cblue-{task}.jsonl")
    # merge per-task files into one
    with (out / "cblue.jsonl").open("w", encoding="utf-8") as f:
        for p in rows_all:
            f.write(p.read_text(encoding="utf-8"))
            p.unlink()
    sizes["cblue"] = stats
    sizes["cblue_limits"] = caps["cblue"]
    rng = random.Random(0)
    qa = [{"id": f"neike-sft-{i}", "messages": msgs(q, a), "source": "内科 QA"} for i, (q, a) in enumerate(qa_sft)]
    hu = json.loads((c / "Zhongjing/data/huatuo26M_test.json").read_text(encoding="utf-8"))
    qa += [{"id": f"huatuo26m-{i}", "messages": msgs(r["instruction"][0], r["output"][0]), "source": "Huatuo-26M test"}
           for i, r in enumerate(hu) if r.get("instruction") and r.get("output")]
    kg = [json.loads(ln) for ln in (c / "Huatuo-Llama-Med-Chinese/data/llama_data.json").read_text(encoding="utf-8")
          .splitlines() if ln.strip()]
    qa += [{"id": f"huatuo-kg-{i}", "messages": msgs(r["instruction"] + (("\n" + r["input"]) if r.get("input") else ""),
                                                     r["output"]), "source": "Huatuo KG instructions"}
           for i, r in enumerate(kg)]
    qa = [r for r in qa if len(r["messages"][0]["content"]) + len(r["messages"][1]["content"]) <= caps["max_chars"]]
    rng.shuffle(qa)
    write_jsonl(out / "qa.jsonl", qa[: caps["qa"]])
    sizes["qa"] = {"rows": min(len(qa), caps["qa"]), "available": len(qa)}
    dia = []
    for r in json.loads((c / "Zhongjing/data/CMtMedQA_test.json").read_text(encoding="utf-8")):
        if "instruction" not in r:
            continue  # 144 rows carry only an instruction prompt (no history)
        turns = [t for pair in r.get("history") or [] for t in pair] + [r["instruction"], r["output"]]
        if sum(len(t) for t in turns) <= caps["max_chars"] * 2:
            dia.append({"id": f"cmtmedqa-{r['id']}", "messages": msgs(*turns), "source": "CMtMedQA"})
    rng.shuffle(dia)
    write_jsonl(out / "dialogue.jsonl", dia[: caps["dialogue"]])
    sizes["dialogue"] = {"rows": min(len(dia), caps["dialogue"]), "available": len(dia)}
    return sizes


def build_pref(c: Path, out: Path, exclude_exam_ids: set[str], caps: dict[str, int], max_chars: int) -> dict:
    from medgo.data.builders_pref import build_pref as bp

    tmp = out / "raw"
    tmp.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    elo = c / "PULSE-EVAL/eval/elo"
    sets = ["CheckupQA_1207", "MedQA-Mainland_1207", "MedTriage_1207", "MedicineQA_1207", "WebMedQA_1207"]
    ins = [elo / "elo_data" / f"{s}.jsonl" for s in sets]
    judges = [elo / "elo_outputs" / f"{s}.jsonl" for s in sets]
    bp(ins, tmp / "judged.jsonl", mode="judged", judge_files=judges)
    bp([c / "ChineseBLUE/data/cMedQA/dev.txt", c / "ChineseBLUE/data/cMedQA/test.txt"], tmp / "qa.jsonl", mode="qa",
       max_pairs_per_prompt=1)
    # exam answers: questions outside the CNMLEQA exam sample; a model's wrong answer is the rejected side
    rows = json.loads((c / "CNMLEQA/code/CNMLEQA-3k_llm.json").read_text(encoding="utf-8"))
    held = [r for r in rows if f"cnmleqa-{r['id']}" not in exclude_exam_ids]
    write_jsonl(tmp / "cnmleqa_train.jsonl", held)
    bp([tmp / "cnmleqa_train.jsonl"], tmp / "mcq.jsonl", mode="mcq", max_pairs_per_prompt=1)
    rng = random.Random(0)
    for name in ("judged", "qa", "mcq"):
        rs = [json.loads(ln) for ln in (tmp / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
        rs = [r for r in rs if len(str(r["prompt"])) + max(len(r["chosen"]), len(r["rejected"])) <= max_chars]
        if name == "mcq":  # one pair per question
            seen: set[str] = set()
            rs = [r for r in rs if not (r["prompt"] in seen or seen.add(r["prompt"]))]
        rng.shuffle(rs)
        write_jsonl(out / f"{name}.jsonl", rs[: caps[name]])
        sizes[name] = {"pairs": min(len(rs), caps[name]), "available": len(rs)}
    return sizes


def build_evalsets(cfg: Any, data_root: Path, out: Path) -> tuple[list[Path], set[str], dict]:
    from medgo.eval.clinicalqa.convert import load_set
    from medgo.eval.subsets import exam_sample_ids, write_cblue_subsets
    from medgo.eval.suites.exams import load_exam

    cb = cfg.eval.cblue
    info = write_cblue_subsets(cb.subset_sizes, data_root, out / "cblue", cb.subset_seed, cb.split)
    files = [Path(v["path"]) for v in info.values()]
    exam_ids: set[str] = set()
    ex = cfg.eval.exams
    for name in ex.tasks:
        ids = exam_sample_ids(name, data_root, ex.limit)
        qs = [q for q in load_exam(name, data_root)[0] if q.id in ids]
        p = out / "exams" / f"{name}.jsonl"
        write_jsonl(p, [{"id": q.id, "question": q.question, "options": q.options} for q in qs])
        files.append(p)
        info[name] = {"n": len(qs), "path": str(p)}
        exam_ids |= ids
    cq = cfg.eval.clinicalqa
    for name in cq.sets:
        cases, _ = load_set(name, data_root)
        cases = cases[: cq.limit] if cq.limit else cases
        p = out / "clinicalqa" / f"{name}.jsonl"
        write_jsonl(p, [{"id": cs.get("id"), "question": cs.get("question"), "case": cs.get("case"),
                         "reference": cs.get("reference")} for cs in cases])
        files.append(p)
        info[f"clinicalqa-{name}"] = {"n": len(cases), "path": str(p)}
    return files, exam_ids, info


def decontaminate(files: list[Path], evals: list[Path], work: Path) -> dict[str, Any]:
    """Drop training rows that share a 13-gram with any evaluation row; the file is replaced by the kept rows."""
    from medgo.data.contamination import check_contamination

    res = {}
    for f in files:
        m = check_contamination([f], evals, work / f"{f.parent.name}-{f.stem}", n=13, drop=True)
        kept = work / f"{f.parent.name}-{f.stem}" / "decontaminated.jsonl"
        kept.replace(f)
        res[f"{f.parent.name}/{f.name}"] = {"rows_in": m["rows_in"], "dropped": m["contaminated_train_rows"],
                       "eval_rows_touched": {Path(k).name: v["contaminated"] for k, v in m["per_eval"].items()
                                             if v["contaminated"]}}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "configs/small.yaml"))
    ap.add_argument("--out", default=str(REPO / "runs/small-inputs"))
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from medgo.config import load_config

    t0 = time.time()
    data_root = Path(os.environ.get("MEDGO_DATA") or REPO.parent / "shared" / "data").resolve()
    os.environ["MEDGO_DATA"] = str(data_root)
    cfg = load_config(a.config)
    c, cb, out = data_root / "corpora", data_root / "cblue", Path(a.out)
    evalsets, exam_ids, eval_info = build_evalsets(cfg, data_root, out / "evalsets")
    neike = neike_rows(c)
    qa_pt = [x for x in neike if _h(x[0]) < 0.5]
    qa_sft = [x for x in neike if _h(x[0]) >= 0.5]
    corpus = build_corpus(c, cb, out / "corpus", {"tcm": 900_000, "drugs": 1_200_000, "textbook": 600_000,
                                                  "records": 1_200_000, "qa": 1_500_000, "dialogue": 900_000}, qa_pt)
    # CHIP-CTC prompts list all 44 classes (~750 characters a row), hence fewer rows
    sft_caps = {"cblue": {"KUAKE-QIC": 1200, "CHIP-STS": 1200, "KUAKE-QQR": 1200, "KUAKE-QTR": 1200,
                          "CHIP-CTC": 300, "CHIP-CDN": 800, "CMeEE-V2": 600, "CMeIE-V2": 400},
                "qa": 800, "dialogue": 100, "max_chars": 600}
    sft = build_sft(c, data_root, out / "sft", qa_sft, sft_caps)
    pref = build_pref(c, out / "pref", exam_ids, {"judged": 160, "qa": 160, "mcq": 160}, max_chars=400)
    train_files = sorted((out / "sft").glob("*.jsonl")) + sorted((out / "pref").glob("*.jsonl"))
    dec = decontaminate(train_files, evalsets, out / "decontamination")
    manifest = {"data_root": str(data_root), "config": a.config, "evalsets": eval_info, "corpus": corpus,
                "sft": sft, "preference": pref, "decontamination": dec, "wall_s": round(time.time() - t0, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: manifest[k] for k in ("corpus", "decontamination", "wall_s")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
