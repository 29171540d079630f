"""lm-evaluation-harness's own `cmmlu_<subject>` tasks pointed at local CMMLU CSVs (no hub access): each task
YAML includes lm-eval's installed `tasks/cmmlu/cmmlu_<subject>.yaml` (its header, 5-shot first_n sampler,
prompt and letter choices) and replaces only where the data comes from. Used by the parity test and by
benchmarks/eval/exams_vs_lmeval.py."""

from __future__ import annotations

import json
from pathlib import Path


def lm_eval_cmmlu_dir() -> Path:
    import lm_eval

    return Path(lm_eval.__file__).parent / "tasks" / "cmmlu"


def write_cmmlu_tasks(cmmlu_data: Path, subjects: list[str], out: Path, prefix: str = "local_cmmlu_") -> list[str]:
    """One YAML per subject under `out` (pass it as include_path); returns the task names. `cmmlu_data` is
    the folder holding dev/ and test/. NA detection is off, so that a cell reading 'NA' or 'None' stays text
    (pandas' default makes it NaN); no CMMLU column is all-numeric, so no cell's text changes otherwise."""
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for s in subjects:
        name = f"{prefix}{s}"
        cfg = {
            "include": str(lm_eval_cmmlu_dir() / f"cmmlu_{s}.yaml"),
            "task": name,
            "tag": [],
            "dataset_path": "csv",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": {"test": str(cmmlu_data / "test" / f"{s}.csv"),
                                              "dev": str(cmmlu_data / "dev" / f"{s}.csv")},
                               "keep_default_na": False, "na_filter": False},
            "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                            for m in ("acc", "acc_norm", "acc_bytes")],
        }
        (out / f"{name}.yaml").write_text(json.dumps(cfg, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
        names.append(name)
    return names


def write_group(out: Path, group: str, names: list[str]) -> None:
    """A group task over `names` (lm-eval's --tasks GROUP), accuracy averaged over items as medgo reports it."""
    cfg = {"group": group, "task": names, "aggregate_metric_list": [
        {"metric": m, "aggregation": "mean", "weight_by_size": True} for m in ("acc", "acc_norm", "acc_bytes")]}
    (out / f"{group}.yaml").write_text(json.dumps(cfg, indent=1), encoding="utf-8")


if __name__ == "__main__":  # python tests/eval/exams/lmeval/cmmlu_local.py ../shared/data/corpora/CMMLU/data OUT
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "src"))
    from medgo.eval.suites.exams_protocols import CMMLU_GENERAL, CMMLU_MEDICAL

    data, dest = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    write_group(dest, "local_cmmlu_medical", write_cmmlu_tasks(data, list(CMMLU_MEDICAL), dest))
    write_group(dest, "local_cmmlu_general", write_cmmlu_tasks(data, list(CMMLU_GENERAL), dest))
    print(f"{dest}: tasks local_cmmlu_<subject>, groups local_cmmlu_medical (9) and local_cmmlu_general (58)")
