"""Text2DT (CBLUE 3.0) decision trees, scored as in the Text2MDT paper: a tree is its nodes in pre-order,
each node (role C = condition | D = decision, logical relation and | or | null, triples); a condition node has
a 'yes' subtree then a 'no' subtree. Metrics per corpus: tree accuracy (exact match), triple micro-F1,
node micro-F1 and decision-path micro-F1 (a path = the nodes from the root to a leaf with the branch taken).
Triples inside a node compare as a set; a pre-order that is not a complete tree keeps its decodable paths."""

from __future__ import annotations

from collections.abc import Sequence

from medgo.eval.metrics.prf import set_micro_prf

Node = tuple[str, str, frozenset]  # role, logical relation, triples


def paths(nodes: Sequence[Node]) -> set[tuple]:
    """Root-to-leaf paths of a pre-order node list: ((node, branch), ..., (leaf, ''))."""
    out: set[tuple] = set()
    pos = 0

    def walk(prefix: tuple) -> None:
        nonlocal pos
        if pos >= len(nodes):
            if prefix:
                out.add(prefix)  # a condition without its subtree still ends a (truncated) path
            return
        node = nodes[pos]
        pos += 1
        if node[0] != "C":
            out.add((*prefix, (node, "")))
            return
        walk((*prefix, (node, "yes")))
        walk((*prefix, (node, "no")))

    if nodes:
        walk(())
    return out


def tree_scores(golds: Sequence[Sequence[Node]], preds: Sequence[Sequence[Node] | None]) -> dict[str, float]:
    preds = [list(p) if p is not None else [] for p in preds]
    n = len(golds)
    acc = sum(list(g) == p for g, p in zip(golds, preds, strict=True)) / n if n else 0.0
    trip = set_micro_prf([{t for nd in g for t in nd[2]} for g in golds], [{t for nd in p for t in nd[2]} for p in preds])
    node = set_micro_prf([set(g) for g in golds], [set(p) for p in preds])
    path = set_micro_prf([paths(g) for g in golds], [paths(p) for p in preds])
    return {"tree_accuracy": acc, "triple_f1": trip["f1"], "node_f1": node["f1"], "path_precision": path["precision"],
            "path_recall": path["recall"], "path_f1": path["f1"]}
