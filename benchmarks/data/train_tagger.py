"""Trains the learned name tagger (medgo.data.deid_tagger) on the shared corpora's record and consultation
text, the way a hospital would train it on its own notes:

    python benchmarks/data/train_tagger.py --data ../shared/data --out ~/.cache/medgo/deid-tagger/shared

(`make deid-tagger` does this once and keeps the result.) The weights are derived from research-only text,
so they stay in a cache outside the checkout and are never committed. Held out from training, because the
benchmark measures on them: the CCKS2017 records, the 内科 QA file and cEHRNER's train split (precision on
real text), and every check set in deid_independent/ (the notes are never read here)."""

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


def main() -> None:
    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MEDGO_DATA", "../shared/data"))
    ap.add_argument("--out", default=str(Path.home() / ".cache/medgo/deid-tagger/shared"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--members", type=int, default=2, help="networks averaged (README: the tagger's members)")
    a = ap.parse_args()
    corpus = [str(Path(a.data) / c) for c in CORPUS]
    meta = train_tagger(TaggerTrainConfig(corpus=corpus, out=a.out, steps=a.steps, seed=a.seed, members=a.members))
    print(json.dumps({k: meta[k] for k in ("train_windows", "final_loss", "train_seconds", "held_out")}))


if __name__ == "__main__":
    main()
