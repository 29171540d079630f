"""`medgo` command line: thin wrappers that parse, call one function and print."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from medgo.errors import MedgoError
from medgo.log import console, setup_logging

app = typer.Typer(
    name="medgo",
    help="Build, evaluate and serve a Chinese medical LLM: data → pre-train → SFT → preference → eval → report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect run configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")

OverridesArg = typer.Argument(None, help="config overrides as key.sub=value, e.g. pretrain.epochs=2")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="also show the trainer's raw logs and the libraries' "
                          "progress bars (always in <stage>/train.log)")


@app.command()
def run(
    config: Path = typer.Argument(..., help="run YAML, e.g. configs/demo.yaml"),
    overrides: list[str] = OverridesArg,
    out: Path | None = typer.Option(None, "--out", help="run folder (default: <output_dir>/<name>)"),
    verbose: bool = VerboseOpt,
) -> None:
    """Run every stage in order, skipping completed ones whose config and inputs are unchanged."""
    import time

    from medgo.log import set_verbose

    if verbose:  # MEDGO_VERBOSE=1 in the environment works as well
        set_verbose()
    from medgo.config import load_config
    from medgo.pipeline.runner import run_pipeline

    cfg = load_config(config, overrides or [])
    t0 = time.time()
    rd, summary = run_pipeline(cfg, out)
    ran = [s["stage"] for s in summary if s["ran"]]
    report = rd.stage("report") / "report.html"
    console.print(
        f"[bold green]done[/] in {time.time() - t0:.1f}s: ran {len(ran)} stage(s)"
        f"{' (' + ', '.join(ran) + ')' if ran else ''}, skipped {len(summary) - len(ran)}. "
        f"Run folder: {rd.root}"
    )
    if report.is_file():
        console.print(f"report: {report}")
        print(report)


@app.command()
def stage(
    name: str = typer.Argument(..., help="data | tokenizer | pretrain | sft | preference | eval | report"),
    config: Path = typer.Argument(..., help="run YAML"),
    overrides: list[str] = OverridesArg,
    out: Path | None = typer.Option(None, "--out", help="run folder (default: <output_dir>/<name>)"),
    force: bool = typer.Option(True, "--force/--no-force", help="rerun even if the stage is complete"),
    verbose: bool = VerboseOpt,
) -> None:
    """Run one stage alone (its earlier stages must be complete in the run folder)."""
    from medgo.log import set_verbose

    if verbose:  # MEDGO_VERBOSE=1 in the environment works as well
        set_verbose()
    from medgo.config import load_config
    from medgo.pipeline.runner import run_root, run_stage
    from medgo.run_dir import RunDir

    cfg = load_config(config, overrides or [])
    if name == "data":
        from medgo.config import check_inputs

        check_inputs(cfg)
    rd = RunDir(run_root(cfg, out))
    rd.root.mkdir(parents=True, exist_ok=True)
    manifest, ran = run_stage(cfg, name, rd, force=force)
    console.print(f"stage {name}: {'ran' if ran else 'skipped'} ({manifest.get('status')}) → {rd.stage(name)}")


@app.command()
def chat(
    run_dir: Path = typer.Argument(..., help="a run folder (runs/<name>) or a model folder"),
    once: bool = typer.Option(False, "--once", help="read one question from stdin, print the answer, exit"),
    system: str | None = typer.Option(None, "--system", help="system prompt"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens"),
    temperature: float = typer.Option(0.0, "--temperature"),
) -> None:
    """Chat in the terminal with the run's final model (tokens stream as they are generated)."""
    from medgo.cli.chat import chat_loop

    chat_loop(run_dir, once=once, system=system, max_new_tokens=max_new_tokens, temperature=temperature)


@config_app.command("show")
def config_show(
    config: Path = typer.Argument(..., help="run YAML"),
    overrides: list[str] = OverridesArg,
) -> None:
    """Print the resolved config (defaults filled in, overrides applied, paths resolved)."""
    from medgo.config import dump_config, load_config

    print(dump_config(load_config(config, overrides or [])), end="")


def _mount_optional() -> None:
    """Sub-commands that live in their own modules: a module either defines `register(app)` or a Typer
    `app` mounted under its name. Missing modules are skipped (optional extras)."""
    import importlib

    for module, name in (
        ("medgo.cli.data_cmd", "data"),
        ("medgo.cli.index_cmd", "index"),
        ("medgo.cli.eval_cmd", "eval"),
        ("medgo.cli.serve_cmd", "serve"),
        ("medgo.cli.model_cmd", "model"),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name == module:
                continue
            raise
        if hasattr(mod, "register"):
            mod.register(app)
        else:
            app.add_typer(mod.app, name=name)


_mount_optional()


def main() -> None:
    setup_logging()
    try:
        app(standalone_mode=False)
    except MedgoError as e:
        console.print(f"[bold red]error:[/] {e}")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.exceptions.Exit):
            sys.exit(e.exit_code)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(1)
        raise


if __name__ == "__main__":
    main()
