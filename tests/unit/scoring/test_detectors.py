"""Detectors through the rules-only scorer: positives per category (FR and EN, informal, obfuscated)
and hard negatives (honest messages about payment, delivery, links and phone numbers)."""

from __future__ import annotations

import pytest

from scoring.engine import Scorer
from scoring.types import Category, Kind, ScoreInput, Verdict

POSITIVES = [
    (Category.EXTERNAL_PAYMENT, "Paiement par PayPal entre proches uniquement svp"),
    (Category.EXTERNAL_PAYMENT, "je fais 10€ de moins si tu passes par p4yp4l amis"),
    (Category.EXTERNAL_PAYMENT, "Envoyez sur paypal.me/jeandupont et je poste demain"),
    (Category.EXTERNAL_PAYMENT, "Voici mon IBAN FR76 3000 6000 0112 3456 7890 189, virement avant envoi"),
    (Category.EXTERNAL_PAYMENT, "Paiement en coupons Transcash de 100 €, envoyez-moi les codes"),
    (Category.EXTERNAL_PAYMENT, "Pay me with Western Union please, it's faster"),
    (Category.EXTERNAL_PAYMENT, "Bitcoin only, send to my wallet"),
    (Category.OFF_PLATFORM, "Ecris moi sur w h a t s a p p au 06 12 34 56 78"),
    (Category.OFF_PLATFORM, "Contact me on WhatsApp +44 7911 123456, I'm rarely on the app"),
    (Category.OFF_PLATFORM, "C'est plus rapide par mail : jean arobase gmail point com"),
    (Category.OFF_PLATFORM, "ajoute moi sur telegram @vendeur_pro"),
    (Category.FAKE_SECURE_PAYMENT, "J'ai payé, cliquez sur le lien pour recevoir votre argent"),
    (Category.FAKE_SECURE_PAYMENT, "Pour être crédité, saisissez votre numéro de carte bancaire sur la page"),
    (
        Category.FAKE_SECURE_PAYMENT,
        "Payment sent. Click this link to receive your money: secure-pay-lbc.top/x",
    ),
    (Category.FAKE_DELIVERY, "Mon transporteur va vous contacter pour récupérer le colis"),
    (Category.FAKE_DELIVERY, "Remplissez le formulaire Mondial Relay pour programmer l'envoi"),
    (Category.ADVANCE_FEE, "Il faut d'abord payer les frais de dossier de 49 € pour recevoir le véhicule"),
    (Category.ADVANCE_FEE, "You must pay the customs fee first to receive the parcel"),
    (Category.OVERPAYMENT, "Je vous ai payé 500€ par erreur, renvoyez moi la différence"),
    (Category.OVERPAYMENT, "I overpaid by mistake, please refund the difference"),
    (Category.ACCOUNT_TAKEOVER, "Donne-moi le code que tu vas recevoir par SMS"),
    (Category.ACCOUNT_TAKEOVER, "send me the c o d e you got by sms"),
    (Category.ACCOUNT_TAKEOVER, "Envoyez-moi une photo de votre carte d'identité recto verso"),
    (Category.ACCOUNT_TAKEOVER, "Give me your card number, expiry date and CVV"),
    (Category.SPOOFED_DOMAIN, "Validez sur leboncoin.fr.reception-fonds.com/tx"),
    (Category.URL_SHORTENER, "regarde ici bit.ly/3xYz9 pour la suite"),
    # Families added after error analysis (general phrasings, FR and EN).
    (Category.OFF_PLATFORM, "contact whtsp uniquement 06 18 74 29 55"),
    (Category.EXTERNAL_PAYMENT, "Je t'ai envoyé une demande de paiement Lydia, accepte-la vite"),
    (Category.EXTERNAL_PAYMENT, "Friends and family only please, I do not pay fees"),
    (Category.EXTERNAL_PAYMENT, "give me your paypal address please"),
    (Category.ADVANCE_FEE, "Send the deposit with Cash App to book the puppy"),
    (
        Category.FAKE_SECURE_PAYMENT,
        "Passons par un tiers de confiance : deposez l'argent sur safe-escrow-pay.eu",
    ),
    (Category.ACCOUNT_TAKEOVER, "Text me the code you just got to confirm you are real"),
    (Category.ACCOUNT_TAKEOVER, "What's your card number? My bank needs it to pay you"),
    # Families added after the fr9/fr10 voices (cross-border apps, stories between request and object).
    (Category.EXTERNAL_PAYMENT, "Payez avec TWINT et je vous envoie le contrat et les clés par DHL"),
    (
        Category.ACCOUNT_TAKEOVER,
        "mon appli bancaire demande le numéro de ta carte pour t'ajouter en bénéficiaire, "
        "tu peux me le donner ?",
    ),
    (Category.ACCOUNT_TAKEOVER, "je suis pas un fake 😂 envoie moi une photo de ta carte avec ton nom"),
    (Category.ACCOUNT_TAKEOVER, "Votre banque va appeler, il faudra lui donner le code qu'il vous envoie"),
    (Category.ACCOUNT_TAKEOVER, "tu me le passes le code de vérif ?"),
    (
        Category.OVERPAYMENT,
        "Je vous envoie un chèque de 4 800€ pour le camion à 3 900, "
        "la différence vous la donnez au chauffeur",
    ),
    (
        Category.FAKE_SECURE_PAYMENT,
        "j'ai généré un QR code de réception, tu le scannes avec ton appli bancaire et tu confirmes les 300e",
    ),
    (Category.EXTERNAL_PAYMENT, "merci de verser le loyer sur le compte suivant : LT52 3250 0123 7712 0988"),
    (
        Category.ACCOUNT_TAKEOVER,
        "connectez-vous à votre banque via ce portail sécurisé verif-solva-acheteur.com",
    ),
    (Category.OFF_PLATFORM, "dispo ? reponds sur tg @mk_cards stp"),
    (Category.EXTERNAL_PAYMENT, "la friteuse est dispo mais je ne fais que par mandat cash"),
    # After the fr8 voice: threats are not denials, misspelt refunds, a platform login on a chosen page.
    (Category.EXTERNAL_PAYMENT, "si vous n'envoyez pas le code Transcash avant 20h je le donne au suivant"),
    (
        Category.OVERPAYMENT,
        "j'ai envoyé le chèque de banque au lieu de 7400, tu me rend les 1100 par virement",
    ),
    (
        Category.ACCOUNT_TAKEOVER,
        "vérifie ici : verif-cadre-scooter.com, il faut juste se connecter avec son compte",
    ),
    # After the en5 voice.
    (Category.EXTERNAL_PAYMENT, "Goods and services they take 10% fee. Friends and family or nothing."),
    (Category.OFF_PLATFORM, "contact me on tele gram @ marco underscore buys 22 i pay immediately"),
    (
        Category.ACCOUNT_TAKEOVER,
        "ok then no photo, just write me the numbers on the card and the 3 digit code at the back",
    ),
    # After the fr17-fr19 voices.
    (
        Category.ACCOUNT_TAKEOVER,
        "il me faut verifier ke t pas un faux profil, je t'envoie un code par sms donne le moi",
    ),
    (
        Category.OVERPAYMENT,
        "Le chèque est certifié. Vous faites un mandat cash au chauffeur dès que le chèque est déposé.",
    ),
    (
        Category.ADVANCE_FEE,
        "le service anti-fraude exige que vous payiez une certification vendeur de 25 € avant la vente",
    ),
    # After the fr14 and fr15 voices.
    (Category.ADVANCE_FEE, "Si vous voulez le chiot il faut payer aujourd'hui, on a une liste d'attente."),
    (Category.ACCOUNT_TAKEOVER, "c quoi le code que t'as reçu par sms ? sinon je peux pas payer"),
    # After the fr16 and en4 voices.
    (
        Category.EXTERNAL_PAYMENT,
        "Si vous ne faites pas le virement ce soir je donne le chalet à l'autre famille",
    ),
    (Category.OFF_PLATFORM, "ΗΙ DΕΑR, ΤΗΕ RΟΟΜ ΙS FRΕΕ. WRΙΤΕ ΜΕ ΟΝ WΗΑΤSΑΡΡ +229 01 90 00 72 15"),
    (
        Category.FAKE_SECURE_PAYMENT,
        "To send you money Revolut needs your card number, expiry and the 3 numbers at back",
    ),
    (Category.ACCOUNT_TAKEOVER, "you will get 6 numbers from a short number, send them here"),
    (Category.EXTERNAL_PAYMENT, "Nous vous demandons un acompte de 300 € par mandat compte à compte"),
    # After the fr13 voice.
    (
        Category.FAKE_SECURE_PAYMENT,
        "le paiement est en attente tant que vous n'avez pas entré votre carte pour recevoir",
    ),
    (
        Category.ACCOUNT_TAKEOVER,
        "Le plus simple c'est que vous me donniez votre identifiant et votre mot de passe",
    ),
    (Category.EXTERNAL_PAYMENT, "vous me l'envoyez par colis et je vous fais un virement dès réception"),
    (Category.EXTERNAL_PAYMENT, "140 en p a y p a l a m i s, jenvoi le soir meme"),
    # After the fr11/fr12/en3 voices.
    (Category.OFF_PLATFORM, "Mamie c moi Lucas jai changé de tel c mon nouveau num, enregistre le"),
    (
        Category.EXTERNAL_PAYMENT,
        "Si vous voulez le camion c'est virement aujourd'hui, sinon j'ai d'autres demandes.",
    ),
    (Category.ACCOUNT_TAKEOVER, "I've just sent you a 6 digit code by text, can you read it back to me?"),
    (Category.ACCOUNT_TAKEOVER, "Ne raccrochez pas, le code va arriver, lisez-le moi tout de suite"),
    (Category.EXTERNAL_PAYMENT, "je te les prends toutes, mais je paie que via Cash App ou Revolut"),
    (
        Category.OFF_PLATFORM,
        "j e   s u i s   i n t é r e s s é ,   é c r i v e z   m o i   s u r   W h @ t s @ p p",
    ),
]


@pytest.mark.parametrize(
    ("category", "text"), POSITIVES, ids=[f"{c.value}-{i}" for i, (c, _) in enumerate(POSITIVES)]
)
def test_scam_mechanism_is_flagged_with_its_category(
    rules_scorer: Scorer, category: Category, text: str
) -> None:
    result = rules_scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    # The detector names the mechanism; whether a lone weak mechanism reaches a warning is the
    # policy's call (tested in test_fusion_policy), so strong ones must flag on rules alone.
    assert category in {r.category for r in result.reasons}, result.reasons
    if max(r.weight for r in result.reasons) >= rules_scorer.pack.thresholds[Kind.MESSAGE].warn:
        assert result.verdict is not Verdict.ALLOW and category in result.categories
    for reason in result.reasons:
        assert reason.span is not None
        s, e = reason.span
        assert text[s:e] == reason.evidence or reason.evidence == text[s:e][: len(reason.evidence)]


HARD_NEGATIVES = [
    "Je peux payer par virement ?",
    "je vous envoie le lien de l'annonce leboncoin.fr/ad/123",
    "Remise en main propre, paiement en espèces",
    "Le colis part demain par Mondial Relay, voici le numéro de suivi",
    "Déposé au relais, vous pouvez suivre ici : https://www.mondialrelay.fr/suivi-de-colis/?numero=78207119",
    "Je préfère payer via le paiement sécurisé de leboncoin, c'est possible ?",
    "Je ne donne jamais mes codes, désolé.",
    "Je n'ai pas de PayPal, désolée.",
    "C'est quoi un coupon Transcash ? Je ne connais pas.",
    "Attention, n'envoyez jamais le code reçu par SMS à quelqu'un.",
    "Méfiez-vous, on m'a envoyé un faux lien de paiement sécurisé hier.",
    "Voici mon numéro pour le rendez-vous : 06 12 34 56 78",
    "Bonjour, vous pouvez l'envoyer en Colissimo ? Je paierai les frais de port.",
    "Is it still available? I can pick it up on Saturday and pay cash.",
    "Here's my number in case: 07 81 22 33 44. I'll text when I arrive.",
    "Someone asked me to pay with Transcash vouchers, I reported the ad.",
    "Le code postal est 75011, c'est au 3e étage.",
    "Voici le code de suivi du colis : 8R12345678",
    # A victim reporting or asking about a scam (reported speech, legitimacy questions, warnings).
    "J'ai reçu un SMS qui me demandait le code reçu par SMS pour recevoir les fonds, bizarre.",
    "Un mail me dit de cliquer sur un lien pour recevoir l'argent, c'est vous ?",
    "I got a text with a code from the app although I asked nothing, is this normal?",
    "Watch out, a fake profile copies your photos and asks buyers for PayPal friends and family.",
    # First person giving or receiving is not a request; handover codes are not verification codes.
    "Je vous donne le code de cession le jour de la vente, pour la carte grise.",
    "The relay point needs my pickup code, I got it by SMS from the carrier.",
    "I refunded the difference through the order, you'll see it in a few days.",
    # Phone numbers to arrange a call, a contact kept on the platform, the seller's own drop-off.
    "Pour la visite, appelez-moi au 06 45 12 78 90 après 18h.",
    "My email for the invoice: anna.martin@example.org, but let's keep chatting here.",
    "J'ai le QR code de La Poste, je dépose le colis demain au bureau de poste.",
    # "saisie" of data is not a seizure; "entre" is "between", not "type in".
    "Félicitations, vous êtes retenue pour le poste de saisie de données, le contrat suit par courrier.",
    "Les échanges se font en boutique, paiement CB ou espèces à la caisse, pas de virements entre inconnus.",
    "J'ai reçu un SMS 'bpost : frais de douane 2,99 € à régler', c'est normal ou pas du tout ?",
    "Un \"compte de sécurité\", ça n'existe pas, j'appelle mon agence.",
    "je lui dis de ne rien accepter, c'est le schéma du chèque en trop",
    "Ok je te fais un acompte de 100 par Lydia pour le bloquer si tu veux ?",
    "Just send me the sort code and account number again and I'll transfer the refund tonight",
    "Une caution en PCS pour une loc entre particuliers ? Non, je passe par une vraie agence.",
    "si tout va bien vous me donnez le code de remise et je le rentre dans mon appli",
    "Merci pour la carte graphique, j'ai validé la transaction, vous devriez recevoir l'argent",
    "C'est envoyé par Wero, 230 €",
    # Holiday rentals: a signed contract, the deposit cheque returned, a cancellation refunded.
    "Vous me renvoyez un exemplaire signé avec un chèque d'acompte de 30 %, le solde à l'arrivée.",
    "Pour le chèque de caution, vous nous le renvoyez par la poste ?",
    "Je vous propose de décaler sans frais, ou je vous rembourse l'acompte, c'est un cas de force majeure.",
    "hey I bought your bike yesterday, you forgot to tell me the code of the lock",
    "Chiots visibles sur rendez-vous, départ à 9 semaines avec puce I-CAD et vaccins.",
    "Un code PCS pour un chat gratuit ? Je trouve ça bizarre, je préfère venir le chercher.",
    "I'm downstairs, there's no name on the buzzer. Can you come down or give me the door code?",
    "Quand vous aurez vérifié la console, vous me donnez le code à 6 chiffres que Leboncoin vous affiche.",
    "Bonjour, oui envoyez le CV à recrutement.cafe.erlon@gmail.com ou passez le mardi après-midi",
    "Je prends, je viens samedi. Je vous paye d'avance par Wero pour le réserver",
    # The platform's own in-person payment: the buyer gives the seller the code after seeing the item.
    "à la remise vous me donnez le code qui s'affiche dans votre commande, pas avant d'avoir vu l'objet",
    "J'ai acheté le VTT chez vous, pourriez-vous me renvoyer la facture par mail ? Je l'ai perdue.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_honest_message_is_allowed(rules_scorer: Scorer, text: str) -> None:
    result = rules_scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW, [(r.code, r.evidence) for r in result.reasons]


def test_listing_title_reasons_point_into_the_title(rules_scorer: Scorer) -> None:
    item = ScoreInput(
        id="l", kind=Kind.LISTING, title="iPhone 14 - paiement PayPal entre proches", text="Très bon état."
    )
    result = rules_scorer.score(item)
    titled = [r for r in result.reasons if r.field == "title"]
    assert titled
    for r in titled:
        assert r.span is not None
        assert item.title is not None and item.title[r.span[0] : r.span[1]] == r.evidence


@pytest.mark.parametrize(
    "text",
    [
        "PayPal entre amis ? non merci, je préfère en main propre",
        "Western Union? No thanks, cash when I pick it up.",
        "Il me demande un coupon Transcash, c'est louche",
    ],
)
def test_a_refusal_after_the_mechanism_cancels_it(rules_scorer: Scorer, text: str) -> None:
    result = rules_scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW, [(r.code, r.evidence) for r in result.reasons]


@pytest.mark.parametrize(
    "text",
    [
        "Non merci pour la remise en main propre, je paie uniquement par PayPal entre amis",
        "No thanks to the meeting, send me the code you got by SMS and I'll pay",
    ],
)
def test_a_refusal_written_before_the_mechanism_does_not_cancel_it(rules_scorer: Scorer, text: str) -> None:
    # A scammer's own "non merci" (to a hand-over) must not excuse the request that follows it.
    result = rules_scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is not Verdict.ALLOW, [(r.code, r.evidence) for r in result.reasons]


def test_a_quoted_scam_asked_about_is_allowed_with_its_reasons_on_record(scorer: Scorer) -> None:
    text = (
        'Je viens de recevoir ce SMS : "Votre paiement Leboncoin de 650€ est en attente, confirmez sur '
        "lbc-transfert-vendeur.com sous 24h\". C'est vous ou c'est une arnaque ?"
    )
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW
    assert any(r.code.startswith("url.") for r in result.reasons)


@pytest.mark.parametrize(
    "text",
    [
        'J\'ai reçu un SMS qui dit "Votre colis ne peut être livré, réglez 2,30 € : vtd-colis-suivi.info". '
        "C'est pour toi peut-être ?",
        "depuis hier j'ai reçu un SMS 'I-CAD : frais 4,90 € sur icad-transfert-animal.com'. Je dois payer ?",
    ],
)
def test_a_received_message_quoted_with_a_question_is_allowed(scorer: Scorer, text: str) -> None:
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is Verdict.ALLOW and result.reasons


def test_a_quotation_without_a_question_still_flags(scorer: Scorer) -> None:
    # "j'ai reçu" + a quotation is not enough: the asker asks.
    text = 'J\'ai reçu la confirmation : "paiement reçu, validez sur lbc-encaissement-client.com"'
    result = scorer.score(ScoreInput(id="t", kind=Kind.MESSAGE, text=text))
    assert result.verdict is not Verdict.ALLOW
