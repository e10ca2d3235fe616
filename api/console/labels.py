"""Plain words for moderators: scam categories and decisions in French and English."""

from __future__ import annotations

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "external_payment": ("Paiement hors plateforme (PayPal entre amis, virement, Transcash…)",
                         "Off-platform payment (PayPal friends, transfer, vouchers…)"),
    "fake_secure_payment": ("Faux « paiement sécurisé »", "Fake 'secure payment' page"),
    "fake_delivery": ("Fausse livraison / faux transporteur", "Fake delivery or courier"),
    "spoofed_domain": ("Domaine ou adresse imitant une marque", "Look-alike domain or spoofed sender"),
    "off_platform": ("Sortie de la plateforme (WhatsApp, e-mail, SMS…)", "Moves off the platform"),
    "advance_fee": ("Avance de frais", "Advance fee"),
    "overpayment": ("Trop-perçu à rembourser", "Overpayment refund story"),
    "account_takeover": ("Demande de code SMS, pièce d'identité ou carte", "Asks for SMS code, ID or card"),
    "url_shortener": ("Lien raccourci", "Shortened link"),
    "campaign": ("Campagne (même texte envoyé en masse)", "Campaign (same text sent in bulk)"),
    "phishing_link": ("Lien suspect", "Suspicious link"),
}  # fmt: skip
DECISION_LABELS: dict[str, tuple[str, str]] = {
    "confirm_scam": ("Escroquerie confirmée", "Scam confirmed"),
    "not_scam": ("Pas une escroquerie", "Not a scam"),
    "needs_info": ("Informations demandées", "Needs information"),
}
# The reason pre-selected for a confirmed scam, from the item's main category.
DEFAULT_SCAM_REASON = {
    "external_payment": "external_payment",
    "fake_secure_payment": "fake_payment_page",
    "fake_delivery": "fake_delivery",
    "spoofed_domain": "phishing",
    "phishing_link": "phishing",
    "url_shortener": "phishing",
    "off_platform": "off_platform",
    "advance_fee": "advance_fee",
    "overpayment": "advance_fee",
    "account_takeover": "account_takeover",
}


def category_label(code: str, lang: str = "fr") -> str:
    """Plain words for a category (the code itself when unknown)."""
    fr, en = CATEGORY_LABELS.get(code, (code, code))
    return en if lang == "en" else fr


def decision_label(code: str, lang: str = "fr") -> str:
    fr, en = DECISION_LABELS.get(code, (code, code))
    return en if lang == "en" else fr
