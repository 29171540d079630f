"""Data-pipeline benchmark on the shared corpora (read by path, never copied into the repo).

    python benchmarks/data/bench.py --data ../shared/data --runs 3 --out benchmarks/data/results.json

Measures: clean+dedup MB/s and docs/s at 1x and 10x input (10x = the file list repeated ten times) with
peak RSS of each run (child process), duplicate rates, datatrove's MinHash dedup (4 stages, local executor,
same character 5-gram shingles, same 9x13 LSH bands) against medgo's dedup step on the same cleaned file,
and de-identification (`--only deid` runs just that part): leak rates, precision/recall and planted-term
keep rates on the generator's notes and on the independently written sets, clinical-entity preservation on
real CCKS2017 hospital records, names found in name-free real text, throughput."""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def corpus_files(data: Path) -> list[str]:
    c = data / "corpora"
    files = [str(c / "Chinese-medical-dialogue-data/Data_数据/IM_内科/内科.txt"),  # GB18030 original
             str(c / "CareGPT/data/drug.json"), str(c / "ChineseBLUE/data/cEHRNER/train.json")]
    files += sorted(glob.glob(str(c / "TCM-Ancient-Books/*.txt.utf8")))[:16]  # keeps a run under a minute on 2 cores
    return files


def child_clean_dedup(files: list[str], scale: int, backend: str, work: str) -> dict:
    from medgo.data.dedup import DedupConfig
    from medgo.data.steps import clean_files, dedup_files

    t0 = time.perf_counter()
    c = clean_files(files * scale, Path(work) / "clean", txt_mode="line")
    t1 = time.perf_counter()
    d = dedup_files([Path(work) / "clean" / "clean.jsonl"], Path(work) / "dedup", cfg=DedupConfig(backend=backend))
    t2 = time.perf_counter()
    return {"clean_s": t1 - t0, "dedup_s": t2 - t1, "bytes_in": c["bytes_in"], "docs_in": c["rows_in"],
            "clean_out": c["rows_out"], "clean_reasons": c["reasons"], "dedup_out": d["rows_out"],
            "duplicates": d["duplicates"], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_medgo_near(path: str, work: str) -> dict:
    from medgo.data.dedup import DedupConfig
    from medgo.data.steps import dedup_files

    t0 = time.perf_counter()
    d = dedup_files([path], work, cfg=DedupConfig(exact=False, near=True))
    return {"s": time.perf_counter() - t0, "removed": d["deduplicated"], "kept": d["rows_out"]}


def child_datatrove(path: str, work: str) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer


    class CharTokenizer(WordTokenizer):  # datatrove ships no Chinese word tokenizer without extra deps
        def word_tokenize(self, text: str) -> list[str]:
            return [ch for ch in text if not ch.isspace()]

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    import datatrove.pipeline.dedup.minhash as dt_minhash

    dt_minhash.load_word_tokenizer = lambda language: CharTokenizer()  # the default needs spacy
    cfg = MinhashConfig(n_grams=5, num_buckets=9, hashes_per_bucket=13)
    sig = MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)
    import xxhash

    # datatrove 0.10.1 passes str to xxhash, which xxhash 4.x refuses: encode first (same hash otherwise)
    sig._hash_func = lambda s: xxhash.xxh64_intdigest(s.encode("utf-8"))
    reader = JsonlReader(str(Path(path).parent), glob_pattern=Path(path).name)
    t0 = time.perf_counter()
    for pipe, tasks in (
        ([reader, sig], 1),
        ([MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=cfg)], cfg.num_buckets),
        ([MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/ids", config=cfg)], 1),
        ([JsonlReader(str(Path(path).parent), glob_pattern=Path(path).name),
          MinhashDedupFilter(input_folder=f"{work}/ids"), JsonlWriter(f"{work}/out")], 1),
    ):  # one worker throughout; the bucket stage needs one task per bucket
        LocalPipelineExecutor(pipeline=pipe, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{time.time_ns()}").run()
    s = time.perf_counter() - t0
    kept = sum(1 for f in glob.glob(f"{work}/out/*") for _ in __import__("gzip").open(f, "rt"))
    return {"s": s, "kept": kept}


def run_child(kind: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, *args], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"child {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def stats(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3), "max": round(max(xs), 3), "runs": len(xs)}


DEID_SETS = Path(__file__).resolve().parent / "deid_independent"
# the helper-written check sets, each frozen before its first measurement (README: "The check sets")
BLIND_SETS = [("blind_40_notes", "blind"), *((f"blind{k}_40_notes", f"blind{k}") for k in range(2, 6)),
              *((f"blind{k}_50_notes", f"blind{k}") for k in range(6, 11)), ("blind11_60_notes", "blind11"),
              ("blind12_60_notes", "blind12"), ("blind13_60_notes", "blind13"), ("blind14_60_notes", "blind14"),
              ("blind15_60_notes", "blind15"), ("blind16_60_notes", "blind16"),
              ("blind17_60_notes", "blind17"), ("blind18_60_notes", "blind18"), ("blind19_60_notes", "blind19"),
              ("blind20_60_notes", "blind20"), ("blind21_40_notes", "blind21"), ("blind22_40_notes", "blind22"),
              *((f"blind{k}_40_notes", f"blind{k}") for k in range(23, 30))]


def _strip(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in ("leak_sample", "eaten_sample")}


def _throughput(notes: list[dict], runs: int, cfg: object = None) -> dict:
    from medgo.data.deid import deidentify

    deidentify(notes[0]["text"], cfg)  # a tagger loads once per process, outside the timing
    secs = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        for n in notes:
            deidentify(n["text"], cfg)
        secs.append(time.perf_counter() - t0)
    chars = sum(len(n["text"]) for n in notes)
    med = statistics.median(secs)
    out = {"notes": len(notes), "chars": chars, "seconds": stats(secs), "notes_per_s": round(len(notes) / med, 1),
           "notes_per_s_min": round(len(notes) / max(secs), 1), "notes_per_s_max": round(len(notes) / min(secs), 1),
           "kchars_per_s": round(chars / med / 1000, 1)}
    tagger = getattr(cfg, "tagger", None)
    if tagger:  # what `medgo data deid` does with a tagger: 64 rows tagged in one batch, then de-identified
        from medgo.data.deid_tagger import load_tagger

        tg, secs = load_tagger(tagger), []
        for _ in range(max(1, runs)):
            t0 = time.perf_counter()
            for k in range(0, len(notes), 64):
                tg.prefetch([n["text"] for n in notes[k:k + 64]])
                for n in notes[k:k + 64]:
                    deidentify(n["text"], cfg)
            secs.append(time.perf_counter() - t0)
        med = statistics.median(secs)
        out["batched_64"] = {"seconds": stats(secs), "notes_per_s": round(len(notes) / med, 1),
                             "kchars_per_s": round(chars / med / 1000, 1)}
    return out


def _real_text_names(data: Path, n_qa: int = 3000, n_ehr: int = 2000, cfg: object = None) -> dict:
    """Names the de-identifier finds in real medical text that holds (almost) no names: patient questions and
    doctor answers (内科) and cEHRNER record snippets. Every hit is a candidate false positive."""
    import itertools

    from medgo.data.deid import find_phi

    docs = []
    c = data / "corpora"
    with open(c / "Chinese-medical-dialogue-data/Data_数据/IM_内科/内科.txt.utf8", encoding="utf-8") as f:
        docs += [line.strip() for line in itertools.islice(f, 1, 1 + n_qa)]
    with open(c / "ChineseBLUE/data/cEHRNER/train.json", encoding="utf-8") as f:
        docs += [json.loads(line)["text"] for line in itertools.islice(f, 0, n_ehr)]
    hits = []
    for d in docs:
        hits += [d[max(0, p.start - 6):p.end + 6] for p in find_phi(d, cfg) if p.type == "NAME"]
    altered = sum(1 for d in docs if any(p.type == "NAME" for p in find_phi(d, cfg)))
    return {"documents": len(docs), "documents_with_a_name": altered, "share": round(altered / len(docs), 4),
            "name_hits_in_context": hits[:20]}


def _cmeee_terms_kept(data: Path, cfg: object) -> dict:
    """Real clinical terms kept: CMeEE-V2 dev's annotated entities (drugs, diseases, symptoms, ...; the corpus has
    no person names) that no NAME span touches, all of them and those opening with a surname character."""
    from medgo.data.deid import find_phi
    from medgo.data.deid_lexicon import SURNAMES_1, SURNAMES_2

    rows = json.loads((data / "cblue/honeyandme_knowledge/data/CMeEE-V2/CMeEE-V2_dev.json").read_text("utf-8"))
    n = kept = ns = kept_s = 0
    eaten = []
    for r in rows:
        t = r["text"]
        names = [p for p in find_phi(t, cfg) if p.type == "NAME"]
        for e in r["entities"]:
            a, b = e["start_idx"], e["end_idx"] + 1  # end_idx is inclusive
            hit = any(p.start < b and a < p.end for p in names)
            sur = t[a] in SURNAMES_1 or t[a : a + 2] in SURNAMES_2
            n, kept, ns, kept_s = n + 1, kept + (not hit), ns + sur, kept_s + (sur and not hit)
            if hit:
                eaten.append(e["entity"])
    return {"sentences": len(rows), "entities": n, "kept_rate": round(kept / n, 5), "surname_opening": ns,
            "surname_opening_kept_rate": round(kept_s / max(1, ns), 5), "eaten_sample": eaten[:20]}


def deid_quality(data: Path, runs: int = 3, tagger: str | None = None, terms: list[str] | None = None) -> dict:
    """Leak rates, span precision/recall and planted-term keep rate on the generator's notes and on the sets
    written independently of the detector (benchmarks/data/deid_independent); clinical content kept on the
    CCKS2017 records; throughput; the pre-#16 detector's figures beside them (deid_baseline.json)."""
    from medgo.config.data_prep import DeidConfig
    from medgo.data.deid import deidentify, find_phi
    from medgo.data.deid_eval import ccks_content_kept, from_synth, load_notes
    from medgo.data.deid_eval import score_notes as _score
    from medgo.data.synth_phi import generate_notes, score

    cfg = DeidConfig(tagger=tagger, clinical_terms=terms or [])

    def score_notes(notes: list[dict]) -> dict:
        return _score(notes, lambda t: find_phi(t, cfg), lambda t: deidentify(t, cfg))

    t0 = time.perf_counter()
    synth_old = score(generate_notes(1000, seed=2024), cfg)
    synth_old["seconds"] = round(time.perf_counter() - t0, 3)
    synth_old.pop("misses_sample", None)
    synth_notes = from_synth(generate_notes(1000, seed=2024))
    indep = load_notes(DEID_SETS / "notes.jsonl")
    fresh = load_notes(DEID_SETS / "fresh_notes.jsonl")
    even = [x for x in indep if int(x["id"].split("-")[1]) % 2 == 0]
    odd = [x for x in indep if int(x["id"].split("-")[1]) % 2 == 1]
    out = {
        "metric": "leak_rate = share of notes holding a PHI type in which some gold string of that type survives "
                  "(a gold span not fully replaced, or the string still anywhere in the output); recall per gold "
                  "type; precision per predicted type (overlaps a gold span); keep_rate = planted clinical terms "
                  "untouched and still present",
        "synthetic_1000_notes": {**_strip(score_notes(synth_notes)), "generator_score": synth_old},
        "independent_180_notes": _strip(score_notes(indep)),
        "independent_even_templates_90": _strip(score_notes(even)),
        "independent_odd_templates_90": _strip(score_notes(odd)),
        "fresh_40_notes": _strip(score_notes(fresh)),
        **{key: _strip(score_notes(load_notes(DEID_SETS / f"{name}_notes.jsonl"))) for key, name in BLIND_SETS},
        # Each set's leak rates the first time the detector met it, before any rule was changed for it:
        # the honest estimate of how the rules do on notes they were not written against.
        "first_measurements": {
            k: {t: v["leak_rate"] for t, v in json.loads((DEID_SETS / f).read_text("utf-8"))["per_type"].items()}
            for k, f in (("independent_odd_templates_90", "odd_templates_first_measurement.json"),
                         ("fresh_40_notes", "fresh_first_measurement.json"),
                         *((key + tail, f"{name}{part}_first_measurement.json") for key, name in BLIND_SETS
                           for tail, part in (("", ""), ("_with_tagger", "_tagger"), ("_with_terms", "_terms"),
                                              ("_with_tagger_and_terms", "_tagger_terms"),
                                              ("_with_v17_tagger_and_terms", "_v17_tagger_terms"),
                                              ("_with_v20_tagger_and_terms", "_v20_tagger_terms"))))
            if (DEID_SETS / f).is_file()
        },
        "ccks2017_real_records": ccks_content_kept(data / "corpora/MedicalNamedEntityRecognition/data_origin",
                                                   find=lambda t: find_phi(t, cfg)),
        "real_text_names": _real_text_names(data, cfg=cfg),
        "cmeee_v2_dev_terms_kept": _cmeee_terms_kept(data, cfg),
        "throughput_independent_180": _throughput(indep, runs, cfg),
        "throughput_synthetic_1000": _throughput(synth_notes, runs, cfg),
    }
    if terms:
        out["clinical_terms"] = {"lists": [Path(t).name for t in terms],
                                 "terms": sum(1 for t in terms for line in open(t, encoding="utf-8") if line.strip())}
    if tagger:
        meta = json.loads((Path(tagger) / "tagger.json").read_text("utf-8"))
        out["tagger"] = {"folder": str(tagger), **{k: meta[k] for k in ("recipe", "train_windows", "final_loss",
                                                                           "train_seconds", "held_out") if k in meta}}
        # a check set the tagger learned from (train_tagger.py SPENT) reads train-set figures with it, not honest ones
        out["tagger"]["check_sets_in_training"] = [Path(p).name for p in meta.get("recipe", {}).get("labelled", [])]
    base = Path(__file__).with_name("deid_baseline.json")
    if base.is_file():
        b = json.loads(base.read_text("utf-8"))
        out["baseline_before_issue_16"] = {
            "detector": b["detector"],
            **{k: {t: v["leak_rate"] for t, v in b[k]["per_type"].items()} | {"keep_rate": b[k]["keep_rate"]}
               for k in b if isinstance(b[k], dict) and "per_type" in b[k]},
            "ccks2017_content_kept_rate": b["ccks2017_real_records"]["content_kept_rate"],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    ap.add_argument("--child", nargs="+")
    ap.add_argument("--only", choices=["deid"], help="run only this part and merge it into --out")
    ap.add_argument("--tagger", help="also measure the rules with this learned name tagger (train_tagger.py) -> deid_tagger")
    ap.add_argument("--terms", action="append", default=[], help="also measure with this clinical term list "
                    "(make deid-terms) beside the tagger -> deid_tagger_terms (deid_terms without --tagger)")
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        if kind == "clean_dedup":
            r = child_clean_dedup(json.loads(rest[0]), int(rest[1]), rest[2], rest[3])
        elif kind == "medgo_near":
            r = child_medgo_near(rest[0], rest[1])
        else:
            r = child_datatrove(rest[0], rest[1])
        print(json.dumps(r, ensure_ascii=False))
        return
    data = Path(a.data)
    if a.only == "deid":
        from medgo.machine import cpu_name

        res = json.loads(Path(a.out).read_text("utf-8")) if Path(a.out).is_file() else {}
        states = [("deid", None, []), ("deid_tagger", a.tagger, [])] if a.tagger else [("deid", None, [])]
        if a.terms:
            states.append(("deid_tagger_terms" if a.tagger else "deid_terms", a.tagger, a.terms))
        for key, tagger, terms in states:
            res[key] = deid_quality(data, a.runs, tagger, terms)
            res[key]["machine"] = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                                   "note": "2 shared cores"}
            res[key]["date"] = dt.datetime.now().isoformat(timespec="seconds")
            res[key]["command"] = " ".join([Path(sys.executable).name, *sys.argv])
            Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            d = res[key]
            print(f"== {key}")
            for k in ("synthetic_1000_notes", "independent_180_notes", "fresh_40_notes", *(k for k, _ in BLIND_SETS)):
                print(k, {t: v["leak_rate"] for t, v in d[k]["per_type"].items()}, "keep", d[k]["keep_rate"])
            print("ccks kept", d["ccks2017_real_records"]["content_kept_rate"], "real text with a name",
                  d["real_text_names"]["share"], "notes/s", d["throughput_independent_180"]["notes_per_s"],
                  d["throughput_independent_180"].get("batched_64", ""), "CMeEE terms kept",
                  d["cmeee_v2_dev_terms_kept"]["surname_opening_kept_rate"])
        return
    files = corpus_files(data)
    res: dict = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                             "python": platform.python_version(), "note": "2 shared cores; other jobs were running"},
                 "date": dt.datetime.now().isoformat(timespec="seconds"),
                 "command": " ".join([Path(sys.executable).name, *sys.argv]), "inputs": [f.split("corpora/")[-1] for f in files]}
    runs = {1: [], 10: []}
    with tempfile.TemporaryDirectory() as tmp:
        for scale, n in ((1, a.runs), (10, 1)):
            for i in range(n):
                runs[scale].append(run_child("clean_dedup", json.dumps(files), str(scale), "memory", f"{tmp}/s{scale}-{i}"))
        disk10 = run_child("clean_dedup", json.dumps(files), "10", "disk", f"{tmp}/disk10")
        disk1 = run_child("clean_dedup", json.dumps(files), "1", "disk", f"{tmp}/disk1")
        cleaned = f"{tmp}/s1-0/clean/clean.jsonl"
        ours = [run_child("medgo_near", cleaned, f"{tmp}/near{i}") for i in range(a.runs)]
        peer = [run_child("datatrove", cleaned, f"{tmp}/dt{i}") for i in range(a.runs)]
    raw = {"runs": runs, "disk1": disk1, "disk10": disk10, "ours": ours, "peer": peer}
    Path(a.out).with_suffix(".raw.tmp.json").write_text(json.dumps(raw, ensure_ascii=False))  # survives a crash below
    one = runs[1]
    tot = [r["clean_s"] + r["dedup_s"] for r in one]
    mb = one[0]["bytes_in"] / 1e6
    res["clean_dedup_1x"] = {
        "input_mb": round(mb, 2), "docs_in": one[0]["docs_in"], "seconds": stats(tot),
        "clean_seconds": stats([r["clean_s"] for r in one]), "dedup_seconds": stats([r["dedup_s"] for r in one]),
        "mb_per_s": round(mb / statistics.median(tot), 2), "docs_per_s": round(one[0]["docs_in"] / statistics.median(tot)),
        "clean_rejects": one[0]["clean_reasons"], "after_clean": one[0]["clean_out"], "after_dedup": one[0]["dedup_out"],
        "duplicates": one[0]["duplicates"], "peak_rss_mb": stats([r["peak_rss_mb"] for r in one]),
    }
    ten = runs[10][0]
    res["clean_dedup_10x"] = {
        "input_mb": round(ten["bytes_in"] / 1e6, 2), "seconds": round(ten["clean_s"] + ten["dedup_s"], 2),
        "mb_per_s": round(ten["bytes_in"] / 1e6 / (ten["clean_s"] + ten["dedup_s"]), 2),
        "duplicates": ten["duplicates"], "peak_rss_mb": round(ten["peak_rss_mb"], 1),
        "rss_ratio_10x_vs_1x": round(ten["peak_rss_mb"] / statistics.median([r["peak_rss_mb"] for r in one]), 3),
        "note": "10x = the same files listed ten times: the extra documents are exact duplicates",
    }
    res["disk_backend"] = {"peak_rss_mb_1x": round(disk1["peak_rss_mb"], 1), "peak_rss_mb_10x": round(disk10["peak_rss_mb"], 1),
                           "seconds_1x": round(disk1["clean_s"] + disk1["dedup_s"], 2),
                           "seconds_10x": round(disk10["clean_s"] + disk10["dedup_s"], 2)}
    o, p = [r["s"] for r in ours], [r["s"] for r in peer]
    res["peer_near_dedup"] = {
        "peer": "datatrove 0.10.1 MinhashDedupSignature/Buckets/Cluster/Filter, LocalPipelineExecutor tasks=1 workers=1,"
                " char 5-gram shingles via a character WordTokenizer, 9 buckets x 13 hashes",
        "medgo": "medgo.data.steps.dedup_files(exact=False, near=True), datasketch MinHashLSH, 128 perms = 9x13 bands",
        "input": "the cleaned 1x corpus", "medgo_seconds": stats(o), "peer_seconds": stats(p),
        "medgo_removed": ours[0]["removed"], "peer_removed": one[0]["clean_out"] - peer[0]["kept"],
        "ratio": round(statistics.median(o) / statistics.median(p), 3),
        "ratio_meaning": "medgo median time / peer median time (below 1 = medgo faster)",
    }
    res["deid"] = deid_quality(data, a.runs)
    Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    Path(a.out).with_suffix(".raw.tmp.json").unlink()
    print(json.dumps({k: res[k] for k in ("clean_dedup_1x", "clean_dedup_10x", "peer_near_dedup")}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
