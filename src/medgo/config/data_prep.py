"""The data-preparation schema (clean → filter → dedup → de-identify → contamination → mix): the options of
`medgo data prepare` and of a run config's `data.prepare` block. It lives here, not in `data/`, so that a bad
option fails when the config is loaded and loading a config imports none of the data libraries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TxtMode = Literal["line", "paragraph", "file"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterConfig(_Strict):
    """Thresholds of the quality filters (0 disables a ratio filter)."""

    min_chars: int = Field(10, ge=0, description="shorter documents are rejected")
    max_chars: int = Field(200_000, ge=1, description="longer documents are rejected (e.g. a 10 MB line)")
    min_cjk_ratio: float = Field(0.3, ge=0, le=1, description="share of CJK among non-space characters")
    max_dup_line_ratio: float = Field(0.3, ge=0, le=1, description="share of characters in repeated lines")
    max_top_ngram_ratio: float = Field(0.2, ge=0, le=1, description="coverage of the most frequent char n-gram")
    ngram: int = Field(4, ge=2, le=20)
    max_boilerplate_line_ratio: float = Field(0.4, ge=0, le=1, description="share of lines with boilerplate cues")


class DedupConfig(_Strict):
    exact: bool = True
    near: bool = True
    threshold: float = Field(0.8, gt=0, lt=1, description="estimated Jaccard above which documents are near-duplicates")
    num_perm: int = Field(128, ge=16, le=1024)
    ngram: int = Field(5, ge=1, le=32, description="character shingle length")
    backend: Literal["memory", "disk"] = "memory"
    seed: int = 1


class DeidConfig(_Strict):
    """The de-identifier's options (`medgo data deid`, the data.prepare deid step, the serving audit log)."""

    dates: Literal["mask", "shift", "keep"] = Field("mask", description="shift: move dates by a per-document offset")
    hospitals: bool = Field(True, description="replace named hospitals with [医院]")
    secret: str = Field("medgo", description="salt of the per-document date shift")
    max_shift_days: int = Field(365, ge=1)
    names: Literal["placeholder", "pseudonym"] = Field(
        "placeholder", description="pseudonym: one consistent [患者A]/[家属A]/[医护A] per person instead of [姓名]"
    )
    consistent: bool = Field(True, description="replace every occurrence of a found name/ID/phone/record/e-mail")
    tagger: str | None = Field(
        None, description="folder of a learned name tagger (`medgo data deid-train`) used beside the rules; "
        "unset: rules alone"
    )
    tagger_threshold: float | None = Field(None, gt=0, lt=1, description="name score cut-off (default: the tagger's)")
    clinical_terms: list[str] = Field(
        default_factory=list, description="term lists (one term per line: a formulary, `medgo data deid-terms`) "
        "whose words are never read as names (甘利欣, 金水宝)"
    )


class DeidStep(DeidConfig):
    enabled: bool = True


class ContaminationStep(_Strict):
    eval: list[str] = Field(default_factory=list, description="evaluation files to protect (CBLUE dev/test, exams)")
    n: int = Field(13, ge=5)
    drop: bool = True


class MixSource(_Strict):
    path: str
    weight: float | None = Field(None, gt=0, description="share of the mixed output (normalised over sources)")
    tokens: int | None = Field(None, gt=0, description="target tokens taken from this source")
    name: str | None = None

    @model_validator(mode="after")
    def _one(self) -> MixSource:
        if (self.weight is None) == (self.tokens is None):
            raise ValueError(f"source {self.path}: give exactly one of weight or tokens")
        return self


class MixStep(_Strict):
    sources: list[MixSource] = Field(default_factory=list, description="extra sources; the prepared corpus is 'corpus'")
    corpus_weight: float | None = Field(None, gt=0)
    corpus_tokens: int | None = Field(None, gt=0)
    total_tokens: int | None = Field(None, gt=0)


class DataPrepOptions(_Strict):
    """The steps and their options; a run config's `data.prepare` (its inputs are `data.corpus`)."""

    field: str = "text"
    txt_mode: TxtMode = "paragraph"
    filters: FilterConfig = Field(default_factory=FilterConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    deid: DeidStep = Field(default_factory=DeidStep)
    contamination: ContaminationStep = Field(default_factory=ContaminationStep)
    mix: MixStep | None = None
    seed: int | None = Field(None, description="default: the run's seed (0 for `medgo data prepare`)")


class PrepareConfig(DataPrepOptions):
    """`medgo data prepare CONFIG`: the options plus the input files and the output folder."""

    sources: list[str] = Field(..., min_length=1, description="input files (txt/jsonl/json/csv/tsv/parquet)")
    out_dir: str = "data_prep"
    seed: int | None = 0
