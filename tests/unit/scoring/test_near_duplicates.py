"""Cross-validation groups: conversations and near-duplicate scripts stay on one side of a fold."""

from __future__ import annotations

from collections import Counter

from scoring.near_duplicates import balanced_folds, template_groups

SCRIPT = (
    "Bonjour {name}, je suis très intéressé par votre {item}, je vous paie tout de suite par le "
    "paiement sécurisé, vous recevrez un lien pour confirmer la réception des fonds sur votre carte"
)


def test_a_script_reused_across_conversations_is_one_group() -> None:
    rows = [
        {"id": "a1", "conversation_id": "c1", "text": SCRIPT.format(name="Marie", item="vélo")},
        {"id": "a2", "conversation_id": "c1", "text": "ok merci"},
        {"id": "b1", "conversation_id": "c2", "text": SCRIPT.format(name="Paul", item="canapé")},
        {
            "id": "d1",
            "conversation_id": "c3",
            "text": "Je passe samedi à 10h pour récupérer la table, ça vous va ?",
        },
        {"id": "e1", "text": "Toujours disponible ?"},
    ]
    groups = template_groups(rows)
    # c1's second turn joins through its conversation, c2 through the shared script.
    assert groups[0] == groups[1] == groups[2] == "c1"
    assert groups[3] == "c3"
    assert groups[4] == "e1"
    assert template_groups(rows) == groups  # deterministic


def test_unrelated_messages_on_one_topic_stay_apart() -> None:
    rows = [
        {"id": "x", "text": "Je peux payer par virement avant de venir chercher le canapé ce week-end ?"},
        {
            "id": "y",
            "text": "Le virement ne me dérange pas, mais je préfère que vous passiez voir le vélo avant.",
        },
    ]
    assert template_groups(rows) == ["x", "y"]


def test_folds_deal_whole_groups_and_stay_balanced() -> None:
    groups = ["big"] * 10 + [f"g{i}" for i in range(20)] + ["mid"] * 5
    folds = balanced_folds(groups, 3)
    by_group: dict[str, set[int]] = {}
    for g, f in zip(groups, folds, strict=True):
        by_group.setdefault(g, set()).add(f)
    assert all(len(fs) == 1 for fs in by_group.values())
    sizes = Counter(folds)
    assert set(sizes) == {0, 1, 2}
    assert max(sizes.values()) - min(sizes.values()) <= 1
