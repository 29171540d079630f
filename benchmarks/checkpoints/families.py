"""Every family x tuning type through `medgo run` (tiny width, the real vocabulary and the checkpoint's own
template), then `medgo export --gguf` (f16) loaded by llama.cpp: what ran, with figures.

    nice -n 5 .venv/bin/python benchmarks/checkpoints/families.py --templates ../shared/fixtures/chat-templates
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

CASES = [("qwen2-0.5b", "qwen2-instruct.jinja"), ("qwen2.5-7b", "qwen2.5-instruct.jinja"), ("qwen3-0.6b", "qwen3.jinja")]
LEAN = [
    "pretrain.max_steps=2", "pretrain.save_steps=50", "sft.max_steps=2", "sft.save_steps=50",
    "preference.max_steps=1", "preference.save_steps=50", "eval.models=[init,preference]",
    "eval.classification.methods=[loglik]", "eval.classification.max_examples=6", "eval.max_heldout_docs=4",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--templates", type=Path, default=ROOT.parent / "shared/fixtures/chat-templates")
    ap.add_argument("--work", type=Path, default=Path("/tmp/medgo-bench-families"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/checkpoints/families.json")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    a = ap.parse_args()
    from medgo.config import load_config
    from medgo.model.checkpoint import init_checkpoint
    from medgo.model.export import export_gguf
    from medgo.pipeline.runner import run_pipeline
    from medgo_testkit import write_mini_project

    shutil.rmtree(a.work, ignore_errors=True)
    rows = []
    for like, template in CASES:
        ckpt = a.work / like / "ckpt"
        init_checkpoint(like, ckpt, layers=a.layers, hidden=a.hidden, chat_template=a.templates / template)
        for ft in ("lora", "full"):
            root = a.work / like / ft
            t0 = time.time()
            cfg = write_mini_project(root)
            rd, summary = run_pipeline(load_config(cfg, ["tokenizer.type=pretrained", f"model.base={ckpt}",
                                                         f"model.finetuning={ft}", *LEAN]))
            row = {"family": like, "template": template, "finetuning": ft, "run_s": round(time.time() - t0, 1),
                   "stages": {s["stage"]: s["status"] for s in summary}}
            for st in ("pretrain", "sft", "preference"):
                m = json.loads((rd.stage(st) / "manifest.json").read_text())["metrics"]
                row[st] = {k: m.get(k) for k in ("first_loss", "last_loss", "steps", "tokens_per_s")}
            sft = json.loads((rd.stage("sft") / "manifest.json").read_text())["counts"]
            row["sft_conversations"] = f"{sft['conversations']}/{sft['conversations_in']}"
            ev = json.loads((rd.stage("eval") / "manifest.json").read_text())["metrics"]
            row["eval"] = {k: v for k, v in ev.items() if k.endswith(("perplexity", "cls_loglik_accuracy"))}
            t1 = time.time()
            gguf = export_gguf(rd.stage("preference") / "model", root / "export", "f16")
            row["gguf_f16"] = {"export_s": round(time.time() - t1, 1), "mb": round(gguf.stat().st_size / 2**20, 1)}
            try:
                import llama_cpp

                llm = llama_cpp.Llama(str(gguf), n_ctx=128, verbose=False)
                row["gguf_f16"]["llama_cpp_loads"] = True
                row["gguf_f16"]["n_vocab"] = llm.n_vocab()
                llm.close()
            except ImportError:
                row["gguf_f16"]["llama_cpp_loads"] = "llama-cpp-python not installed"
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    a.out.write_text(json.dumps({"date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "shape": {"layers": a.layers, "hidden": a.hidden}, "runs": rows},
                                indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
