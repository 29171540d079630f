"""`medgo chat`: terminal chat with streaming, or one answer for scripts (--once)."""

from __future__ import annotations

import sys
from pathlib import Path

from medgo.errors import MedgoError
from medgo.eval.backends.base import GenerationParams
from medgo.log import console
from medgo.run_dir import RunDir


def resolve_model_dir(path: Path) -> Path:
    """A run folder → its newest trained model; a model folder → itself."""
    if (path / "config.json").is_file():
        return path
    latest = RunDir(path).latest_model()
    if latest is None:
        raise MedgoError(
            f"{path} holds no trained model (no pretrain/sft/preference stage is complete)",
            hint="run `medgo run CONFIG` first, or pass a model folder",
        )
    return latest[1]


def chat_loop(run_dir: Path, *, once: bool, system: str | None, max_new_tokens: int, temperature: float) -> None:
    from medgo.eval.backends.hf import HFEngine

    model_dir = resolve_model_dir(run_dir)
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
