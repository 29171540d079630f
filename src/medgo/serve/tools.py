"""OpenAI messages → the model's plain chat turns, and Qwen2.5/Qwen3 tool calling.

Tools are described to the model the way Qwen2.5's chat template does it (a `# Tools` block in the system
turn, `<tools>` JSON lines), assistant tool calls are written back as `<tool_call>` blocks and tool results
as `<tool_response>` blocks in a user turn. So any ChatML template renders them, and a Qwen checkpoint sees
exactly what it was trained on. The model's `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`
blocks are parsed into OpenAI `tool_calls` (streamed: each call is sent when its block closes)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from medgo.serve.errors import APIError

OPEN, CLOSE = "<tool_call>", "</tool_call>"
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)


def text_of(content: Any, where: str) -> str:
    """Message content as text: a string, or a list of text parts (what LangChain and other SDKs send)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise APIError(
                400,
                f"content part type {kind!r} is not supported (this model reads text parts only)",
                param=f"{where}.content[{j}].type",
                code="unsupported_content",
            )
        parts.append(part["text"])
    return "\n".join(parts)


def tools_block(tools: list[dict]) -> str:
    lines = [json.dumps(t, ensure_ascii=False) for t in tools]
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
        + "\n".join(lines)
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def check_tools(tools: list[dict] | None, tool_choice: Any) -> None:
    for i, t in enumerate(tools or []):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict) or not fn.get("name"):
            raise APIError(400, "each tool must be {type: function, function: {name, parameters}}",
                           param=f"tools[{i}]")
    if tool_choice is None or tool_choice in ("auto", "none"):
        return
    if tool_choice == "required":
        if not tools:
            raise APIError(400, "tool_choice 'required' needs tools", param="tool_choice")
        return
    name = (tool_choice.get("function") or {}).get("name") if isinstance(tool_choice, dict) else None
    if not name or name not in {t["function"]["name"] for t in tools or []}:
        raise APIError(400, f"tool_choice names no tool in `tools`: {tool_choice!r}", param="tool_choice")


def plain_messages(messages: list[dict], tools: list[dict] | None) -> list[dict[str, str]]:
    """Role/content string turns for the chat template (tool calls and results in Qwen's format)."""
    out: list[dict[str, str]] = []
    for i, m in enumerate(messages):
        role = "system" if m["role"] == "developer" else m["role"]
        text = text_of(m.get("content"), f"messages[{i}]")
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                fn = c.get("function") or {}
                args = fn.get("arguments") or "{}"
                try:
                    args_obj = json.loads(args) if isinstance(args, str) else args
                except json.JSONDecodeError:
                    args_obj = args
                call = json.dumps({"name": fn.get("name"), "arguments": args_obj}, ensure_ascii=False)
                calls.append(f"{OPEN}\n{call}\n{CLOSE}")
            text = "\n".join(([text] if text else []) + calls)
        if role == "tool":
            block = f"<tool_response>\n{text}\n</tool_response>"
            if out and out[-1].get("_tool"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_tool": "1"})
            continue
        out.append({"role": role, "content": text})
    for m in out:
        m.pop("_tool", None)
    if tools:
        block = tools_block(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + "\n\n" + block}
        else:
            out.insert(0, {"role": "system", "content": block})
    return out


def forced_constraint(tools: list[dict] | None, tool_choice: Any) -> dict | None:
    """tool_choice 'required' or a named function: decoding is constrained to one `<tool_call>` block whose
    JSON names the tool(s) and matches its parameters schema."""
    if not tools or tool_choice in (None, "auto", "none"):
        return None
    if tool_choice == "required":
        chosen = [t["function"] for t in tools]
    else:
        chosen = [t["function"] for t in tools if t["function"]["name"] == tool_choice["function"]["name"]]

    def one(fn: dict) -> dict:
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        return {
            "type": "object",
            "properties": {"name": {"const": fn["name"]}, "arguments": params},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }

    schema = one(chosen[0]) if len(chosen) == 1 else {"anyOf": [one(f) for f in chosen]}
    return {"type": "tool_call", "schema": schema}


def _call(obj: dict) -> dict | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {
            "name": obj["name"],
            "arguments": args if isinstance(args, str) else json.dumps(args, ensure_ascii=False),
        },
    }


def parse_tool_calls(text: str) -> tuple[str | None, list[dict]]:
    """(content outside the tool-call blocks or None, OpenAI tool_calls). Unparseable blocks stay content."""
    calls: list[dict] = []
    kept: list[str] = []
    last = 0
    for m in _BLOCK.finditer(text):
        try:
            call = _call(json.loads(m.group(1)))
        except json.JSONDecodeError:
            call = None
        if call is None:
            continue
        kept.append(text[last : m.start()])
        last = m.end()
        calls.append(call)
    if not calls:
        return text, []
    kept.append(text[last:])
    content = "".join(kept).strip()
    return (content or None), calls


class ToolStream:
    """Streaming: text outside tool-call blocks passes through (holding back what may begin `<tool_call>`);
    a block is sent as one tool_calls delta when it closes."""

    def __init__(self) -> None:
        self.buf = ""
        self.inside = False
        self.calls = 0

    def feed(self, text: str) -> list[tuple[str, Any]]:
        self.buf += text
        out: list[tuple[str, Any]] = []
        while True:
            if not self.inside:
                j = self.buf.find(OPEN)
                if j == -1:
                    hold = max((k for k in range(1, len(OPEN)) if self.buf.endswith(OPEN[:k])), default=0)
                    emit, self.buf = self.buf[: len(self.buf) - hold], self.buf[len(self.buf) - hold :]
                    if emit:
                        out.append(("content", emit))
                    return out
                if j:
                    out.append(("content", self.buf[:j]))
                self.buf, self.inside = self.buf[j:], True
            k = self.buf.find(CLOSE)
            if k == -1:
                return out
            block, self.buf = self.buf[: k + len(CLOSE)], self.buf[k + len(CLOSE) :]
            self.inside = False
            _, calls = parse_tool_calls(block)
            if calls:
                out.append(("tool", {"index": self.calls, **calls[0]}))
                self.calls += 1
            else:
                out.append(("content", block))

    def finish(self) -> list[tuple[str, Any]]:
        rest, self.buf = self.buf, ""
        return [("content", rest)] if rest else []
