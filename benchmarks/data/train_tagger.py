"""Trains the learned name tagger (medgo.data.deid_tagger) on the shared corpora's record and consultation
text, the way a hospital would train it on its own notes:

    python benchmarks/data/train_tagger.py --data ../shared/data --out ~/.cache/medgo/deid-tagger/shared

(`make deid-tagger` does this once and keeps the result.) The weights are derived from research-only text,
so they stay in a cache outside the checkout and are never committed. Held out from training, because the
benchmark measures on them: the CCKS2017 records, the 内科 QA file and cEHRNER's train split (precision on
real text), and every check set in deid_independent/ not yet measured. The spent check sets (SPENT: measured,
then tuned against, so no longer honest figures) are annotated notes written by other hands than the
generator's: from the fifth round on they are training data (`--labelled`), names replaced by sampled ones."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

# record text first (cEHRNER dev/test, CHIP-CDEE event sentences, CMeEE-V2 dev/test), then consultations
CORPUS = [
    "corpora/ChineseBLUE/data/cEHRNER/dev.json",
    "corpora/ChineseBLUE/data/cEHRNER/test.json",
    "cblue/zlnick_LLaMA-Factory/data/CHIP-CDEE",
    "cblue/honeyandme_knowledge/data/CMeEE-V2",
    "corpora/ChineseBLUE/data/CMDD/train",
    "corpora/Zhongjing/data",
    "corpora/COVID-Dialogue/COVID-Dialogue-Dataset-Chinese.txt",
]

# clinical terms planted as not-names (TaggerTrainConfig.negatives): cMedQANER's mentions and CareGPT's formulary
# (titles and 别名 aliases, brand names among them). Not CMeEE: the bench reads its annotated entities as real terms kept.
NEGATIVES = [
    "corpora/ChineseBLUE/data/cMedQANER/train.json",
    "corpora/ChineseBLUE/data/cMedQANER/dev.json",
    "corpora/ChineseBLUE/data/cMedQANER/test.json",
    "corpora/CareGPT/data/drug.json",
]

# raw text mined for the words it uses as drugs, planted as not-names beside NEGATIVES (deid_mine.txt says which)
MINE = ["corpora/" + line.strip() for line in (Path(__file__).with_name("deid_mine.txt")).read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")]

# check sets already measured and tuned against (benchmarks/data/README.md); a new set stays out of this list
# until its first measurement is committed
SPENT = ["notes", "fresh", "blind", *(f"blind{k}" for k in range(2, 30))]
SETS = Path(__file__).resolve().parent / "deid_independent"


def main() -> None:
    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--out", default=str(Path.home() / ".cache/medgo/deid-tagger/shared"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--members", type=int, default=2, help="networks averaged (README: the tagger's members)")
    ap.add_argument("--no-check-sets", action="store_true", help="leave the spent check sets out (the fourth round's recipe)")
    ap.add_argument("--hold-out", default="", help="spent sets to leave out, comma-separated (to measure what the "
                    "others teach on notes the tagger has not seen: README, fifth round)")
    ap.add_argument("--no-negatives", action="store_true", help="plant no clinical terms as not-names (the v13 recipe)")
    ap.add_argument("--no-mined", action="store_true", help="plant no mined drug words (the v14 recipe)")
    ap.add_argument("--attention", type=int, default=0, help="self-attention layers after the convolutions")
    a = ap.parse_args()
    corpus = [str(Path(a.data) / c) for c in CORPUS]
    held = set(filter(None, a.hold_out.split(",")))
    if held - set(SPENT):
        ap.error(f"--hold-out: {sorted(held - set(SPENT))} are not spent sets ({', '.join(SPENT)})")
    labelled = [] if a.no_check_sets else [str(SETS / ("notes.jsonl" if s == "notes" else f"{s}_notes.jsonl"))
                                           for s in SPENT if s not in held]
    negatives = [] if a.no_negatives else [str(Path(a.data) / c) for c in NEGATIVES]
    if not (a.no_negatives or a.no_mined):
        from medgo.data.deid_names import person_name_word
        from medgo.data.deid_tagger_train import iter_texts
        from medgo.data.deid_terms import mine_drugs

        mined = Path(a.out) / "negatives_mined.txt"  # kept beside the weights: what this tagger learned from
        mined.parent.mkdir(parents=True, exist_ok=True)
        words = mine_drugs((t for c in MINE for t in iter_texts(Path(a.data) / c)), 2, is_name=person_name_word)
        mined.write_text("".join(w + "\n" for w in words), encoding="utf-8")
        negatives.append(str(mined))
    meta = train_tagger(TaggerTrainConfig(corpus=corpus, out=a.out, steps=a.steps, seed=a.seed, members=a.members,
                                          labelled=labelled, labelled_copies=6, attention=a.attention,
                                          negatives=negatives))
    print(json.dumps({k: meta[k] for k in ("train_windows", "final_loss", "train_seconds", "held_out")}))


if __name__ == "__main__":
    main()
