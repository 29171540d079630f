"""A classical reference for the CBLUE classification tasks: TF-IDF over character n-grams + logistic
regression (scikit-learn), trained on a task's train split and scored by the task's own metric code, so that
its numbers sit in the same table as the language model's.

Single-text tasks (KUAKE-QIC, CHIP-CTC) use the TF-IDF vector of the text. Pair tasks (CHIP-STS, KUAKE-QQR,
KUAKE-QTR) use [A, B, A*B, cos(A, B)] with A, B the vectors of the two texts (one vectoriser fitted on both
sides), so that the model can see overlap and not only the words of each side."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medgo.eval.tasks.base import Example, Task

PAIR_FIELDS = ("a", "b")


@dataclass
class ClassicalSpec:
    ngram_range: tuple[int, int] = (1, 2)
    max_features: int = 50_000
    c: float = 4.0
    max_iter: int = 300
    seed: int = 0


def texts_of(task: Task, ex: Example) -> list[str]:
    """The text field(s) a task's prompt is built from (every template field except the option list)."""
    f = task.fields(ex)
    if all(k in f for k in PAIR_FIELDS):
        return [str(f["a"]), str(f["b"])]
    return [" ".join(str(v) for k, v in f.items() if k != "options")]


def _features(vec: Any, task: Task, rows: Sequence[Example]) -> Any:
    import numpy as np
    from scipy import sparse

    parts = [texts_of(task, ex) for ex in rows]
    if len(parts[0]) == 1:
        return vec.transform([p[0] for p in parts])
    a = vec.transform([p[0] for p in parts])
    b = vec.transform([p[1] for p in parts])
    cos = np.asarray(a.multiply(b).sum(axis=1))  # rows are L2-normalised: the sum is the cosine
    return sparse.hstack([a, b, a.multiply(b), sparse.csr_matrix(cos)]).tocsr()


def fit_predict(task: Task, train: Sequence[Example], test: Sequence[Example],
                spec: ClassicalSpec | None = None) -> list[str]:
    """Train on `train`, return predicted label ids for `test`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    spec = spec or ClassicalSpec()
    vec = TfidfVectorizer(analyzer="char", ngram_range=spec.ngram_range, max_features=spec.max_features,
                          sublinear_tf=True)
    vec.fit([t for ex in train for t in texts_of(task, ex)])
    y = [str(task.gold(ex)) for ex in train]
    clf = LogisticRegression(C=spec.c, max_iter=spec.max_iter, random_state=spec.seed)
    clf.fit(_features(vec, task, train), y)
    return [str(p) for p in clf.predict(_features(vec, task, test))]


def evaluate_classical(task: Task, train: Sequence[Example], test: Sequence[Example], convention: str = "cblue",
                       spec: ClassicalSpec | None = None) -> dict[str, Any]:
    """Scores of the TF-IDF + LR reference on `test` by `task.score` (the metric the harness reports)."""
    t0 = time.perf_counter()
    preds = fit_predict(task, train, test, spec)
    golds = [task.gold(ex) for ex in test]
    res = task.score(convention, golds, preds, list(test))
    return {**res, "n_train": len(train), "n": len(test), "seconds": round(time.perf_counter() - t0, 2)}


def evaluate_classical_task(name: str, data_dir: Path | None, test_dir: Path | None = None,
                            convention: str = "cblue", spec: ClassicalSpec | None = None) -> dict[str, Any]:
    """Train split from `data_dir`, dev split from `test_dir` (default `data_dir`; e.g. a seeded dev subset)."""
    from medgo.eval.tasks import get_task

    task = get_task(name)
    train, train_src = task.load("train", data_dir)
    test, test_src = task.load("dev", test_dir if test_dir is not None else data_dir)
    return {**evaluate_classical(task, train, test, convention, spec), "train_source": train_src,
            "source": test_src}
