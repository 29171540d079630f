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
      body: JSON.stringify({ messages: history, stream: true,
        temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value) }),
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

function renderAssessment(a) {
  const box = $("assessment");
  box.textContent = "";
  box.appendChild(el("h3", "诊断：" + a.diagnosis));
  const t = el("table");
  const head = el("tr");
  head.append(el("th", "鉴别诊断"), el("th", "理由"));
  t.appendChild(head);
  for (const d of a.differential) { const r = el("tr"); r.append(el("td", d.diagnosis), el("td", d.reason)); t.appendChild(r); }
  box.appendChild(t);
  box.appendChild(list("建议检查", a.next_steps.examinations));
  box.appendChild(list("治疗方向", a.next_steps.treatment));
  box.appendChild(list("危险信号", a.red_flags, "flag"));
  box.appendChild(el("p", a.disclaimer, "muted"));
  box.appendChild(el("p", `结果：${a.meta.outcome}，尝试 ${a.meta.attempts} 次`, "muted"));
}

$("case-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {};
  for (const [k, v] of new FormData(ev.target).entries()) if (String(v).trim()) body[k] = String(v).trim();
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
