"""Pydantic models of the run YAML: one model per stage, unknown keys rejected."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medgo.config.data_prep import DataPrepOptions


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    """Inputs of the `data` stage. Relative paths are resolved against the config file's folder."""

    corpus: list[str] = Field(default_factory=list, description="pre-training text: JSONL {id,text,source} or .txt")
    sft: list[str] = Field(default_factory=list, description="SFT JSONL {id, messages:[{role,content}], source}")
    preference: list[str] = Field(default_factory=list, description="JSONL {id, messages|prompt, chosen, rejected}")
    eval_cls: str | None = Field(None, description="labelled classification eval set JSONL {id, task, text, label}")
    heldout_fraction: float = Field(0.05, gt=0, lt=0.5, description="share of corpus documents kept for perplexity")
    sft_eval_fraction: float = Field(0.0, ge=0, lt=0.5)
    preference_eval_fraction: float = Field(
        0.1, ge=0, lt=0.5, description="share of preference pairs held out for the eval stage's preference accuracy"
    )
    min_chars: int = Field(1, ge=1, description="documents shorter than this are rejected")
    prepare: DataPrepOptions | None = Field(
        None,
        description="clean → filter → dedup → de-identify → contamination check of data.corpus before training; "
        "keys as in `medgo data prepare` (filters, dedup, deid, contamination, mix), validated on load",
    )


class TokenizerConfig(Section):
    type: Literal["bpe", "qwen2", "pretrained"] = Field(
        "bpe", description="bpe: train byte-level BPE on the corpus; qwen2: genuine Qwen2 BPE; pretrained: model.base's"
    )
    vocab_size: int = Field(8000, ge=300, description="bpe only: vocabulary size including special tokens")
    min_frequency: int = Field(2, ge=1)
    path: str | None = Field(None, description="pretrained: tokenizer folder or hub id (default model.base)")


class TinyModelConfig(Section):
    """A Qwen2ForCausalLM built from scratch (used when model.base is empty)."""

    hidden_size: int = Field(128, ge=8)
    intermediate_size: int = Field(352, ge=8)
    num_hidden_layers: int = Field(2, ge=1)
    num_attention_heads: int = Field(4, ge=1)
    num_key_value_heads: int = Field(2, ge=1)
    max_position_embeddings: int = Field(1024, ge=16)
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True


class LoraConfig(Section):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class ModelConfig(Section):
    base: str | None = Field(None, description="local path or hub id of a causal LM; empty: build model.tiny")
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig)
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    attn_implementation: str | None = Field(None, description="e.g. sdpa, flash_attention_2, eager")
    trust_remote_code: bool = False
    finetuning: Literal["full", "freeze", "lora", "qlora"] = Field(
        "full", description="full: all weights; freeze: last N layers; lora; qlora: 4-bit base + LoRA (CUDA only)"
    )
    freeze_trainable_layers: int = Field(2, ge=1, description="freeze only: how many last decoder layers train")
    freeze_extra_modules: list[str] = Field(
        default_factory=list, description="freeze only: also train these modules, e.g. [embed_tokens, norm]"
    )
    lora: LoraConfig = Field(default_factory=LoraConfig)


class TrainConfig(Section):
    """Settings shared by every training stage (mapped onto transformers/TRL TrainingArguments)."""

    enabled: bool = True
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    learning_rate: float = Field(1e-4, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    per_device_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    logging_steps: int = Field(10, ge=1)
    save_steps: int = Field(50, ge=1, description="checkpoint every N steps (what a killed stage resumes from)")
    save_total_limit: int = Field(2, ge=1)
    gradient_checkpointing: bool = False
    bf16: bool = False
    deepspeed: str | None = Field(None, description="DeepSpeed JSON config path (GPU recipes)")
    num_processes: int = Field(1, ge=1, description="> 1 launches through accelerate")
    accelerate_config: str | None = None


class PretrainConfig(TrainConfig):
    block_size: int = Field(256, ge=8, description="packed block length; documents are joined with EOS")
    packing: Literal["document", "concat"] = Field(
        "document",
        description="document: attention stays inside each document (position ids restart per document); "
        "concat: plain concatenation, tokens attend across document boundaries",
    )
    streaming: bool = Field(
        False, description="read and pack the corpus on the fly (corpora larger than memory); needs max_steps > 0"
    )
    shuffle_buffer: int = Field(1000, ge=1, description="streaming only: blocks shuffled within this buffer")
    learning_rate: float = Field(1e-3, gt=0)


class SFTConfig(TrainConfig):
    max_length: int = Field(512, ge=8)
    assistant_only_loss: bool = Field(True, description="loss on assistant tokens only (prompt labels are -100)")
    packing: bool = Field(
        False, description="pack conversations padding-free into max_length rows; attention stays inside each one"
    )
    fused_loss: bool | None = Field(
        None, description="TRL's chunked LM-head loss (saves GPU memory); default: on with CUDA, off on CPU"
    )
    padding_free: bool | None = Field(
        None,
        description="unpacked batches: lay each batch's conversations head to tail in rows instead of padding "
        "them (same batches, same loss); default: on on CPU, TRL's collator on GPU; false: pad",
    )
    learning_rate: float = Field(5e-4, gt=0)


class PreferenceConfig(TrainConfig):
    algorithm: Literal["dpo", "ipo", "simpo", "orpo", "kto"] = Field(
        "dpo", description="dpo/ipo: TRL DPOTrainer; kto: TRL KTOTrainer; simpo/orpo: TRL experimental CPO/ORPO"
    )
    loss_type: str = Field("sigmoid", description="dpo only: TRL DPO loss (sigmoid, hinge, robust, ...)")
    beta: float = Field(0.1, gt=0)
    simpo_gamma: float = Field(0.5, ge=0, description="simpo only: target reward margin")
    max_length: int = Field(512, ge=8)
    learning_rate: float = Field(5e-5, gt=0)


class ClassificationEvalConfig(Section):
    enabled: bool = True
    template: str = Field(..., description="prompt with a {text} placeholder; the label is the expected answer")
    labels: list[str] = Field(..., min_length=2)
    max_examples: int = Field(0, ge=0, description="0 = all")
    methods: list[Literal["loglik", "generate"]] = Field(default_factory=lambda: ["loglik", "generate"])

    @field_validator("template")
    @classmethod
    def _has_text(cls, v: str) -> str:
        if "{text}" not in v:
            raise ValueError("template must contain the placeholder {text}")
        return v


class CblueEvalConfig(Section):
    """The CBLUE harness inside the eval stage (same code as `medgo eval run --suite cblue`)."""

    enabled: bool = True
    tasks: list[str] = Field(default_factory=lambda: ["KUAKE-QIC", "CHIP-STS", "KUAKE-QQR", "CHIP-CTC", "CMeEE-V2"])
    split: str = "dev"
    limit: int = Field(0, ge=0, description="examples per task (0 = all)")
    subset_sizes: dict[str, int] = Field(
        default_factory=dict,
        description="task -> size of a fixed seeded sample of its split (written under eval/subsets/ and scored "
        "instead of the first `limit` rows); tasks not named here use `limit`",
    )
    subset_seed: int = 0
    data_dir: str | None = Field(
        None, description="folder laid out like ../shared/data; default $MEDGO_DATA, else the bundled samples"
    )
    methods: list[Literal["generate", "loglik"]] = Field(default_factory=lambda: ["generate", "loglik"])
    task_methods: dict[str, list[Literal["generate", "loglik"]]] = Field(
        default_factory=dict, description="per-task override of `methods` (e.g. generation only where ranking "
        "every label is too costly: CHIP-CTC has 44)"
    )
    convention: Literal["cblue", "promptcblue"] = "cblue"
    models: list[Literal["init", "pretrain", "sft", "preference"]] = Field(
        default_factory=lambda: ["pretrain", "sft", "preference"]
    )


class ClinicalQAEvalConfig(Section):
    """Reference-based ClinicalQA scoring (ROUGE-L, BLEU, rubric, must-not-say) inside the eval stage."""

    enabled: bool = True
    sets: list[str] = Field(default_factory=lambda: ["sample"], description="sample, cmd, cmb-clin, pulse-..., or a file")
    limit: int = Field(0, ge=0, description="cases per set (0 = all)")
    max_new_tokens: int = Field(128, ge=8)
    data_dir: str | None = Field(None, description="default $MEDGO_DATA, else the bundled sample set only")
    models: list[Literal["init", "pretrain", "sft", "preference"]] = Field(
        default_factory=lambda: ["pretrain", "sft", "preference"]
    )
    pairwise_model: Literal["pretrain", "sft", "preference"] | None = Field(
        None, description="judge this stage's answers against pairwise_baseline's, in both orders"
    )
    pairwise_baseline: Literal["init", "pretrain", "sft", "preference"] = "pretrain"
    pairwise_vs_previous: bool = Field(
        False, description="judge every evaluated stage against the one before it (replaces pairwise_model)"
    )
    judge_url: str | None = Field(None, description="OpenAI-compatible judge; None: pairwise_model judges itself")
    judge_model: str | None = None
    judge_attempts: int = Field(3, ge=1, le=5)
    judge_max_new_tokens: int = Field(256, ge=16)


class ExamsEvalConfig(Section):
    """Multiple-choice exams inside the eval stage: CMMLU medical (cmmlu-medical) and general (cmmlu-general: its
    58 non-medical subjects, general ability kept or lost), CNMLEQA, MedQA-MCMLE, MedQA-USMLE (English), CMB-Exam."""

    enabled: bool = True
    tasks: list[str] = Field(default_factory=lambda: ["cmmlu-medical", "cmmlu-general", "cnmleqa", "medqa-usmle"])
    limit: int = Field(0, ge=0, description="questions per exam (0 = all)")
    methods: list[Literal["loglik", "generate"]] = Field(default_factory=lambda: ["loglik"])
    protocol: Literal["published", "chat"] = Field(
        "published", description="published = each benchmark's own prompt, answer-letter scoring and k-shot "
        "(CMMLU 5-shot from dev); chat = medgo's chat-template prompt scoring 'X. option<|im_end|>'")
    shots: int | None = Field(None, ge=0, description="few-shot examples (default: the protocol's own)")
    full: bool = Field(False, description="cmmlu-general: every question instead of the seeded subset")
    general_per_subject: int = Field(8, ge=1, description="cmmlu-general's seeded subset: questions per subject")
    data_dir: str | None = Field(None, description="default $MEDGO_DATA, else the bundled samples")
    models: list[Literal["init", "pretrain", "sft", "preference"]] = Field(
        default_factory=lambda: ["pretrain", "sft", "preference"]
    )


class EvalConfig(Section):
    enabled: bool = True
    models: list[Literal["init", "pretrain", "sft", "preference"]] = Field(
        default_factory=lambda: ["init", "pretrain", "sft", "preference"],
        description="which stage's model to evaluate (init = the untrained starting model)",
    )
    perplexity: bool = True
    preference_accuracy: bool = Field(True, description="held-out pairs where the model prefers chosen (per token)")
    perplexity_block_size: int = Field(256, ge=8)
    max_heldout_docs: int = Field(0, ge=0, description="0 = all held-out documents")
    batch_size: int = Field(8, ge=1)
    backend: Literal["hf", "vllm", "openai"] = Field(
        "hf", description="engine of the suites (classification, cblue, clinicalqa, exams): hf = in-process "
        "transformers; vllm = offline vLLM on each stage's model folder; openai = the endpoint eval.base_url serving "
        "each stage's model as eval.served_model. Perplexity and preference accuracy always use transformers (logits)")
    base_url: str | None = Field(None, description="openai backend: the endpoint, e.g. http://127.0.0.1:8000/v1")
    served_model: str = Field("{stage}", description="openai backend: model name per stage ({stage} is replaced)")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai backend: environment variable holding the key")
    regressions: Literal["off", "warn", "fail"] = Field(
        "warn", description="a metric that is worse than the stage before, beyond its bootstrap 95% interval: "
        "flag it in the report (warn) or also stop the run (fail)")
    classification: ClassificationEvalConfig | None = None
    cblue: CblueEvalConfig | None = None
    clinicalqa: ClinicalQAEvalConfig | None = None
    exams: ExamsEvalConfig | None = None

    @field_validator("regressions", mode="before")
    @classmethod
    def _yaml_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML 1.1 reads a bare `off` as false


class ReportConfig(Section):
    enabled: bool = True
    title: str = "medgo run report"


class RunConfig(Section):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="run name: output goes to runs/<name>/")
    seed: int = 42
    output_dir: str = Field("runs", description="parent folder of the run directory")
    data: DataConfig = Field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    sft: SFTConfig = Field(default_factory=SFTConfig)
    preference: PreferenceConfig = Field(default_factory=PreferenceConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
