"""`medgo model init`: a random checkpoint in the exact release layout of a Qwen family (see medgo.model.checkpoint)."""

from __future__ import annotations

from pathlib import Path

import typer

from medgo.log import console

app = typer.Typer(help="Model checkpoints: random ones shaped like a Qwen release.", no_args_is_help=True)


@app.command("init")
def init(
    like: str = typer.Option(..., "--like", help="qwen2-0.5b | qwen2-7b | qwen2-72b | qwen2.5-0.5b | qwen2.5-7b | "
                                                  "qwen3-0.6b | qwen3-8b | qwen3-32b"),
    out: Path = typer.Option(..., "--out", help="new folder for the checkpoint"),
    layers: int | None = typer.Option(None, "--layers", help="decoder layers (default: the release's)"),
    hidden: int | None = typer.Option(None, "--hidden", help="width; heads and KV heads scale with it"),
    chat_template: Path | None = typer.Option(
        None, "--chat-template", help="Jinja file for tokenizer_config.json (default: medgo's ChatML)"
    ),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Write a randomly initialised checkpoint laid out as the release is (config, tokenizer, shards)."""
    from medgo.model.checkpoint import init_checkpoint

    s = init_checkpoint(like, out, layers=layers, hidden=hidden, chat_template=chat_template, seed=seed)
    console.print(
        f"model init: {s['like']} ({s['architecture']}), {s['num_hidden_layers']} layers x {s['hidden_size']} wide, "
        f"{s['num_attention_heads']} heads / {s['num_key_value_heads']} KV heads, vocab {s['vocab_size']}, "
        f"{s['parameters'] / 1e6:.1f} M parameters"
    )
    print(s["out"])
