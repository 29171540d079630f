"""The web page in real headless Chromium: a message streams an answer; the case form shows an assessment."""

from __future__ import annotations

import json

import pytest
from cdp import Browser, chromium_path
from fakes import CASE, VALID, ScriptedEngine

APT = "apt-get install -y chromium chromium-driver"


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip(f"Chromium is not installed (Debian: {APT})")
    b = Browser(exe).page()
    yield b
    b.close()


def test_chat_streams_answer(browser, serve, tmp_path) -> None:
    srv = serve(api_keys=["web-key"])
    browser.goto(srv.url + "/")
    browser.wait_for("document.getElementById('model').textContent.includes('model')")
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


def test_case_form_shows_assessment(browser, serve) -> None:
    srv = serve(engine=ScriptedEngine([json.dumps(VALID, ensure_ascii=False)]))
    browser.goto(srv.url + "/")
    browser.js(f"""(() => {{
        document.getElementById('tab-case').click();
        const f = document.getElementById('case-form'); const c = {json.dumps(CASE, ensure_ascii=False)};
        for (const [k, v] of Object.entries(c)) f.elements[k].value = v;
        document.getElementById('assess').click();
    }})()""")
    browser.wait_for("document.querySelector('#assessment h3') !== null", timeout=60)
    text = browser.js("document.getElementById('assessment').innerText")
    assert VALID["diagnosis"] in text and "主动脉夹层" in text and "valid" in text
