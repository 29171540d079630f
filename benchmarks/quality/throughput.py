"""Training throughput of a from-scratch Qwen2 on this machine, for sizing configs/small.yaml: one AdamW step
of BATCH x SEQ random tokens, timed over 3 steps after a warm-up step.

    python benchmarks/quality/throughput.py HIDDEN LAYERS FFN VOCAB [BATCH SEQ]
    python benchmarks/quality/throughput.py 256 4 704 16000      # ~7 M parameters
"""

from __future__ import annotations

import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main() -> None:
    args = [int(x) for x in sys.argv[1:]]
    h, n_layers, ffn, vocab = args[:4]
    bs, seq = (args[4:6] + [8, 256][len(args[4:6]):])[:2]
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=vocab, hidden_size=h, intermediate_size=ffn, num_hidden_layers=n_layers,
                      num_attention_heads=max(1, h // 64), num_key_value_heads=max(1, h // 128),
                      max_position_embeddings=1024, tie_word_embeddings=True)
    model = Qwen2ForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, vocab, (bs, seq))
    t0 = 0.0
    for i in range(4):
        if i == 1:
            t0 = time.perf_counter()
        model(input_ids=x, labels=x).loss.backward()
        opt.step()
        opt.zero_grad()
    dt = (time.perf_counter() - t0) / 3
    n = sum(p.numel() for p in model.parameters())
    print(f"params={n / 1e6:.1f}M hidden={h} layers={n_layers} tokens/s={bs * seq / dt:.0f}")


if __name__ == "__main__":
    main()
