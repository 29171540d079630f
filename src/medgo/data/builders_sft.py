"""SFT builders: alpaca, ShareGPT, OpenAI messages, QA tables (question/answer columns) and doctor/patient
dialogues, all into `{id, messages:[{role, content}], source}`; every row is validated (roles, alternation)
and refused rows go to rejects with file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from medgo.data.manifest import JsonlWriter, RejectWriter, StepStats, write_manifest
from medgo.data.readers import iter_records
from medgo.data.schemas import check_messages
from medgo.errors import DataError

Format = Literal["auto", "alpaca", "sharegpt", "openai", "qa", "dialogue"]
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "system": "system"}
_SPEAKERS = {"患者": "user", "病人": "user", "用户": "user", "patient": "user", "医生": "assistant",
             "doctor": "assistant", "大夫": "assistant", "医师": "assistant"}
QUESTION_KEYS = ("question", "ask", "问题", "query", "prompt", "input")
ANSWER_KEYS = ("answer", "response", "回答", "答案", "output", "reply")


def detect_format(row: dict[str, Any]) -> str:
    if "messages" in row:
        return "openai"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if any(k in row for k in ("dialogue-content", "dialogue", "turns", "utterances")):
        return "dialogue"
    if any(k in row for k in QUESTION_KEYS) and any(k in row for k in ANSWER_KEYS):
        return "qa"
    raise ValueError("unknown format: expected messages / conversations / instruction+output / question+answer / dialogue")


def _merge(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """Consecutive turns by the same speaker (common in dialogue corpora) become one turn."""
    out: list[dict[str, str]] = []
    for t in turns:
        if out and out[-1]["role"] == t["role"] and t["role"] != "system":
            out[-1]["content"] += "\n" + t["content"]
        else:
            out.append(dict(t))
    return out


def to_messages(row: dict[str, Any], fmt: str) -> list[dict[str, str]]:
    if fmt == "openai":
        return row["messages"]
    if fmt == "alpaca":
        msgs: list[dict[str, str]] = []
        if row.get("system"):
            msgs.append({"role": "system", "content": row["system"]})
        for q, a in row.get("history") or []:
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        prompt = row["instruction"] + (("\n" + row["input"]) if row.get("input") else "")
        return msgs + [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
    if fmt == "sharegpt":
        turns = []
        for i, t in enumerate(row["conversations"]):
            role = _SHAREGPT_ROLES.get(str(t.get("from", t.get("role", ""))).lower())
            if role is None:
                raise ValueError(f"bad role: conversations[{i}].from={t.get('from')!r}")
            turns.append({"role": role, "content": t.get("value", t.get("content"))})
        return turns
    if fmt == "qa":
        q = next(row[k] for k in QUESTION_KEYS if k in row)
        a = next(row[k] for k in ANSWER_KEYS if k in row)
        if row.get("title") and isinstance(q, str) and row["title"] not in q:
            q = f"{row['title']}\n{q}"
        return [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    if fmt == "dialogue":
        key = next(k for k in ("dialogue-content", "dialogue", "turns", "utterances") if k in row)
        turns = []
        for i, t in enumerate(row[key]):
            spk = str(t.get("speaker", t.get("role", ""))).strip().lower()
            role = _SPEAKERS.get(spk) or _SHAREGPT_ROLES.get(spk)
            if role is None:
                raise ValueError(f"bad role: {key}[{i}].speaker={spk!r} (expected 患者/医生 or user/assistant)")
            turns.append({"role": role, "content": t.get("sentence", t.get("content", t.get("text")))})
        turns = _merge(turns)
        while turns and turns[0]["role"] == "assistant":  # doctors' greetings before the patient speaks
            turns.pop(0)
        while turns and turns[-1]["role"] == "user":  # an unanswered last question is no training target
            turns.pop()
        return turns
    raise ValueError(f"unknown format {fmt!r}")


def build_sft(inputs: list[str | Path], out_path: str | Path, *, fmt: Format = "auto") -> dict[str, Any]:
    out = Path(out_path)
    stem = out.name.removesuffix(".jsonl")
    stats = StepStats("build-sft")
    formats: dict[str, int] = {}
    if not inputs:
        raise DataError("build-sft: no input files", hint="pass --in FILE (jsonl/json/csv/tsv/parquet)")
    with JsonlWriter(out, stats) as w, RejectWriter(out.with_name(f"{stem}.rejects.jsonl"), stats) as rej:
        for path in inputs:
            for rec in iter_records(path, rej, stats):
                try:
                    f = detect_format(rec.row) if fmt == "auto" else fmt
                    msgs = to_messages(rec.row, f)
                except (KeyError, TypeError, ValueError, StopIteration) as e:
                    reason = str(e) if isinstance(e, ValueError) else f"missing field: {e}"
                    rej.reject(rec.file, rec.line, reason, str(rec.row)[:2000])
                    continue
                err = check_messages(msgs)
                if err:
                    rej.reject(rec.file, rec.line, err, str(rec.row)[:2000])
                    continue
                formats[f] = formats.get(f, 0) + 1
                w.write({"id": str(rec.row.get("id", rec.row.get("example-id", f"{Path(rec.file).stem}-{rec.line}"))),
                         "messages": [{"role": m["role"], "content": m["content"]} for m in msgs],
                         "source": rec.row.get("source", Path(rec.file).name)})
    return write_manifest(out.with_name(f"{stem}.manifest.json"), stats, inputs=[str(p) for p in inputs], formats=formats)
