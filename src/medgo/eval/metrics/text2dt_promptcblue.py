"""Text2DT as PromptCBLUE's evaluator scores it (`calc_text2dt_task_scores` over `text2dt_eval_single_tree`):
tree edit ratio (its headline, "TreeLenvRatio"), node F1 and decision-path F1, summed over the corpus.

A tree is its nodes in pre-order, each {role: "C" | "D", logical_rel, triples}; triples are lower-cased
3-tuples. Structure is recovered the official way: repeatedly, the first condition whose next two open
nodes (collapsed subtrees skipped) are both decisions becomes a decision with those two as its yes / no
children, until the root is a decision (at most 101 rounds; a malformed pre-order stays partly unlinked).
Then, per tree:

- edit distance: walk both trees from the root together; where both have children descend, where one
  has children and the other not, add the node distance plus every node of the extra subtree against an
  empty node; node distance = role differs + logical relation differs + size of the triple sets' symmetric
  difference. Ratio over the corpus = 1 - sum(distance) / sum(max distance), max distance =
  (unique triples + 2 x nodes with triples) of the prediction plus the same of the gold.
- paths: for each leaf (a node without children), the nodes and branch labels up to the root; a leaf with
  no parent other than the root ends the listing of that tree's paths (later leaves are not listed, and the
  gold's are not listed at all when the prediction's listing stopped; no path then counts as correct); a
  predicted path is correct when some gold path equals it.
- nodes: every pair (predicted node with triples, gold node with triples) with equal role, relation and
  triple set counts as correct.

F1s use the official 1e-6 starting counts, so a corpus with nothing to find scores about 1, not 0."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EPS = 0.000001
EMPTY_NODE = {"role": "", "logical_rel": "null", "tset": frozenset()}


def _norm(tree: Sequence[dict]) -> list[dict[str, Any]]:
    out = []
    for node in tree:
        trip = []
        for t in node.get("triples", []):
            if len(t) != 3:
                raise ValueError(f"Text2DT triple {t!r} does not have 3 parts")
            trip.append((str(t[0]).lower(), str(t[1]).lower(), str(t[2]).lower()))
        out.append({"role": node.get("role"), "logical_rel": node.get("logical_rel"), "triples": trip,
                    "tset": frozenset(trip)})
    return out


def link(roles: Sequence[str]) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """children[i] = (yes, no) and parent[j] = i, recovered from the pre-order roles as described above."""
    state = list(roles)
    children: dict[int, tuple[int, int]] = {}
    parent: dict[int, int] = {}
    rounds = 0
    while state and state[0] != "D":
        for i, role in enumerate(state):
            if role != "C":
                continue
            first = None
            done = False
            for j in range(i + 1, len(state)):
                if state[j] == "D" and first is None:
                    first = j
                elif state[j] == "X":
                    continue
                elif state[j] == "D":
                    state[i] = "D"
                    children[i] = (first, j)
                    parent[first] = parent[j] = i
                    for k in range(i + 1, j + 1):
                        state[k] = "X"
                    done = True
                    break
                elif state[j] == "C":
                    break
            if done:
                break
        rounds += 1
        if rounds > 100:
            break
    return children, parent


def _dist(a: dict, b: dict | None) -> int:
    b = b or EMPTY_NODE
    return (a["role"] != b["role"]) + (a["logical_rel"] != b["logical_rel"]) + len(a["tset"] ^ b["tset"])


def _subtree_cost(tree: list[dict], children: dict, root: int) -> int:
    """Every node under `root` (not `root` itself) against the empty node."""
    cost, stack = 0, list(children[root])
    while stack:
        n = stack.pop()
        cost += _dist(tree[n], None)
        if n in children:
            stack.extend(children[n])
    return cost


def edit_distance(pred: list[dict], gold: list[dict], pc: dict, gc: dict) -> int:
    dis = 0
    stack = [(0, 0)] if pred and gold else []
    while stack:
        s1, s2 = stack.pop()
        dis += _dist(pred[s1], gold[s2])
        if s1 in pc and s2 in gc:
            stack.append((pc[s1][1], gc[s2][1]))
            stack.append((pc[s1][0], gc[s2][0]))
        elif s2 in gc:
            dis += _subtree_cost(gold, gc, s2)
        elif s1 in pc:
            dis += _subtree_cost(pred, pc, s1)
    return dis


def _key(node: dict) -> tuple:
    return node["role"], node["logical_rel"], node["tset"]


def _paths(tree: list[dict], children: dict, parent: dict) -> tuple[list[tuple], bool]:
    """Root-ward paths of the leaves in index order, and whether the listing completed."""
    out = []
    for leaf in range(len(tree)):
        if leaf in children:
            continue
        path: list[Any] = [_key(tree[leaf])]
        node = leaf
        while node != 0:
            if node not in parent:
                return out, False
            up = parent[node]
            path += ["L" if children[up][0] == node else "R", _key(tree[up])]
            node = up
        out.append(tuple(path))
    return out, True


def decision_paths(pred: list[dict], gold: list[dict], pc: dict, pp: dict, gc: dict, gp: dict) -> tuple[int, int, int]:
    p_paths, ok = _paths(pred, pc, pp)
    if not ok:
        return 0, len(p_paths), 0
    g_paths, ok = _paths(gold, gc, gp)
    if not ok:
        return 0, len(p_paths), len(g_paths)
    gs = set(g_paths)
    return sum(p in gs for p in p_paths), len(p_paths), len(g_paths)


def tree_counts(pred_tree: Sequence[dict], gold_tree: Sequence[dict]) -> dict[str, int]:
    pred, gold = _norm(pred_tree), _norm(gold_tree)
    pc, pp = link([n["role"] for n in pred])
    gc, gp = link([n["role"] for n in gold])
    p_trip = set().union(*(n["tset"] for n in pred)) if pred else set()
    g_trip = set().union(*(n["tset"] for n in gold)) if gold else set()
    p_nodes = [_key(n) for n in pred if n["triples"]]
    g_nodes = [_key(n) for n in gold if n["triples"]]
    path_ok, path_p, path_g = decision_paths(pred, gold, pc, pp, gc, gp)
    return {
        "tree": int(bool(pred)),
        "tree_correct": int(len(pred) == len(gold) and all(_key(a) == _key(b) for a, b in zip(pred, gold, strict=True))),
        "triple_correct": len(p_trip & g_trip), "triple_pred": len(p_trip), "triple_gold": len(g_trip),
        "path_correct": path_ok, "path_pred": path_p, "path_gold": path_g,
        "edit": edit_distance(pred, gold, pc, gc),
        "max_edit": len(p_trip) + 2 * len(p_nodes) + len(g_trip) + 2 * len(g_nodes),
        "node_correct": sum(a == b for a in p_nodes for b in g_nodes), "node_pred": len(p_nodes),
        "node_gold": len(g_nodes),
    }


def _f1(c: float, p: float, g: float) -> float:
    return 2 * (c / p) * (c / g) / (c / p + c / g)


def promptcblue_text2dt(golds: Sequence[Sequence[dict]], preds: Sequence[Sequence[dict]]) -> dict[str, float]:
    """Corpus scores; `tree_lenv_radio` (the official key, sic) is the task's headline."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold trees but {len(preds)} predictions")
    tot: dict[str, float] = {}
    for g, p in zip(golds, preds, strict=True):
        for k, v in tree_counts(p or [], g or []).items():
            tot[k] = tot.get(k, 0) + v
    c = {k: tot.get(k, 0) + EPS for k in ("tree", "tree_correct", "triple_correct", "triple_pred", "triple_gold",
                                           "path_correct", "path_pred", "path_gold", "node_correct", "node_pred",
                                           "node_gold")}
    max_edit = tot.get("max_edit", 0)
    return {
        "tree_lenv_radio": 1 - tot.get("edit", 0) / max_edit if max_edit else 0.0,
        "node_f1": _f1(c["node_correct"], c["node_pred"], c["node_gold"]),
        "path_f1": _f1(c["path_correct"], c["path_pred"], c["path_gold"]),
        "triple_f1": _f1(c["triple_correct"], c["triple_pred"], c["triple_gold"]),
        "tree_accuracy": c["tree_correct"] / c["tree"],
    }
