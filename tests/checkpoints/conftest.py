"""Checkpoints laid out as Qwen releases (`medgo model init`, tiny width, the real 151k vocabulary) and the
chat templates the real checkpoints ship, read from ../shared/fixtures (never copied into the project)."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "chat-templates"
TEMPLATE_FILES = {"qwen2": "qwen2-instruct.jinja", "qwen2.5": "qwen2.5-instruct.jinja", "qwen3": "qwen3.jinja"}


def template_path(name: str) -> Path:
    p = TEMPLATES / TEMPLATE_FILES[name]
    if not p.is_file():
        pytest.skip(f"{p} is absent: the checkpoint chat templates live in ../shared/fixtures/chat-templates")
    return p


@pytest.fixture(scope="session")
def template_file():
    """template_file("qwen2" | "qwen2.5" | "qwen3") -> the path of that checkpoint family's template."""
    return template_path


@pytest.fixture(scope="session")
def qwen2_tok():
    from medgo.model.tokenizer import build_qwen2_tokenizer

    return build_qwen2_tokenizer()


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """checkpoint(like, template=None, layers=2, hidden=64) -> folder; each combination built once a session."""
    from medgo.model.checkpoint import init_checkpoint

    made: dict[tuple, Path] = {}

    def make(like: str, template: str | None = None, layers: int = 2, hidden: int = 64) -> Path:
        key = (like, template, layers, hidden)
        if key not in made:
            out = tmp_path_factory.mktemp(f"{like}-{template or 'chatml'}") / "ckpt"
            init_checkpoint(like, out, layers=layers, hidden=hidden,
                            chat_template=template_path(template) if template else None)
            made[key] = out
        return made[key]

    return make
