"""Cross-validation groups that keep near-duplicate texts together.

The training corpus was assembled from sentence pools: the same scam script (with another name, item,
price or link) appears in many conversations. Folds by conversation alone then put a script's twin on
both sides, so out-of-fold scores are optimistic, the Platt calibration fitted on them is
over-confident, and an operating point chosen from them is too aggressive for a voice the model has
never seen. `template_groups` joins rows that share a conversation or whose masked-bigram MinHash
signatures (`scoring.minhash`, the campaign detector's signature) are at least `min_similarity`
alike, with union-find over LSH candidates; `balanced_folds` then deals whole groups to folds.

Pure and deterministic (the signatures use fixed seeds): rows in, group ids out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scoring.minhash import band_keys, similarity, template_signature

# Jaccard of masked word bigrams: 0.5 joins "same script, a few words changed", not "same topic".
DEFAULT_MIN_SIMILARITY = 0.5


def template_groups(
    rows: Sequence[Mapping[str, Any]], min_similarity: float = DEFAULT_MIN_SIMILARITY
) -> list[str]:
    """One group id per row: rows of one conversation, and near-duplicate texts, share an id.

    The id is the smallest conversation id (or row id) in the group, so it is stable across runs and
    readable in a report.
    """
    n = len(rows)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    keys = [str(row.get("conversation_id") or row.get("id") or f"#{i}") for i, row in enumerate(rows)]
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        union(i, first_of.setdefault(key, i))
    signatures = [template_signature(str(row.get("text") or "")) for row in rows]
    buckets: dict[str, list[int]] = {}
    for i, sig in enumerate(signatures):
        if sig is not None:
            for band in band_keys(sig):
                buckets.setdefault(band, []).append(i)
    for members in buckets.values():
        for a_pos, i in enumerate(members):
            sig_i = signatures[i]
            assert sig_i is not None
            for j in members[a_pos + 1 :]:
                sig_j = signatures[j]
                assert sig_j is not None
                if find(i) != find(j) and similarity(sig_i, sig_j) >= min_similarity:
                    union(i, j)
    names: dict[int, str] = {}
    for i in range(n):
        root = find(i)
        names[root] = min(names.get(root, keys[i]), keys[i])
    return [names[find(i)] for i in range(n)]


def balanced_folds(groups: Sequence[str], folds: int) -> list[int]:
    """A fold per row, whole groups at a time, largest groups first into the emptiest fold.

    Hashing group ids to folds would leave one fold with a 400-row script family and another with
    none; dealing by size keeps the folds within one group of each other.
    """
    sizes: dict[str, int] = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    load = [0] * folds
    fold_of_group: dict[str, int] = {}
    for g in sorted(sizes, key=lambda k: (-sizes[k], k)):
        k = min(range(folds), key=lambda f: (load[f], f))
        fold_of_group[g] = k
        load[k] += sizes[g]
    return [fold_of_group[g] for g in groups]
