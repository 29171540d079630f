"""`medgo eval run | score | submit | review-export | review-import`: CBLUE / PromptCBLUE, ClinicalQA and exam
evaluation, doctor review sheets (thin: parse, call one function, print)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medgo.errors import ConfigError

app = typer.Typer(help="Evaluate: CBLUE / PromptCBLUE (official metrics), ClinicalQA, medical exams.",
                  no_args_is_help=True)


def _suite(s: str, allowed: tuple[str, ...] = ("cblue", "promptcblue")) -> str:
    if s not in allowed:
        raise ConfigError(f"unknown suite {s!r}", hint=" or ".join(allowed))
    return s


@app.command()
def run(
    model: str = typer.Option(None, "--model", help="run folder, model folder, or served model name (openai)"),
    out: Path = typer.Option(..., "--out", help="output folder"),
    suite: str = typer.Option("cblue", "--suite", help="cblue | promptcblue | clinicalqa | exams"),
    tasks: str = typer.Option("all", "--tasks", help="comma-separated task names, or all"),
    split: str = typer.Option(None, "--split", help="default: dev (cblue), test (exams)"),
    limit: int = typer.Option(None, "--limit", help="first N examples per task (exams: a seeded sample of N)"),
    backend: str = typer.Option("hf", "--backend", help="hf | vllm | openai"),
    base_url: str = typer.Option(None, "--base-url"),
    data_dir: str = typer.Option(None, "--data-dir", help="folder laid out like ../shared/data (or $MEDGO_DATA)"),
    template: str = typer.Option(None, "--template", help="template name (default: each task's first)"),
    convention: str = typer.Option("cblue", "--convention", help="cblue | promptcblue"),
    methods: str = typer.Option(None, "--methods", help="generate,loglik (default: generate; exams: both)"),
    batch_size: int = typer.Option(16, "--batch-size"),
    baseline: str = typer.Option(None, "--baseline", help="clinicalqa: the model to compare against (same backend)"),
    baseline_url: str = typer.Option(None, "--baseline-url", help="clinicalqa: base URL of the baseline (openai)"),
    judge_url: str = typer.Option(None, "--judge-url", help="clinicalqa: OpenAI-compatible judge endpoint"),
    judge_model: str = typer.Option(None, "--judge-model", help="clinicalqa: judge model name"),
    judge_api_key: str = typer.Option(None, "--judge-api-key", envvar="MEDGO_JUDGE_API_KEY"),
    judge_timeout: float = typer.Option(120.0, "--judge-timeout", help="seconds per judge request"),
    scorers: str = typer.Option("reference,judge,pairwise", "--scorers",
                                help="clinicalqa: reference,judge,pairwise (judge ones need --judge-url)"),
    shots: int = typer.Option(None, "--shots", help="exams: few-shot examples per question (default: the protocol's)"),
    protocol: str = typer.Option(None, "--protocol", help="exams: published (the benchmark's own prompt and "
                                 "shots; default) | chat (the chat template, for instruction-tuned models)"),
    full: bool = typer.Option(False, "--full", help="exams: every question of cmmlu-general (default: a seeded subset)"),
    max_new_tokens: int = typer.Option(None, "--max-new-tokens", help="default: each CBLUE task's own budget; clinicalqa 512, exams 32"),
    label: str = typer.Option(None, "--label", help="clinicalqa: a note printed above the tables"),
) -> None:
    """Run a suite on a model: predictions, scores.json and scores.md under --out."""
    from medgo.eval.suite import EvalOptions
    from medgo.eval.suites import get_suite
    from medgo.eval.suites.cblue_run import data_dir_from
    from medgo.inference.registry import load_engine

    the_suite = get_suite(suite)
    ddir = data_dir_from(data_dir)
    engine = load_engine(backend, model, base_url=base_url, batch_size=batch_size)
    opts = EvalOptions(tasks=tasks, split=split, limit=limit, data_dir=ddir, template=template, convention=convention,
                       methods=[m.strip() for m in methods.split(",")] if methods else None, shots=shots,
                       protocol=protocol, full=full,
                       max_new_tokens=max_new_tokens, scorers=[x.strip() for x in scorers.split(",") if x.strip()])
    if suite == "clinicalqa":
        from medgo.eval.judge import make_judge

        opts.baseline = (load_engine(backend, baseline, base_url=baseline_url or base_url, batch_size=batch_size)
                         if baseline else None)
        opts.judge = make_judge(judge_url, judge_model, judge_api_key, judge_timeout) if judge_url else None
        opts.labels = {"model": str(model), **({"baseline": baseline} if baseline else {}),
                       **({"judge": judge_model or judge_url} if judge_url else {}), **({"note": label} if label else {})}
    print(the_suite.markdown(the_suite.run(engine, the_suite.spec(opts), out)), end="")


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
    from medgo.inference.registry import load_engine

    if _suite(suite) != "cblue":
        raise ConfigError("submit supports --suite cblue only")
    engine = load_engine(backend, model, base_url=base_url, batch_size=batch_size)
    for p in submit_cblue(engine, parse_tasks(tasks), out, data_dir_from(data_dir), template, limit):
        print(p)


@app.command("review-export")
def review_export(
    answers: Path = typer.Option(..., "--answers", help="answers.jsonl of a clinicalqa run with --baseline"),
    out: Path = typer.Option(..., "--out", help="sheet to write: .csv or .xlsx (the key goes to OUT.key.json)"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Blinded doctor-review sheet: answers A/B in a seeded random order; the key is written beside it."""
    from medgo.eval.review import export_sheet

    sheet, key = export_sheet(answers, out, seed)
    print(f"{sheet}\n{key}  (keep the key from reviewers)")


@app.command("review-import")
def review_import(
    sheet: Path = typer.Argument(..., help="the filled .csv / .xlsx"),
    key: Path = typer.Option(None, "--key", help="default: SHEET.key.json"),
    out: Path = typer.Option(None, "--out", help="write review.json and review.md to this folder"),
) -> None:
    """Read a filled review sheet back: mean 1-5 scores per system and model-vs-baseline win/tie/loss."""
    from medgo.eval.suites.clinicalqa_run import write_review

    print(write_review(sheet, key, out), end="")
