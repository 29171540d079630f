"""`medgo chat`: terminal chat with streaming, or one answer for scripts (--once)."""

from __future__ import annotations

import sys
from pathlib import Path

from medgo.errors import MedgoError
from medgo.inference.base import GenerationParams
from medgo.log import console


def chat_loop(run_dir: Path, *, once: bool, system: str | None, max_new_tokens: int, temperature: float) -> None:
    from medgo.inference.hf import HFEngine
    from medgo.inference.registry import resolve_model

    model_dir = resolve_model(run_dir).model_dir
    engine = HFEngine.from_path(model_dir, batch_size=1)
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=0)
    history: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    if once:
        question = sys.stdin.read().strip()
        if not question:
            raise MedgoError("--once reads the question from stdin, and stdin was empty", hint='echo "问题" | medgo chat RUN --once')
        for piece in engine.stream(history + [{"role": "user", "content": question}], params):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    console.print(f"model: {model_dir}  (empty line or Ctrl-D to quit, /reset to clear history)")
    while True:
        try:
            question = input("你> ").strip()
        except EOFError:
            break
        if not question:
            break
        if question == "/reset":
            history = history[:1] if system else []
            continue
        history.append({"role": "user", "content": question})
        sys.stdout.write("medgo> ")
        answer = ""
        for piece in engine.stream(history, params):
            answer += piece
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        history.append({"role": "assistant", "content": answer})
