"""Real clients against `medgo serve`: LangChain's ChatOpenAI (structured output, streaming, tool binding) and
lm-evaluation-harness's local-completions running a log-likelihood multiple-choice task, whose accuracy equals
medgo's in-process exam scoring on the same model and items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from medgo.eval.suites.exams import MCQ, continuations, loglik_choice, prompt
from medgo.inference.hf import HFEngine


class Assessment(BaseModel):
    diagnosis: str = Field(max_length=12)
    urgent: bool


def lookup_drug(drug: str, dose_mg: int) -> str:
    """查询药品剂量"""
    return f"{drug} {dose_mg}mg"


def test_langchain_chat_openai(serve) -> None:
    lc = pytest.importorskip("langchain_openai", reason="langchain-openai not installed")
    srv = serve(long=True)
    llm = lc.ChatOpenAI(base_url=srv.url + "/v1", api_key="x", model="m", max_tokens=120, temperature=0,
                        max_retries=0, timeout=120)
    got = llm.with_structured_output(Assessment, method="json_schema", strict=True).invoke("胸痛三天，请评估")
    assert isinstance(got, Assessment)
    whole = llm.invoke("高血压吃什么药？").content
    streamed = "".join(chunk.content for chunk in llm.stream("高血压吃什么药？"))
    assert streamed == whole
    msg = llm.bind_tools([lookup_drug], tool_choice="lookup_drug").invoke("二甲双胍的剂量？")
    assert msg.tool_calls and msg.tool_calls[0]["name"] == "lookup_drug"
    assert set(msg.tool_calls[0]["args"]) == {"drug", "dose_mg"} and isinstance(msg.tool_calls[0]["args"]["dose_mg"], int)


QUESTIONS = [
    ("高血压患者首选的饮食是？", ["低盐饮食", "高糖饮食", "高脂饮食", "生冷饮食"], "A"),
    ("2型糖尿病一线用药是？", ["胰岛素", "二甲双胍", "阿司匹林", "青霉素"], "B"),
    ("社区获得性肺炎的典型表现是？", ["皮疹", "关节痛", "发热咳嗽咳痰", "视物模糊"], "C"),
    ("急性心肌梗死最有诊断价值的检查是？", ["血常规", "尿常规", "胸片", "肌钙蛋白"], "D"),
    ("冠心病胸痛的特点是？", ["活动后加重", "进食后缓解", "按压加重", "持续数天"], "A"),
    ("肺炎建议的影像检查是？", ["头颅MRI", "胸部CT", "腹部B超", "骨扫描"], "B"),
    ("主动脉夹层的典型症状是？", ["咳嗽", "腹泻", "撕裂样胸痛", "头晕"], "C"),
    ("糖尿病需要监测的指标是？", ["血钾", "肌酐", "尿酸", "糖化血红蛋白"], "D"),
    ("高血压患者应规律服用？", ["降压药物", "抗生素", "止咳药", "维生素"], "A"),
    ("发热伴咳嗽首先考虑？", ["胃炎", "肺炎", "肾炎", "肝炎"], "B"),
    ("肺栓塞常见的表现是？", ["皮肤瘙痒", "多尿", "呼吸困难", "便秘"], "C"),
    ("心肌梗死的危险信号是？", ["食欲好", "睡眠好", "精神好", "持续胸痛"], "D"),
]


def test_lm_eval_local_completions_equals_in_process_exam_scoring(serve, tiny_model: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness not installed (pip install lm-eval)")
    for k, v in {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf"),
                 "OPENAI_API_KEY": "x"}.items():
        monkeypatch.setenv(k, v)
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    qs = [MCQ(id=f"q{i}", question=q, options=dict(zip("ABCD", opts, strict=True)), answer=frozenset(a))
          for i, (q, opts, a) in enumerate(QUESTIONS)]
    engine = HFEngine.from_path(tiny_model)
    prompts = [prompt(q, []) for q in qs]
    mine = loglik_choice(engine, prompts, qs, "chat")["loglik"]
    medgo_acc = sum(frozenset(p) == q.answer for p, q in zip(mine, qs, strict=True)) / len(qs)

    rows = [{"prompt": engine.render(p), "choices": list(continuations(q, "chat").values()),
             "gold": "ABCD".index(next(iter(q.answer)))} for p, q in zip(prompts, qs, strict=True)]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "medgo_mc.yaml").write_text(json.dumps({
        "task": "medgo_mc", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test", "output_type": "multiple_choice", "doc_to_text": "{{prompt}}",
        "doc_to_choice": "choices", "doc_to_target": "gold", "target_delimiter": "",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }, ensure_ascii=False), encoding="utf-8")
    srv = serve()
    res = simple_evaluate(
        model="local-completions",
        model_args={"base_url": srv.url + "/v1/completions", "model": "m", "tokenizer": str(tiny_model),
                    "tokenizer_backend": "huggingface", "tokenized_requests": True, "num_concurrent": 1,
                    "max_retries": 1, "max_length": 512},
        tasks=["medgo_mc"], task_manager=TaskManager(include_path=str(tasks)), bootstrap_iters=0, log_samples=True)
    lm_acc = res["results"]["medgo_mc"]["acc,none"]
    assert lm_acc == pytest.approx(medgo_acc)
    # item for item: lm-eval's chosen option is medgo's
    theirs = {s["doc_id"]: "ABCD"[max(range(4), key=[r[0] for r in s["filtered_resps"]].__getitem__)]
              for s in res["samples"]["medgo_mc"]}
    assert [theirs[i] for i in range(len(qs))] == mine
