"""medgo's exam scorer against lm-evaluation-harness on the same tiny model and items: under `published`,
lm-eval's own cmmlu_<subject> tasks (5-shot, pointed at ../shared/data's CMMLU CSVs) give the same prompt,
the same option log-likelihoods and the same acc / acc_norm / acc_bytes choice on every item; under `chat`,
lm-eval's HF backend scores the same requests the same. Skips without lm-eval or the shared data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from medgo.eval.suites.exams import ExamSpec, build_prompts, continuations, loglik_choice, select_questions
from medgo.eval.suites.exams_protocols import CMMLU_MEDICAL
from medgo.inference.hf import HFEngine
from medgo_testkit import save_tiny_model

lm_eval = pytest.importorskip("lm_eval", reason="lm-evaluation-harness not installed (pip install lm-eval)")
from .lmeval.cmmlu_local import write_cmmlu_tasks  # noqa: E402

PER_SUBJECT = 12  # 9 subjects x 12 = 108 questions, 432 option requests


@pytest.fixture(scope="module")
def cmmlu(shared_data: Path) -> Path:
    root = shared_data / "corpora" / "CMMLU" / "data"
    if not (root / "dev").is_dir():
        pytest.skip(f"CMMLU not found under {root}")
    return root


@pytest.fixture(scope="module")
def model(cmmlu: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = []
    for s in CMMLU_MEDICAL:
        for split in ("dev", "test"):
            with (cmmlu / split / f"{s}.csv").open(encoding="utf-8-sig") as f:
                texts += [" ".join(r[k] for k in ("Question", "A", "B", "C", "D")) for r in csv.DictReader(f)]
    return save_tiny_model(tmp_path_factory.mktemp("lmeval-model"), texts + ["答案： A B C D"] * 5, vocab_size=2000,
                           seed=7, max_position_embeddings=4096)


@pytest.fixture(scope="module")
def items(shared_data: Path):
    spec = ExamSpec(tasks=["cmmlu-medical"], data_dir=shared_data, protocol="published")
    qs = [q for q in select_questions("cmmlu-medical", spec)[0] if int(q.id.rsplit("-", 1)[1]) < PER_SUBJECT]
    return spec, qs


def _hflm(model: Path):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(model), device="cpu", dtype="float32", batch_size=8)


def test_published_cmmlu_equals_lm_eval_item_for_item(model: Path, cmmlu: Path, items, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf")}.items():
        monkeypatch.setenv(k, v)
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    names = write_cmmlu_tasks(cmmlu, list(CMMLU_MEDICAL), tmp_path / "tasks")
    res = simple_evaluate(model=_hflm(model), tasks=names, num_fewshot=5, limit=PER_SUBJECT, log_samples=True,
                          task_manager=TaskManager(include_path=str(tmp_path / "tasks")), bootstrap_iters=0)
    spec, qs = items
    prompts, k = build_prompts("cmmlu-medical", qs, spec)
    assert k == 5
    got = loglik_choice(HFEngine.from_path(model, batch_size=8), prompts, qs, "published")
    by_id = {q.id: i for i, q in enumerate(qs)}
    n = 0
    for name, subj in zip(names, CMMLU_MEDICAL, strict=True):
        for s in res["samples"][name]:
            i = by_id[f"cmmlu-{subj}-test-{s['doc_id']}"]
            ctx = s["arguments"][0][0] if isinstance(s["arguments"], list) else s["arguments"]["gen_args_0"]["arg_0"]
            assert ctx == prompts[i]  # the same prompt, character for character
            lls = [r[0] for r in s["filtered_resps"]]
            assert got["scores"][i] == pytest.approx(lls, abs=2e-4)
            gold = qs[i].answer
            for tag, metric in (("loglik", "acc"), ("loglik_norm", "acc_norm"), ("loglik_bytes", "acc_bytes")):
                assert (frozenset(got[tag][i]) == gold) == bool(s[metric]), (qs[i].id, tag)
            assert "ABCD"[max(range(4), key=lls.__getitem__)] == got["loglik"][i]
            n += 1
    assert n == len(qs) == 9 * PER_SUBJECT


def test_chat_protocol_equals_lm_eval_hf_backend(model: Path, items) -> None:
    from lm_eval.api.instance import Instance

    spec, qs = items
    qs = qs[::3]  # 36 questions, 144 requests
    cspec = ExamSpec(tasks=["cmmlu-medical"], data_dir=spec.data_dir, protocol="chat", shots=1)
    prompts, _ = build_prompts("cmmlu-medical", qs, cspec)
    engine = HFEngine.from_path(model, batch_size=8)
    got = loglik_choice(engine, prompts, qs, "chat")
    reqs = [Instance("loglikelihood", {}, (engine.render(p), c), j)
            for j, (p, q) in enumerate(zip(prompts, qs, strict=True)) for c in continuations(q, "chat").values()]
    lls = [ll for ll, _ in _hflm(model).loglikelihood(reqs, disable_tqdm=True)]
    for i, q in enumerate(qs):
        mine, theirs = got["scores"][i], lls[4 * i : 4 * i + 4]
        # lm-eval moves the context's trailing whitespace (the chat template's "assistant\n") into the
        # continuation, so each of its numbers also holds log p("\n" | ...assistant), the same for every option
        # of a question; medgo does not score the template's own newline. Per option: the same up to that term.
        offset = theirs[0] - mine[0]
        assert offset < 0 and [t - offset for t in theirs] == pytest.approx(mine, abs=2e-4)
        assert got["loglik"][i] == "ABCD"[max(range(4), key=theirs.__getitem__)]  # acc: the same choice
        chars = [len(c) for c in continuations(q, "chat").values()]
        mine_norm = [(t - offset) / c for t, c in zip(theirs, chars, strict=True)]
        assert got["loglik_norm"][i] == "ABCD"[max(range(4), key=mine_norm.__getitem__)]
