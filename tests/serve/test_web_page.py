"""The web page in real headless Chromium: a message streams an answer; the case form shows an assessment."""

from __future__ import annotations

import json

from fakes import CASE, VALID, ScriptedEngine


def test_chat_streams_answer(browser, serve, tmp_path) -> None:
    srv = serve(api_keys=["web-key"])
    browser.goto(srv.url + "/")
    browser.wait_for("document.getElementById('model').textContent.includes('模型：')")
    browser.js("""(() => {
        const k = document.getElementById('api-key'); k.value = 'web-key';
        k.dispatchEvent(new Event('change'));
        document.getElementById('max-tokens').value = '40';
        window.__updates = 0;
        new MutationObserver(() => window.__updates++).observe(document.getElementById('messages'),
            {subtree: true, childList: true, characterData: true});
        document.getElementById('input').value = '胸痛三天，怎么办？';
        document.getElementById('send').click();
    })()""")
    browser.wait_for(
        "document.querySelector('.msg.assistant, .msg.error')?.dataset.state === 'done' || "
        "document.querySelector('.msg.error') !== null",
        timeout=90,
    )
    assert browser.js("document.querySelector('.msg.error')") is None, browser.js("document.body.innerText")
    answer = browser.js("document.querySelector('.msg.assistant').textContent")
    assert answer.strip()
    assert browser.js("window.__updates") > 3  # the answer arrived in pieces, not at once
    assert browser.js("document.querySelector('.msg.user').textContent") == "胸痛三天，怎么办？"
    browser.screenshot(tmp_path / "chat.png")
    # A wrong key shows the server's message instead of an answer.
    browser.js("""(() => { const k = document.getElementById('api-key'); k.value = 'nope';
        document.getElementById('input').value = '再问一次'; document.getElementById('send').click(); })()""")
    browser.wait_for("document.querySelector('.msg.error') !== null")
    assert "invalid API key" in browser.js("document.querySelector('.msg.error').textContent")


ASSESSMENT_FORM = """(() => {
    const f = document.querySelector('#assessment fieldset');
    return {dx: f.querySelector('input[name=diagnosis]').value,
            diff: [...f.querySelectorAll('table.differential tr')].slice(1)
                  .map(r => [...r.querySelectorAll('input')].map(i => i.value)),
            areas: [...f.querySelectorAll('textarea')].map(t => t.value),
            meta: document.querySelector('#assessment .meta').textContent,
            injected: document.querySelectorAll('#assessment img, #assessment script').length};
})()"""


def fill_case(browser, case: dict, rag: bool = False) -> None:
    browser.js(f"""(() => {{
        document.getElementById('tab-case').click();
        const f = document.getElementById('case-form'); const c = {json.dumps(case, ensure_ascii=False)};
        for (const [k, v] of Object.entries(c)) f.elements[k].value = v;
        document.getElementById('case-rag').checked = {json.dumps(rag)};
        document.getElementById('assess').click();
    }})()""")
    browser.wait_for("document.querySelector('#assessment fieldset') !== null", timeout=120)


def test_case_form_renders_the_assessment_as_a_sanitised_form(browser, serve) -> None:
    evil = '<img src=x onerror="window.__pwned=1">肺炎'
    answer = {**VALID, "diagnosis": evil}
    srv = serve(engine=ScriptedEngine([json.dumps(answer, ensure_ascii=False)]))
    browser.goto(srv.url + "/")
    fill_case(browser, CASE)
    got = browser.js(ASSESSMENT_FORM)
    assert got["dx"] == evil and got["injected"] == 0 and not browser.js("window.__pwned")
    assert got["diff"] == [[d["diagnosis"], d["reason"]] for d in VALID["differential"]]
    assert got["areas"] == ["\n".join(VALID["next_steps"]["examinations"]),
                            "\n".join(VALID["next_steps"]["treatment"]), "\n".join(VALID["red_flags"])]
    assert "valid" in got["meta"] and "解析" in got["meta"]  # a scripted engine: the parse/repair path


def test_rag_sources_under_answers_and_constrained_assessment(browser, serve, tmp_path) -> None:
    from medgo.retrieval import build_index

    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"id": "p-dm", "title": "糖尿病", "text": "2型糖尿病一线用药为二甲双胍。"},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    build_index([src], tmp_path / "index")
    srv = serve(long=True, index_dir=tmp_path / "index")
    browser.goto(srv.url + "/")
    browser.js("""(() => {
        document.getElementById('tab-chat').click();
        document.getElementById('max-tokens').value = '8';
        document.getElementById('chat-rag').checked = true;
        document.getElementById('input').value = '糖尿病吃什么药？';
        document.getElementById('send').click();
    })()""")
    browser.wait_for("document.querySelector('.msg.assistant')?.dataset.state === 'done'", timeout=90)
    assert "糖尿病 (p-dm)" in browser.js("document.querySelector('.msg.assistant + .sources').innerText")
    fill_case(browser, {"chief_complaint": "多饮多尿，糖尿病？"}, rag=True)
    got = browser.js(ASSESSMENT_FORM)
    assert got["dx"] and "按结构约束解码" in got["meta"]  # the tiny model, decoded under the schema
    assert "p-dm" in browser.js("document.querySelector('#assessment .sources').innerText")
