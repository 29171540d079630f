"""Sharded-training pieces that run in one CPU process: DPO's reference without a second copy, the rebuild of
a plain model from gathered weights (full and LoRA), the save path's choice, and the launcher presets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

from medgo.config.schema import ModelConfig, RunConfig, TinyModelConfig
from medgo.model.factory import build_tiny_qwen2
from medgo.model.tokenizer import train_bpe_tokenizer

REPO = Path(__file__).resolve().parents[2]
ROWS = [
    {"messages": [{"role": "user", "content": f"{d}吃什么药？"}], "chosen": f"在医生指导下使用{m}。", "rejected": "随便吃。"}
    for d, m in [("高血压", "氨氯地平"), ("糖尿病", "二甲双胍"), ("胃炎", "奥美拉唑"), ("哮喘", "沙丁胺醇")]
]


def _setup(finetuning: str = "full"):
    tok = train_bpe_tokenizer([r["chosen"] + r["messages"][0]["content"] for r in ROWS] * 20, vocab_size=320)
    mc = ModelConfig(tiny=TinyModelConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                          num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128),
                     finetuning=finetuning)
    cfg = RunConfig(name="t", model=mc)
    cfg.preference.max_steps, cfg.preference.per_device_batch_size = 3, 2
    cfg.preference.learning_rate, cfg.preference.logging_steps = 1e-2, 1
    return tok, mc, cfg


@pytest.mark.parametrize("algorithm", ["dpo"])  # KTO takes the same path (TRL KTOTrainer, ref_logps)
def test_full_tuning_reference_is_precomputed_not_copied(tmp_path: Path, algorithm: str) -> None:
    """The same losses as the deep-copied frozen reference medgo used to build, with one model in memory."""
    import copy

    from medgo.train.preference import _algorithm_kwargs, _classes, build_trainer, to_kto_rows, to_trl_rows

    tok, mc, cfg = _setup()
    cfg.preference.algorithm = algorithm
    trainer = build_trainer(cfg, build_tiny_qwen2(mc, tok, seed=0), tok, ROWS, tmp_path / "new")
    assert trainer.ref_model is None and trainer.args.precompute_ref_log_probs
    assert {"ref_chosen_logps", "ref_logps"} & set(trainer.train_dataset.column_names)
    trainer.train()
    new = [h["loss"] for h in trainer.state.log_history if "loss" in h]

    from datasets import Dataset

    from medgo.train.common import make_args

    model = build_tiny_qwen2(mc, tok, seed=0)
    config_cls, trainer_cls = _classes(algorithm)
    data = to_kto_rows(ROWS) if algorithm == "kto" else to_trl_rows(ROWS)
    old = trainer_cls(model=model, ref_model=copy.deepcopy(model).eval(), processing_class=tok,
                      args=make_args(config_cls, cfg.preference, tmp_path / "old", cfg.seed,
                                     **_algorithm_kwargs(cfg.preference)),
                      train_dataset=Dataset.from_list(data))
    old.train()
    ref = [h["loss"] for h in old.state.log_history if "loss" in h]
    assert len(new) == len(ref) == 3 and all(abs(a - b) < 1e-4 for a, b in zip(new, ref, strict=True)), (new, ref)


@pytest.mark.parametrize("finetuning", ["full", "lora"])
def test_materialize_rebuilds_a_plain_model_from_gathered_weights(finetuning: str, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from medgo.train.common import maybe_lora, save_final
    from medgo.train.distributed import materialize

    tok, mc, cfg = _setup(finetuning)
    model = maybe_lora(cfg, build_tiny_qwen2(mc, tok, seed=0))
    for n, p in model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)
    model.eval()
    x = torch.tensor([tok.encode("高血压吃什么药", add_special_tokens=False)])
    with torch.no_grad():
        expected = model(input_ids=x).logits
    gathered = {k: v.clone() for k, v in model.state_dict().items()}  # what rank 0 receives from the gather
    plain = materialize(model, gathered)
    assert plain is not model
    out = save_final(plain, tok, tmp_path)
    with torch.no_grad():
        assert torch.allclose(AutoModelForCausalLM.from_pretrained(str(out))(input_ids=x).logits, expected, atol=1e-5)


def test_model_for_save_gathers_only_when_sharded(monkeypatch) -> None:
    from medgo.train import distributed as d

    model = torch.nn.Linear(2, 2)
    ddp = SimpleNamespace(model=model, accelerator=SimpleNamespace(distributed_type="DistributedType.MULTI_GPU"))
    assert d.model_for_save(ddp) is model and not d.sharded(ddp)
    calls = []
    acc = SimpleNamespace(distributed_type="DistributedType.FSDP", unwrap_model=lambda m: m,
                          get_state_dict=lambda m: calls.append(m) or {"weight": m.weight})
    monkeypatch.setattr(d, "materialize", lambda m, sd: ("plain", sorted(sd)))
    rank0 = SimpleNamespace(model=model, accelerator=acc, is_world_process_zero=lambda: True)
    rank1 = SimpleNamespace(model=model, accelerator=acc, is_world_process_zero=lambda: False)
    assert d.model_for_save(rank0) == ("plain", ["weight"]) and d.model_for_save(rank1) is None
    assert len(calls) == 2  # every rank joins the gather (a collective), not only rank 0
    zero3 = SimpleNamespace(distributed_type="DistributedType.DEEPSPEED",
                            deepspeed_config={"zero_optimization": {"stage": 3}})
    zero2 = SimpleNamespace(distributed_type="DistributedType.DEEPSPEED",
                            deepspeed_config={"zero_optimization": {"stage": 2}})
    assert d.sharded(SimpleNamespace(accelerator=zero3)) and not d.sharded(SimpleNamespace(accelerator=zero2))
    engine = SimpleNamespace(weight=torch.zeros(1))
    zero3.unwrap_model, zero3.get_state_dict = (lambda m: m), (lambda m: calls.append(m) or {"weight": m.weight})
    ds = SimpleNamespace(model=model, deepspeed=engine, accelerator=zero3, is_world_process_zero=lambda: True)
    assert d.model_for_save(ds) == ("plain", ["weight"]) and calls[-1] is engine  # ZeRO-3 gathers via the engine


def test_zero_stage_of_the_shipped_deepspeed_files() -> None:
    from medgo.train.distributed import zero_stage

    assert zero_stage(REPO / "configs/deepspeed/zero2.json") == 2
    assert zero_stage(REPO / "configs/deepspeed/zero3.json") == zero_stage(REPO / "configs/deepspeed/zero3_offload.json") == 3
    assert zero_stage(None) == 0


def test_accelerate_presets_set_activation_checkpointing_once_and_launch_the_same_way_on_every_node() -> None:
    """transformers refuses FSDP's activation_checkpointing together with TrainingArguments' gradient
    checkpointing; the stage's `gradient_checkpointing` is the one switch. Multi-node DeepSpeed uses accelerate's
    `standard` launcher (torchrun on each node), so the same command runs on every node; pdsh would launch
    all nodes from node 0 and needs a hostfile."""
    for f in (REPO / "configs/accelerate").glob("*.yaml"):
        c = yaml.safe_load(f.read_text())
        assert not (c.get("fsdp_config") or {}).get("fsdp_activation_checkpointing"), f
        if c.get("num_machines", 1) > 1:
            assert c["deepspeed_config"]["deepspeed_multinode_launcher"] == "standard", f
            assert c["rdzv_backend"] == "static" and c["same_network"] is True, f


def test_prepare_loading_before_the_model(monkeypatch, tmp_path: Path) -> None:
    """ZeRO-3: the stage's TrainingArguments (and so transformers' live DeepSpeed config, which makes
    from_pretrained build under zero.Init) exist before the model is loaded; QLoRA: rank r selects cuda:r,
    where bitsandbytes puts the 4-bit weights (torch.cuda.current_device())."""
    import medgo.train.common as common
    from medgo.train import distributed as d

    made = []
    monkeypatch.setattr(common, "make_args", lambda cls, t, out, seed: made.append((cls.__name__, t.deepspeed)) or "args")
    _, _, cfg = _setup()
    cfg.sft.deepspeed = str(REPO / "configs/deepspeed/zero3_offload.json")
    assert d.prepare_loading(cfg.sft, tmp_path, 0) == "args" and made == [("TrainingArguments", cfg.sft.deepspeed)]
    cfg.sft.deepspeed = str(REPO / "configs/deepspeed/zero2.json")
    assert d.prepare_loading(cfg.sft, tmp_path, 0) is None and len(made) == 1  # ZeRO-2: every rank loads whole

    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "3")
    d.prepare_loading(cfg.sft, tmp_path, 0, quantized=True)
    assert chosen == [3]


def test_dequantized_merge_reloads_the_base_and_merges_the_adapter(tmp_path: Path) -> None:
    """The QLoRA export path on a LoRA model (bitsandbytes 4-bit needs CUDA): the base reloaded from its folder
    unquantized, the trained adapter set on it and merged, equals PEFT's own merge; the result is a plain model."""
    from transformers import AutoModelForCausalLM

    from medgo.train.common import maybe_lora
    from medgo.train.distributed import dequantized_merge, is_4bit

    tok, mc, cfg = _setup("lora")
    build_tiny_qwen2(mc, tok, seed=0).save_pretrained(tmp_path / "base")
    model = maybe_lora(cfg, AutoModelForCausalLM.from_pretrained(str(tmp_path / "base")))
    for n, p in model.named_parameters():
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.5)
    model.eval()
    x = torch.tensor([tok.encode("糖尿病吃什么药", add_special_tokens=False)])
    with torch.no_grad():
        expected = model(input_ids=x).logits
    assert not is_4bit(model)
    merged = dequantized_merge(model, dtype=torch.float32)
    assert not hasattr(merged, "peft_config") and getattr(merged.config, "quantization_config", None) is None
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=x).logits, expected, atol=1e-5)
