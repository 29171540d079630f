"""`medgo eval run | score | submit`: CBLUE / PromptCBLUE evaluation (thin: parse, call one function, print)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medgo.errors import ConfigError

app = typer.Typer(help="Evaluate on CBLUE / PromptCBLUE with the official metrics.", no_args_is_help=True)


def _suite(s: str) -> str:
    if s not in ("cblue", "promptcblue"):
        raise ConfigError(f"unknown suite {s!r}", hint="cblue or promptcblue")
    return s


@app.command()
def run(
    model: str = typer.Option(None, "--model", help="run folder, model folder, or served model name (openai)"),
    out: Path = typer.Option(..., "--out", help="output folder"),
    suite: str = typer.Option("cblue", "--suite"),
    tasks: str = typer.Option("all", "--tasks", help="comma-separated task names, or all"),
    split: str = typer.Option("dev", "--split"),
    limit: int = typer.Option(None, "--limit", help="first N examples per task"),
    backend: str = typer.Option("hf", "--backend", help="hf | vllm | openai"),
    base_url: str = typer.Option(None, "--base-url"),
    data_dir: str = typer.Option(None, "--data-dir", help="folder laid out like ../shared/data (or $MEDGO_DATA)"),
    template: str = typer.Option(None, "--template", help="template name (default: each task's first)"),
    convention: str = typer.Option("cblue", "--convention", help="cblue | promptcblue"),
    methods: str = typer.Option("generate", "--methods", help="generate,loglik"),
    batch_size: int = typer.Option(16, "--batch-size"),
) -> None:
    """Run tasks on a model: predictions, scores.json and scores.md under --out."""
    from medgo.eval.harness import EvalSpec, markdown_table
    from medgo.eval.suites.cblue_run import data_dir_from, parse_tasks, run_cblue
    from medgo.eval.suites.engines import load_engine

    _suite(suite)
    engine = load_engine(backend, model, base_url=base_url, batch_size=batch_size)
    spec = EvalSpec(tasks=parse_tasks(tasks), split=split, data_dir=data_dir_from(data_dir), limit=limit,
                    template=template, convention=convention, methods=[m.strip() for m in methods.split(",")])
    print(markdown_table(run_cblue(engine, spec, out)), end="")


@app.command()
def score(
    suite: str = typer.Option("cblue", "--suite"),
    task: str = typer.Option(None, "--task", help="CBLUE task name (suite cblue)"),
    gold: Path = typer.Option(..., "--gold"),
    pred: Path = typer.Option(..., "--pred"),
    convention: str = typer.Option("cblue", "--convention", help="cblue | promptcblue (suite cblue)"),
) -> None:
    """Score prediction files in the official format; prints one JSON object."""
    if _suite(suite) == "promptcblue":
        from medgo.eval.suites.promptcblue import score_files as pcb_score

        print(json.dumps(pcb_score(gold, pred), ensure_ascii=False))
        return
    if not task:
        raise ConfigError("--task is required for --suite cblue", hint="e.g. --task CMeEE-V2")
    from medgo.eval.suites.cblue import score_files

    print(json.dumps(score_files(task, gold, pred, convention), ensure_ascii=False))


@app.command()
def submit(
    model: str = typer.Option(None, "--model"),
    out: Path = typer.Option(..., "--out"),
    suite: str = typer.Option("cblue", "--suite"),
    tasks: str = typer.Option("all", "--tasks"),
    backend: str = typer.Option("hf", "--backend"),
    base_url: str = typer.Option(None, "--base-url"),
    data_dir: str = typer.Option(None, "--data-dir"),
    template: str = typer.Option(None, "--template"),
    limit: int = typer.Option(None, "--limit"),
    batch_size: int = typer.Option(16, "--batch-size"),
) -> None:
    """Test-split predictions written as the files the CBLUE leaderboard takes."""
    from medgo.eval.suites.cblue_run import data_dir_from, parse_tasks, submit_cblue
    from medgo.eval.suites.engines import load_engine

    if _suite(suite) != "cblue":
        raise ConfigError("submit supports --suite cblue only")
    engine = load_engine(backend, model, base_url=base_url, batch_size=batch_size)
    for p in submit_cblue(engine, parse_tasks(tasks), out, data_dir_from(data_dir), template, limit):
        print(p)
