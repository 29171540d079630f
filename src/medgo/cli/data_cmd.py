"""`medgo data clean|dedup|deid|contamination|build-sft|build-pref|cblue-to-sft|mix|prepare` (see medgo.data)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from medgo.errors import ConfigError, MedgoError
from medgo.log import console

app = typer.Typer(help="Corpus and dataset preparation: clean, dedup, de-identify, decontaminate, build, mix.",
                  no_args_is_help=True)

InFiles = typer.Option(..., "--in", help="input files: txt / jsonl / json / csv / tsv / parquet (any encoding)")


def _run(fn: Callable[[], dict[str, Any]], where: str) -> None:
    """Call the step; user errors print without a traceback and exit 2; success prints one line."""
    try:
        m = fn()
    except MedgoError as e:
        console.print(f"[bold red]error:[/] {e}")
        raise typer.Exit(2) from None
    line = f"{m.get('step', 'prepare')}: {m['rows_in']} in, {m['rows_out']} out"
    if "rejected" in m:
        line += f", {m['rejected']} rejected"
    if m.get("deduplicated"):
        line += f", {m['deduplicated']} removed"
    console.print(line + f" ({m.get('wall_s', 0):.1f}s) -> {where}")


@app.command()
def clean(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="output folder (clean.jsonl, clean.rejects.jsonl, clean.manifest.json)"),
    field: str = typer.Option("text", "--field", help="text field of JSON/CSV rows"),
    txt_mode: str = typer.Option("paragraph", "--txt-mode", help="txt documents: paragraph | line | file"),
    min_chars: int = typer.Option(10, "--min-chars"),
    max_chars: int = typer.Option(200_000, "--max-chars"),
    min_cjk: float = typer.Option(0.3, "--min-cjk", help="minimum CJK share (0 disables)"),
) -> None:
    """Normalise text (NFKC, full-width, markup, whitespace) and apply quality filters."""
    from medgo.data.filters import FilterConfig
    from medgo.data.steps import clean_files

    fc = FilterConfig(min_chars=min_chars, max_chars=max_chars, min_cjk_ratio=min_cjk)
    _run(lambda: clean_files(files, out, filters=fc, field=field, txt_mode=txt_mode), str(out))  # type: ignore[arg-type]


@app.command()
def dedup(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="output folder (dedup.jsonl, rejects, manifest)"),
    field: str = typer.Option("text", "--field"),
    threshold: float = typer.Option(0.8, "--threshold", help="MinHash Jaccard threshold for near duplicates"),
    ngram: int = typer.Option(5, "--ngram", help="character shingle length"),
    no_near: bool = typer.Option(False, "--exact-only", help="skip near-duplicate detection"),
    backend: str = typer.Option("memory", "--backend", help="memory (fast) | disk (flat RAM for huge corpora)"),
) -> None:
    """Exact and MinHash-LSH near dedup; the first occurrence is kept."""
    from medgo.data.dedup import DedupConfig
    from medgo.data.steps import dedup_files

    cfg = DedupConfig(threshold=threshold, ngram=ngram, near=not no_near, backend=backend)  # type: ignore[arg-type]
    _run(lambda: dedup_files(files, out, cfg=cfg, field=field), str(out))


@app.command()
def deid(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="output JSONL (rejects and manifest are written beside it)"),
    field: list[str] = typer.Option(["text"], "--field", help="field(s) to de-identify; messages[].content always"),
    dates: str = typer.Option("mask", "--dates", help="mask | shift (consistent per document) | keep"),
    hospitals: bool = typer.Option(True, "--hospitals/--no-hospitals", help="replace hospital names"),
    pseudonyms: bool = typer.Option(
        False, "--pseudonyms/--no-pseudonyms", help="names as consistent [患者A]/[家属A]/[医护A] instead of [姓名]"
    ),
    report: Path | None = typer.Option(
        None, "--report", help="audit report: per type counts and a sample of masked spans in context (.json or .md)"
    ),
    report_sample: int = typer.Option(10, "--report-sample", help="spans per type shown in the report"),
    tagger: Path | None = typer.Option(
        None, "--tagger", help="folder of a learned name tagger (medgo data deid-train) used beside the rules"
    ),
    terms: list[Path] = typer.Option(
        [], "--terms", help="clinical term list never read as names (a formulary, medgo data deid-terms); repeatable"
    ),
) -> None:
    """Replace PHI (names, IDs, phones, addresses, record numbers, emails, dates, hospitals) with [类型]."""
    from medgo.data.deid import DeidConfig
    from medgo.data.steps import deid_file

    cfg = DeidConfig(dates=dates, hospitals=hospitals, names="pseudonym" if pseudonyms else "placeholder",  # type: ignore[arg-type]
                     tagger=str(tagger) if tagger else None, clinical_terms=[str(t) for t in terms])

    def go() -> dict[str, Any]:
        m = deid_file(files, out, cfg=cfg, fields=field)
        if report is not None:
            from medgo.data.deid_report import build_report, write_report

            rep = build_report(files, field, cfg, sample=report_sample)
            write_report(rep, report)
            counts = ", ".join(f"{t} {v['spans']}" for t, v in rep["per_type"].items()) or "nothing"
            console.print(f"  replaced: {counts} -> {report}")
        return m

    _run(go, str(out))


@app.command("deid-terms")
def deid_terms(
    files: list[Path] = typer.Option([], "--in", help="annotated corpora: CMeEE JSON, cMedQANER JSON Lines, or JSON "
                                     "Lines with text + spans"),
    out: Path = typer.Option(..., "--out", help="term list to write (one term per line)"),
    mine: list[Path] = typer.Option([], "--mine", help="raw text to mine for the words it uses as drugs (a hospital's "
                                    "own notes): TXT / JSON / JSONL files or folders"),
    min_docs: int = typer.Option(2, "--min-docs", min=1, help="texts a mined word must be used as a drug in"),
    types: str = typer.Option("", "--types", help="entity types to take, comma-separated (default: drugs, diseases, "
                              "symptoms, procedures, tests, microbes, equipment, body parts)"),
    min_count: int = typer.Option(1, "--min-count", min=1, help="times a term must be annotated to be taken"),
) -> None:
    """Build a clinical term list for `medgo data deid --terms`: the annotated entities that open with a surname
    character (the only words a name reading can eat), and the words raw text uses as drugs (`--mine`: after a
    drug verb or at a clause's start, before a dose or a dosage form), less the dictionary's person names."""
    import time

    from medgo.data.deid_names import person_name_word
    from medgo.data.deid_terms import CORPUS_TYPES, mine_drugs, terms_from_corpus

    def go() -> dict[str, Any]:
        from medgo.data.deid_tagger_train import iter_texts

        t0 = time.perf_counter()
        if not files and not mine:
            raise ConfigError("deid-terms: give annotated corpora (--in) or raw text to mine (--mine), or both")
        for p in [*files, *mine]:
            if not p.exists():
                raise ConfigError(f"deid-terms: {p}: no such file or folder")
        want = [t for t in types.split(",") if t] or CORPUS_TYPES
        terms = set(terms_from_corpus(files, want, min_count, is_name=person_name_word)) if files else set()
        mined = mine_drugs((t for p in mine for t in iter_texts(p)), min_docs, is_name=person_name_word) if mine else []
        terms.update(mined)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(t + "\n" for t in sorted(terms)), encoding="utf-8")
        if mine:
            console.print(f"deid-terms: {len(mined)} words used as drugs in at least {min_docs} mined texts")
        return {"step": "deid-terms", "rows_in": len(files) + len(mine), "rows_out": len(terms),
                "wall_s": time.perf_counter() - t0}

    _run(go, str(out))


@app.command("deid-train")
def deid_train(
    corpus: list[Path] = typer.Option(..., "--corpus", help="record text to learn from: TXT / JSON / JSONL files or folders"),
    out: Path = typer.Option(..., "--out", help="tagger folder to write (tagger.pt, vocab.json, tagger.json)"),
    steps: int = typer.Option(3000, "--steps", min=1),
    segments: int = typer.Option(80000, "--segments", min=10, help="training windows drawn from the corpus"),
    seed: int = typer.Option(16, "--seed"),
    members: int = typer.Option(1, "--members", min=1, help="networks to train and average (2: fewer misses and "
                                "fewer false names, twice the training and tagging time)"),
    labelled: list[Path] = typer.Option([], "--labelled", help="annotated notes, JSON Lines with \"text\" and "
                                        "\"phi\" or \"spans\" (start, end, type NAME / PATIENT / RELATIVE / CLINICIAN)"),
    labelled_copies: int = typer.Option(4, "--labelled-copies", min=1, help="times each annotated note is learned "
                                        "from: once as it stands, then with its names replaced by sampled ones"),
    negatives: list[Path] = typer.Option([], "--negatives", help="clinical terms to plant as not-names (a formulary: "
                                         "one term per line, .txt; or CMeEE / cMedQANER / drug-monograph JSON)"),
) -> None:
    """Train the learned name detector on your own record text (names planted at role words) and annotated notes."""
    from medgo.data.deid_tagger_train import TaggerTrainConfig, train_tagger

    cfg = TaggerTrainConfig(corpus=[str(c) for c in corpus], out=str(out), steps=steps, segments=segments, seed=seed,
                            members=members, labelled=[str(x) for x in labelled], labelled_copies=labelled_copies,
                            negatives=[str(x) for x in negatives])
    try:
        train_tagger(cfg)  # prints its own one-line summary
    except MedgoError as e:
        console.print(f"[bold red]error:[/] {e}")
        raise typer.Exit(2) from None


@app.command()
def contamination(
    train: list[Path] = typer.Option(..., "--train", help="training files"),
    evals: list[Path] = typer.Option(..., "--eval", help="evaluation files (CBLUE dev/test, exams)"),
    out: Path = typer.Option(..., "--out", help="output folder (manifest; decontaminated.jsonl with --drop)"),
    n: int = typer.Option(13, "--n", help="character n-gram length"),
    drop: bool = typer.Option(False, "--drop", help="write training rows without contaminated ones"),
) -> None:
    """Character n-gram overlap between training and evaluation sets, per eval set."""
    from medgo.data.contamination import check_contamination

    def go() -> dict[str, Any]:
        m = check_contamination(train, evals, out, n=n, drop=drop)
        for name, r in m["per_eval"].items():
            console.print(f"  {name}: {r['contaminated']}/{r['rows']} rows overlap ({r['rate']:.1%})")
        return m

    _run(go, str(out))


@app.command("build-sft")
def build_sft(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="output JSONL {id, messages, source}"),
    fmt: str = typer.Option("auto", "--format", help="auto | alpaca | sharegpt | openai | qa | dialogue"),
) -> None:
    """Convert SFT sources into one messages schema, validating roles and alternation."""
    from medgo.data.builders_sft import build_sft as build

    _run(lambda: build(files, out, fmt=fmt), str(out))  # type: ignore[arg-type]


@app.command("build-pref")
def build_pref(
    files: list[Path] = InFiles,
    out: Path = typer.Option(..., "--out", help="output JSONL {id, prompt, chosen, rejected, source}"),
    mode: str = typer.Option(..., "--mode", help="judged | qa | mcq | sampled"),
    judge: list[Path] = typer.Option(None, "--judge", help="judged: judge-output files aligned line by line"),
    models: list[str] = typer.Option(None, "--model-key", help="mcq: fields holding model answers (default: all)"),
) -> None:
    """Build preference pairs from judged pairs, QA labels, MCQ answers or ranked samples."""
    from medgo.data.builders_pref import build_pref as build

    _run(lambda: build(files, out, mode=mode, judge_files=judge or None, model_keys=models or None), str(out))  # type: ignore[arg-type]


@app.command("cblue-to-sft")
def cblue_to_sft_cmd(
    out: Path = typer.Option(..., "--out", help="output JSONL {id, messages, source}"),
    tasks: str = typer.Option("all", "--tasks", help="comma-separated CBLUE task names, or all"),
    data_dir: str = typer.Option(None, "--data-dir", help="folder laid out like ../shared/data (or $MEDGO_DATA)"),
    split: str = typer.Option("train", "--split", help="records to convert (a task without train: 10% of dev)"),
    template: str = typer.Option(None, "--template", help="template name (default: each task's first)"),
    limit: int = typer.Option(None, "--limit", help="at most N records per task (a seeded sample)"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """CBLUE training records -> SFT conversations with the evaluation prompts (dev-overlapping rows dropped)."""
    import time

    from medgo.eval.cblue_sft import cblue_to_sft
    from medgo.eval.suites.cblue_run import data_dir_from, parse_tasks

    def go() -> dict[str, Any]:
        t0 = time.time()
        m = cblue_to_sft(parse_tasks(tasks), out, data_dir_from(data_dir), template=template, split=split,
                         limit=limit, seed=seed)
        for name, st in m["tasks"].items():
            console.print(f"  {name}: {st['kept']} rows, {st['dropped_dev_overlap']} dropped (dev overlap)")
        n_in = sum(st["kept"] + st["dropped_dev_overlap"] for st in m["tasks"].values())
        return {"step": "cblue-to-sft", "rows_in": n_in, "rows_out": m["rows"], "rejected": n_in - m["rows"],
                "wall_s": time.time() - t0}

    _run(go, str(out))


@app.command("mix")
def mix_cmd(
    sources: list[str] = typer.Option(..., "--source", help="PATH:WEIGHT or PATH:tokens=N"),
    out: Path = typer.Option(..., "--out", help="output JSONL"),
    total_tokens: int = typer.Option(None, "--total-tokens", help="output size for weighted sources"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Mix sources by weight or target token count (deterministic; up-samples with repeats)."""
    from medgo.data.mix import MixSource, mix
    from medgo.errors import ConfigError

    def parse(s: str) -> MixSource:
        path, _, spec = s.rpartition(":")
        try:
            if spec.startswith("tokens="):
                return MixSource(path=path, tokens=int(spec[7:]))
            return MixSource(path=path, weight=float(spec))
        except ValueError:
            raise ConfigError(f"--source {s!r}: expected PATH:WEIGHT or PATH:tokens=N") from None

    _run(lambda: mix([parse(s) for s in sources], out, total_tokens=total_tokens, seed=seed), str(out))


@app.command()
def prepare(config: Path = typer.Argument(..., help="YAML with a data_prep section (or the section itself)")) -> None:
    """clean -> dedup -> deid -> contamination (-> mix), each step with manifest and rejects."""
    from medgo.data.prepare import load_prepare_config, run_prepare

    def go() -> dict[str, Any]:
        m = run_prepare(load_prepare_config(config))
        for k, s in m["steps"].items():
            console.print(f"  {k}: {s['rows_in']} in, {s['rows_out']} out, {s['rejected']} rejected, {s['deduplicated']} removed")
        return m

    _run(go, "prepare")


@app.command("scale-clean")
def scale_clean(
    input_dir: Path = typer.Option(..., "--in", help="folder of JSONL shards ({text, id, ...} per line)"),
    out: Path = typer.Option(..., "--out", help="output folder: docs/ shards, rejects/, datatrove logs/"),
    executor: str = typer.Option("local", "--executor", help="local (N worker processes) | slurm (array job)"),
    tasks: int = typer.Option(4, "--tasks", help="shards of work (one output file each)"),
    workers: int = typer.Option(-1, "--workers", help="tasks running at once (-1: all)"),
    min_chars: int = typer.Option(10, "--min-chars"),
    deid: bool = typer.Option(True, "--deid/--no-deid", help="de-identify kept documents"),
    partition: str = typer.Option("cpu", "--partition", help="slurm partition"),
    time: str = typer.Option("04:00:00", "--time", help="slurm time limit per task"),
) -> None:
    """Clean, filter and de-identify a large corpus on datatrove's local or Slurm executor; then run
    `medgo data dedup --in OUT/docs/*.jsonl --backend disk` for the global dedup."""
    from medgo.data.distributed import run_distributed_clean

    if executor not in ("local", "slurm"):
        console.print("[bold red]error:[/] --executor must be local or slurm")
        raise typer.Exit(2)

    def go() -> dict[str, Any]:
        return {**run_distributed_clean(
            str(input_dir), str(out), executor=executor, tasks=tasks, workers=workers,  # type: ignore[arg-type]
            filters={"min_chars": min_chars}, deid={} if deid else None,
            slurm={"partition": partition, "time": time},
        ), "step": "scale-clean"}

    _run(go, str(out))


@app.command("sample-answers")
def sample_answers_cmd(
    file: Path = typer.Option(..., "--in", help="JSONL with `prompt` (or `question`) and optional `reference`"),
    out: Path = typer.Option(..., "--out", help="JSONL: each row plus `answers` (then build-pref --mode sampled)"),
    model: Path = typer.Option(..., "--model", help="run folder or model folder"),
    n: int = typer.Option(4, "--n", help="samples per prompt"),
    temperature: float = typer.Option(0.8, "--temperature"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Sample N answers per prompt from a model, to rank into preference pairs."""
    import time

    from medgo.data.jsonl import read_jsonl, write_jsonl
    from medgo.eval.sampling import sample_answers
    from medgo.inference.base import GenerationParams
    from medgo.inference.hf import HFEngine
    from medgo.inference.registry import resolve_model

    def go() -> dict[str, Any]:
        t0 = time.time()
        rows = list(read_jsonl(file))
        engine = HFEngine.from_path(resolve_model(model).model_dir)
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        k = write_jsonl(out, sample_answers(engine, rows, n, params))
        return {"step": "sample-answers", "rows_in": len(rows), "rows_out": k, "wall_s": time.time() - t0}

    _run(go, str(out))
