import pytest

from medgo.errors import DataError
from medgo.retrieval import Index, evaluate
from medgo.retrieval.kuake import load_kuake_ir, load_qrels


def _write(d, qrels: str) -> None:
    (d / "corpus.tsv").write_text(
        "1001\t高血压患者应低盐饮食，按时服用降压药。\n1002\t糖尿病患者需要控制血糖。\n1003\t胃炎患者应避免辛辣食物。\n",
        encoding="utf-8",
    )
    (d / "dev.query.txt").write_text("1\t高血压怎么吃药\n2\t血糖高怎么办\n", encoding="utf-8")
    (d / "qrels.dev.tsv").write_text(qrels, encoding="utf-8")


def test_load_published_layout_and_evaluate(tmp_path):
    _write(tmp_path, "1\t1001\n2\t1002\n")
    passages, queries, qrels = load_kuake_ir(tmp_path, "dev")
    assert [p.id for p in passages] == ["1001", "1002", "1003"]
    assert queries == {"1": "高血压怎么吃药", "2": "血糖高怎么办"}
    assert qrels == {"1": {"1001": 1}, "2": {"1002": 1}}
    index = Index.build(passages, tokenizer="bigram")
    run = {q: [h.id for h in index.search(text, 10)] for q, text in queries.items()}
    m = evaluate(run, qrels)
    assert m["mrr@10"] == 1.0 and m["recall@10"] == 1.0 and m["ndcg@10"] == 1.0


def test_trec_and_graded_qrels(tmp_path):
    (tmp_path / "q.tsv").write_text("1 0 1001 2\n1\t1002\t1\n", encoding="utf-8")
    assert load_qrels(tmp_path / "q.tsv") == {"1": {"1001": 2, "1002": 1}}


@pytest.mark.parametrize(
    ("qrels", "match"),
    [("1\t9999\n", "not in corpus.tsv"), ("7\t1001\n", "has no query"), ("1\n", "expected")],
)
def test_inconsistent_files_are_refused(tmp_path, qrels, match):
    _write(tmp_path, qrels)
    with pytest.raises(DataError, match=match):
        load_kuake_ir(tmp_path, "dev")
