"""The `report` stage: Markdown + self-contained HTML (plots inlined) from manifests and eval results."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from medgo.config.schema import RunConfig
from medgo.log import console
from medgo.report import regressions as reg
from medgo.report.plots import eval_bars, loss_curves
from medgo.run_dir import TRAIN_STAGES
from medgo.stage import StageContext, StageResult

NAME = "report"

EVAL_COLUMNS = [
    ("perplexity", "held-out perplexity (lower is better)"),
    ("bits_per_char", "bits/char"),
    ("cls_loglik_accuracy", "classification acc. (label log-lik)"),
    ("cls_loglik_macro_f1", "classification macro-F1 (log-lik)"),
    ("cls_generate_accuracy", "classification acc. (generate+parse)"),
    ("pref_accuracy", "held-out preference acc."),
]


def config_for_hash(cfg: RunConfig) -> Any:
    return {**cfg.report.model_dump(mode="json"), "regressions": cfg.eval.regressions}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows]
    return out


def prepare_section(data_manifest: dict[str, Any]) -> list[str]:
    """Counts of the corpus preparation steps (clean, dedup, de-id, contamination, mix)."""
    prep = (data_manifest.get("counts") or {}).get("prepare")
    if not prep:
        return []
    lines = ["## Data preparation", "",
             f"Corpus documents: {prep['rows_in']} in → {prep['rows_out']} out ({prep['wall_s']} s).", ""]
    rows = []
    for step, c in prep["steps"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in (c.get("reasons") or {}).items()) or "—"
        rows.append([step, c.get("rows_in"), c.get("rows_out"), c.get("rejected"), c.get("deduplicated"), reasons])
    return lines + _table(["step", "in", "out", "rejected", "duplicates", "reasons"], rows) + [""]


def contamination_section(data_manifest: dict[str, Any]) -> list[str]:
    """Evaluation rows that share a character n-gram with each training set (corpus, SFT, preference)."""
    c = (data_manifest.get("counts") or {}).get("contamination") or {}
    sets = c.get("sets") or {}
    if not sets:
        return []
    evals = list(dict.fromkeys(e for s in sets.values() for e in s.get("per_eval", {})))
    lines = ["## Contamination check", "",
             f"Evaluation rows sharing a character {c.get('ngram')}-gram with each training set (contaminated / "
             "rows). The corpus is checked inside `prepare` (its contaminated documents are dropped before "
             "training); SFT and preference sets are checked as the data stage wrote them.", ""]
    rows = []
    for e in evals:
        row: list[Any] = [Path(e).name]
        short = None
        for s in sets.values():
            r = s.get("per_eval", {}).get(e)
            row.append(f"{r['contaminated']}/{r['rows']}" if r else "—")
            short = r.get("too_short") if r else short
        rows.append([*row, short])
    lines += _table(["evaluation file", *sets, f"rows under {c.get('ngram')} chars (not checkable)"], rows)
    lines += ["", "Training rows touching an evaluation row: " + ", ".join(
        f"{k} {v.get('contaminated_train_rows')}" + (" (dropped)" if v.get("dropped") else "") for k, v in sets.items()),
        ""]
    return lines


def clinicalqa_section(results: dict[str, dict[str, Any]]) -> list[str]:
    models = [m for m, r in results.items() if r.get("clinicalqa")]
    if not models:
        return []
    keys = [k for k in results[models[0]]["clinicalqa"] if k != "n"]
    lines = ["## ClinicalQA (reference-based)", "",
             f"{results[models[0]]['clinicalqa']['n']} questions; means over questions (ROUGE-L and BLEU against the "
             "reference answer, weighted rubric coverage, share of answers that say a must-not-say point). The "
             "LLM-judge and pairwise win rate vs a baseline run with `medgo eval run --suite clinicalqa "
             "--judge-url ...`.", ""]
    rows = [[m] + [results[m]["clinicalqa"].get(k) for k in keys] for m in models]
    lines += _table(["model"] + keys, rows) + [""]
    for r in results.values():
        pw = r.get("clinicalqa_pairwise")
        if not pw:
            continue
        ci = pw.get("win_rate_ci95")
        rate = (f"win rate {_fmt(pw['win_rate'])} (95% CI {_fmt(ci[0])}–{_fmt(ci[1])})" if ci
                else "no verdict could be parsed, so no win rate")
        lines.append(
            f"- Pairwise, {pw['model']} vs {pw['baseline']}, judge: {pw['judge']}, both answer orders: "
            f"{pw.get('win', 0)} win / {pw.get('tie', 0)} tie / {pw.get('loss', 0)} loss, {pw.get('unjudged', 0)} "
            f"unjudged; {rate}; {pw['judge_malformed']} of {pw['judge_calls']} judge replies were malformed."
        )
    return lines + [""]


def exams_section(results: dict[str, dict[str, Any]]) -> list[str]:
    models = [m for m, r in results.items() if r.get("exams")]
    if not models:
        return []
    tasks = list(results[models[0]]["exams"])
    lines = ["## Exams (multiple choice, accuracy)", "",
             "Option log-likelihood (raw / per character); chance is 1/4 (CMMLU) or 1/5 (CNMLEQA).", ""]
    rows = []
    for t in tasks:
        r0 = results[models[0]]["exams"][t]
        cells = []
        for m in models:
            r = results[m]["exams"].get(t, {})
            cells.append(" / ".join("–" if r.get(k) is None else f"{r[k]:.3f}" for k in ("loglik", "loglik_norm")))
        rows.append([t, r0.get("n"), *cells])
    src = results[models[0]]["exams"][tasks[0]].get("source") if tasks else None
    return lines + _table(["exam", "n"] + models, rows) + ["", f"- Data: {src}", ""]


def cblue_section(results: dict[str, dict[str, Any]]) -> list[str]:
    """CBLUE scores (x100) per task and model: generation+parsing / label log-likelihood."""
    models = [m for m, r in results.items() if r.get("cblue")]
    if not models:
        return []
    tasks = list(results[models[0]]["cblue"])
    first = results[models[0]]["cblue"][tasks[0]]
    lines = ["## CBLUE", "",
             "Each cell: generate+parse / label log-likelihood (x100; – where the method does not apply). "
             "These are tiny models trained for minutes: low CBLUE numbers are expected and are reported as "
             "they are, not tuned.", ""]
    header = ["task", "metric", "n"] + models
    rows = []
    for t in tasks:
        cells = []
        for m in models:
            r = results[m]["cblue"].get(t, {})
            g = "–" if r.get("generate") is None else f"{100 * r['generate']:.1f}"
            ll = "–" if r.get("loglik") is None else f"{100 * r['loglik']:.1f}"
            cells.append(f"{g} / {ll}")
        r0 = results[models[0]]["cblue"][t]
        rows.append([t, r0.get("metric"), r0.get("n"), *cells])
    lines += _table(header, rows)
    lines += ["", f"- Data: {first.get('source')} (set MEDGO_DATA or eval.cblue.data_dir for the real dev sets).", ""]
    return lines


def build_markdown(cfg: RunConfig, ctx: StageContext, results: dict, plots: dict[str, Path],
                   comps: list | None = None) -> str:
    rd = ctx.run
    lines = [f"# {cfg.report.title}: `{cfg.name}`", ""]
    lines += reg.flags_section(cfg.eval.regressions, comps or [])
    lines += ["## Stages", ""]
    rows = []
    for s in [s for s in ctx.stages if s != ctx.name]:
        m = rd.manifest(s) or {}
        met = m.get("metrics") or {}
        detail = ""
        if s in TRAIN_STAGES and m.get("status") == "done":
            detail = f"loss {_fmt(met.get('first_loss'))} → {_fmt(met.get('last_loss'))}, {met.get('steps')} steps, {_fmt(met.get('tokens_per_s'))} tok/s"
        elif s == "data":
            c = m.get("counts") or {}
            detail = f"{c.get('rows_in')} rows in, {c.get('rows_out')} kept, {c.get('rejected')} rejected"
        elif s == "tokenizer":
            detail = f"vocab {met.get('vocab_size')}, {_fmt(met.get('chars_per_token_heldout'))} chars/token"
        rows.append([s, m.get("status", "missing"), _fmt(m.get("wall_time_s")), detail])
    lines += _table(["stage", "status", "wall time (s)", "summary"], rows) + [""]
    lines += prepare_section(rd.manifest("data") or {})
    lines += contamination_section(rd.manifest("data") or {})
    if "loss" in plots:
        lines += ["## Training loss", "", f"![loss curves]({plots['loss'].name})", ""]
    if results:
        lines += ["## Evaluation across stages", ""]
        cols = [c for c in EVAL_COLUMNS if any(c[0] in r for r in results.values())]
        lines += _table(["model"] + [c[1] for c in cols], [[m] + [r.get(c[0]) for c in cols] for m, r in results.items()])
        lines += [""]
        base = results.get("init") or {}
        pre = results.get("pretrain") or {}
        sft = results.get("sft") or {}
        if base.get("perplexity") and pre.get("perplexity"):
            lines.append(
                f"- Held-out perplexity: {_fmt(base['perplexity'])} at initialisation → {_fmt(pre['perplexity'])} "
                f"after pre-training ({'falls' if pre['perplexity'] < base['perplexity'] else 'does NOT fall'})."
            )
        key = "cls_loglik_accuracy"
        if key in pre and key in sft:
            lines.append(
                f"- Classification check: {_fmt(pre[key])} after pre-training → {_fmt(sft[key])} after SFT "
                f"({'SFT better' if sft[key] > pre[key] else 'SFT NOT better'}; majority baseline "
                f"{_fmt(sft.get('cls_majority_baseline'))})."
            )
        pref = results.get("preference") or {}
        if "pref_accuracy" in sft and "pref_accuracy" in pref:
            lines.append(
                f"- Held-out preference accuracy ({pref.get('pref_pairs')} pairs, chosen preferred per token): "
                f"{_fmt(sft['pref_accuracy'])} after SFT → {_fmt(pref['pref_accuracy'])} after preference alignment."
            )
        if "eval" in plots:
            lines += ["", f"![evaluation]({plots['eval'].name})", ""]
        lines += [""] + reg.table_section(comps or [])
        lines += cblue_section(results)
        lines += clinicalqa_section(results)
        lines += exams_section(results)
    lines += ["", "## Configuration", "", "```json", json.dumps(cfg.model_dump(mode="json"), ensure_ascii=False, indent=1), "```"]
    return "\n".join(lines) + "\n"


def markdown_to_html(md: str, title: str, images: dict[str, Path]) -> str:
    """A small renderer for the Markdown this module writes (tables, headings, lists, images, code)."""
    out, in_code, in_table = [], False, False
    for line in md.splitlines():
        if line.startswith("```"):
            out.append("<pre>" if not in_code else "</pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<{tag}>{html.escape(c).replace('`', '')}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("!["):
            name = line[line.index("(") + 1 : line.rindex(")")]
            path = images.get(name)
            if path and path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                out.append(f'<p><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"></p>')
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:]).replace('`', '')}</h1>")
        elif line.startswith("- "):
            out.append(f"<li>{html.escape(line[2:])}</li>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        out.append("</table>")
    style = (
        "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        "th{background:#f3f3f3}img{max-width:100%}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px}"
    )
    return (
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(out) + "\n</body></html>\n"
    )


def run(cfg: RunConfig, ctx: StageContext) -> StageResult:
    rd = ctx.run
    out = ctx.out
    res_path = rd.stage("eval") / "results.json"
    results = json.loads(res_path.read_text(encoding="utf-8")) if res_path.is_file() else {}
    comps = reg.load(rd.stage("eval")) if results else []
    if not cfg.report.enabled:
        reg.check(cfg.eval.regressions, comps)  # `fail` stops the run even without a report
        return StageResult(status="disabled")
    histories = {}
    for s in TRAIN_STAGES:
        p = rd.stage(s) / "log_history.json"
        if p.is_file():
            histories[s] = json.loads(p.read_text(encoding="utf-8"))
    plots: dict[str, Path] = {}
    if p := loss_curves(histories, out / "loss_curves.png"):
        plots["loss"] = p
    bars = [c for c in EVAL_COLUMNS if c[0] in ("perplexity", "cls_loglik_accuracy", "pref_accuracy")]
    if p := eval_bars(results, bars, out / "eval.png"):
        plots["eval"] = p
    md = build_markdown(cfg, ctx, results, plots, comps)
    (out / "report.md").write_text(md, encoding="utf-8")
    page = markdown_to_html(md, f"{cfg.report.title}: {cfg.name}", {p.name: p for p in plots.values()})
    (out / "report.html").write_text(page, encoding="utf-8")
    console.print(f"report: {out / 'report.html'}")
    flags = reg.flagged(cfg.eval.regressions, comps)
    for c in flags:
        console.print(f"[yellow]regression:[/] {c['headline']}")
    reg.check(cfg.eval.regressions, comps)  # after the report is written, so the flags can be read there
    return StageResult(
        metrics={"plots": len(plots), "regressions_flagged": len(flags)},
        extra={"report_md": str(out / "report.md"), "report_html": str(out / "report.html")},
    )
