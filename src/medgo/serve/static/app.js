// MedGo web client: streaming chat over /v1/chat/completions (SSE) and the clinical case form.
"use strict";
const $ = (id) => document.getElementById(id);
const history = [];
const keyInput = $("api-key");
keyInput.value = sessionStorage.getItem("medgo-key") || "";
keyInput.addEventListener("change", () => sessionStorage.setItem("medgo-key", keyInput.value));

function headers() {
  const h = { "Content-Type": "application/json" };
  if (keyInput.value) h.Authorization = "Bearer " + keyInput.value;
  return h;
}

async function errorText(resp) {
  try { return (await resp.json()).error.message; } catch (e) { return "HTTP " + resp.status; }
}

// Retrieval is asked for only when the box is ticked (the server decides when it is not shown).
function withRag(body, boxId) {
  const box = $(boxId);
  if (box && box.checked) body.rag = true;
  return body;
}

// The passages the answer was given, listed under it (text only: nothing from the server becomes HTML).
function showSources(after, sources) {
  if (!sources || !sources.length) return;
  const box = el("div", undefined, "sources");
  box.appendChild(el("span", "参考资料：", "muted"));
  const ol = el("ol");
  for (const s of sources) {
    const li = el("li", (s.title ? s.title + " " : "") + "(" + s.id + ")");
    li.title = "score " + Number(s.score).toFixed(3);
    ol.appendChild(li);
  }
  box.appendChild(ol);
  after.after(box);
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("messages").appendChild(div);
  $("messages").scrollTop = $("messages").scrollHeight;
  return div;
}

async function send(question) {
  history.push({ role: "user", content: question });
  addMessage("user", question);
  const out = addMessage("assistant", "");
  out.dataset.state = "streaming";
  $("send").disabled = true;
  let answer = "";
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(),
      body: JSON.stringify(withRag({ messages: history, stream: true,
        temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value) }, "chat-rag")),
    });
    if (!resp.ok) throw new Error(await errorText(resp));
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const line = buf.slice(0, cut).trim();
        buf = buf.slice(cut + 2);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.sources) showSources(out, chunk.sources);
        for (const c of chunk.choices) {
          if (c.delta && c.delta.content) { answer += c.delta.content; out.textContent = answer; }
        }
      }
    }
    history.push({ role: "assistant", content: answer });
    out.dataset.state = "done";
  } catch (e) {
    history.pop();
    out.className = "msg error";
    out.textContent = "错误：" + e.message;
    out.dataset.state = "error";
  } finally {
    $("send").disabled = false;
  }
}

$("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("input").value.trim();
  if (!q) return;
  $("input").value = "";
  send(q);
});
$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("chat-form").requestSubmit(); }
});
$("reset").addEventListener("click", () => { history.length = 0; $("messages").textContent = ""; });

function tab(which) {
  $("chat").hidden = which !== "chat";
  $("case-form").hidden = which !== "case";
  $("tab-chat").classList.toggle("active", which === "chat");
  $("tab-case").classList.toggle("active", which === "case");
}
$("tab-chat").addEventListener("click", () => tab("chat"));
$("tab-case").addEventListener("click", () => tab("case"));

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function list(title, items, cls) {
  const box = el("div");
  box.appendChild(el("h4", title));
  const ul = el("ul");
  for (const it of items) ul.appendChild(el("li", it, cls));
  box.appendChild(ul);
  return box;
}

// The assessment as a form the clinician can review and edit: every value goes in through .value or
// .textContent, so model output can never become markup.
function field(label, value, multiline) {
  const wrap = el("label", undefined, "field");
  wrap.appendChild(el("span", label));
  const input = el(multiline ? "textarea" : "input");
  input.value = value;
  if (multiline) input.rows = Math.max(2, value.split("\n").length);
  wrap.appendChild(input);
  return wrap;
}

function renderAssessment(a) {
  const box = $("assessment");
  box.textContent = "";
  const form = el("fieldset", undefined, "assessment-form");
  form.appendChild(el("legend", "评估结果（可编辑，供医生复核）"));
  const dx = field("诊断", a.diagnosis);
  dx.querySelector("input").name = "diagnosis";
  form.appendChild(dx);
  const t = el("table", undefined, "differential");
  const head = el("tr");
  head.append(el("th", "鉴别诊断"), el("th", "理由"));
  t.appendChild(head);
  for (const d of a.differential) {
    const r = el("tr");
    for (const v of [d.diagnosis, d.reason]) { const td = el("td"); const i = el("input"); i.value = v; td.appendChild(i); r.appendChild(td); }
    t.appendChild(r);
  }
  form.appendChild(t);
  form.appendChild(field("建议检查", a.next_steps.examinations.join("\n"), true));
  form.appendChild(field("治疗方向", a.next_steps.treatment.join("\n"), true));
  const flags = field("危险信号", a.red_flags.join("\n"), true);
  flags.classList.add("flag");
  form.appendChild(flags);
  box.appendChild(form);
  box.appendChild(el("p", a.disclaimer, "muted"));
  const how = a.meta.decoding === "constrained" ? "按结构约束解码" : "解析/修复";
  box.appendChild(el("p", `结果：${a.meta.outcome}（${how}，尝试 ${a.meta.attempts} 次）`, "muted meta"));
  if (a.meta.sources) showSources(form, a.meta.sources);
}

$("case-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {};
  for (const [k, v] of new FormData(ev.target).entries()) {
    if (k !== "rag" && String(v).trim()) body[k] = String(v).trim();
  }
  withRag(body, "case-rag");
  $("assess").disabled = true;
  $("assessment").textContent = "评估中……";
  try {
    const resp = await fetch("/v1/clinical/assess", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!resp.ok) throw new Error(await errorText(resp));
    renderAssessment(await resp.json());
  } catch (e) {
    $("assessment").textContent = "评估失败：" + e.message;
  } finally {
    $("assess").disabled = false;
  }
});

fetch("/health").then((r) => r.json()).then((h) => { $("model").textContent = "模型：" + h.model; }).catch(() => {});
