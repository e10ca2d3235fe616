"""Synthetic submission traffic shared by the benchmarks (bench_api, load).

Written for these benchmarks: French marketplace chat, honest and scam-like, varied lengths, so the scorer
sees realistic patterns. Deterministic per index.
"""

from __future__ import annotations

import random
from typing import Any

OPENERS = ["Bonjour", "Salut", "Bonsoir", "Hello", "Bonjour madame", "Bonjour monsieur"]
BODIES = [
    "est-ce que le vélo est toujours disponible ? Je peux passer samedi matin.",
    "je suis intéressé, on peut se retrouver devant la gare pour la remise en main propre ?",
    "je vous paie par PayPal entre amis, envoyez-moi votre adresse mail pour le paiement.",
    "contactez-moi sur WhatsApp au 06 12 34 56 78, c'est plus simple pour discuter.",
    "mon transporteur passera récupérer le colis, validez la réception des fonds sur ce lien.",
    "merci de confirmer votre paiement sécurisé ici : leboncoin-paiement-securise.com/validation",
    "le prix est-il négociable ? Je propose 80 euros, paiement sur la plateforme.",
    "pouvez-vous m'envoyer le code reçu par SMS pour finaliser la transaction ?",
]


def message(i: int, tag: str, *, with_parties: bool = False) -> dict[str, Any]:
    """The i-th message body for POST /v1/messages; `with_parties` adds sender and recipient accounts."""
    rng = random.Random(i)
    body: dict[str, Any] = {
        "external_id": f"{tag}-{i}",
        "conversation_id": f"conv-{i % 97}",
        "text": f"{rng.choice(OPENERS)}, {rng.choice(BODIES)} (réf {i})",
        "lang": "fr",
    }
    if with_parties:
        body["sender"] = {"id": f"u-{i % 501}", "account_age_days": i % 400}
        body["recipient"] = {"id": f"u-{(i + 7) % 501}"}
    return body
