"""Peak memory of eval perplexity vs vocabulary x batch: medgo's chunked HFEngine.perplexity against the
whole-batch computation it replaced (fp32 logits of batch x block x vocab, then log-softmax and the loss).

Each measurement runs in a fresh process (CPU): peak RSS during the call minus the RSS high-water mark before it
(model built, inputs ready), so the figure is what the scoring itself adds. Writes perplexity_memory.json.

    .venv/bin/python benchmarks/eval/perplexity_memory.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXTS = ["高血压患者应低盐饮食，定期测血压。", "糖尿病需监测血糖，按时服用二甲双胍。", "头痛怎么办？多休息，必要时就医。"]


def measure(method: str, vocab: int, batch: int, block: int) -> dict:
    import torch
    import torch.nn.functional as F
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from medgo.inference.hf import HFEngine
    from medgo.model.packing import pack_documents
    from medgo.model.tokenizer import train_bpe_tokenizer

    torch.set_num_threads(1)
    tok: PreTrainedTokenizerFast = train_bpe_tokenizer(TEXTS * 50, vocab_size=400)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024,
                                         tie_word_embeddings=False)).eval()
    engine = HFEngine(model, tok, batch_size=batch, device="cpu")
    texts = TEXTS * (batch * block // 8 + 4)
    blocks, _ = pack_documents(texts, tok, block)
    texts_used = texts  # the whole-batch baseline scores the same blocks
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if method == "chunked":
        nll = engine.perplexity(texts_used, block)["nll_per_token"]
    else:  # the previous implementation
        total, n = 0.0, 0
        with torch.inference_mode():
            for i in range(0, len(blocks), batch):
                ids = torch.tensor(blocks[i : i + batch])
                logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float()
                total += F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1),
                                         reduction="sum").item()
                n += ids[:, 1:].numel()
                del logits
        nll = total / n
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"method": method, "vocab": model.config.vocab_size, "batch": batch, "block": block,
            "peak_added_mb": round((after - before) / 1024, 1), "seconds": round(seconds, 2),
            "nll_per_token": round(nll, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two vocabularies, batch 1 and 4")
    ap.add_argument("--one", nargs=4, metavar=("METHOD", "VOCAB", "BATCH", "BLOCK"))
    a = ap.parse_args()
    if a.one:
        m, v, b, k = a.one
        print(json.dumps(measure(m, int(v), int(b), int(k))))
        return
    vocabs = [8192, 152064] if a.quick else [8192, 32768, 152064]
    batches = [1, 4] if a.quick else [1, 2, 4]
    block = 256
    rows = []
    for vocab in vocabs:
        for batch in batches:
            for method in ("whole", "chunked"):
                out = subprocess.run([sys.executable, __file__, "--one", method, str(vocab), str(batch), str(block)],
                                     capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                rows.append(json.loads(out))
                print(rows[-1], flush=True)
    result = {
        "what": "peak RSS added by scoring perplexity (MB), CPU, 1 thread; tiny Qwen2 (hidden 64, 1 layer) so the "
                "logits dominate; block 256",
        "rows": rows,
    }
    (HERE / "perplexity_memory.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
