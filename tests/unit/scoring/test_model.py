"""TextModel/UrlModel: features, the fast scoring path, artifact round trip and refusal of mismatches."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from sklearn.feature_extraction.text import TfidfTransformer

from scoring.model import (
    ArtifactMismatchError,
    TextModel,
    UrlModel,
    _canonical_zip,
    canonical_host,
    count_matrix,
    metadata_path,
    text_features,
    tfidf_rows,
    url_features,
    write_artifact,
)
from scoring.training import Example, TrainConfig, fit_linear

# Hand-written, tiny: enough for a 3-fold fit, not a quality claim.
SCAMS = [
    "je vous paie par paypal entre amis envoyez moi votre mail",
    "contactez moi sur whatsapp au 0612345678 pour le paiement",
    "cliquez sur le lien de paiement securise pour recevoir les fonds",
    "envoyez le code recu par sms pour valider la transaction",
    "je vous envoie un mandat cash, remboursez la difference par virement",
    "le livreur passera, payez les frais de livraison avec un coupon transcash",
    "votre colis est bloque, reglez les frais sur ce site de livraison",
    "ecrivez moi par email, je ne suis jamais sur l'application",
]
HONEST = [
    "bonjour, le velo est toujours disponible ?",
    "oui, vous pouvez passer samedi matin vers 10h",
    "je prefere la remise en main propre avec paiement en especes",
    "merci, je vous envoie l'adresse par la messagerie du site",
    "est-ce que le prix est negociable ? je peux venir demain",
    "parfait, a demain devant la gare",
    "le canape fait 2 metres, il faudra une camionnette",
    "j'ai utilise le paiement securise de la plateforme, merci",
]


def _examples() -> list[Example]:
    return [Example(t, 1, "hand") for t in SCAMS] + [Example(t, 0, "hand") for t in HONEST]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    params, report = fit_linear("text", _examples(), TrainConfig(n_bits=16, folds=3))
    path = tmp_path_factory.mktemp("artifact") / "text_model.skops"
    meta = write_artifact(params, path, {"training": report.to_dict()})
    return path, meta


def test_round_trip_scores_like_training(trained: tuple[Path, dict[str, object]]) -> None:
    path, meta = trained
    model = TextModel.load(str(path))
    assert model.version == meta["version"]
    assert model.version.startswith("text-")
    scam = model.predict_one("paiement par paypal entre amis, envoyez votre mail")
    honest = model.predict_one("bonjour, toujours disponible ? je peux passer samedi")
    assert 0.0 <= honest < scam <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "paypal",
        "paypal paypal paypal paypal whatsapp",
        "Bonjour, je suis intéressé. Écrivez-moi sur WhatsApp !",
        "mot " * 3000,
        "😀 ∑ 中文 текст",
    ],
)
def test_predict_one_equals_predict_many(trained: tuple[Path, dict[str, object]], text: str) -> None:
    model = TextModel.load(str(trained[0]))
    many = model.predict_many(["autre chose", text, ""])
    assert model.predict_one(text) == pytest.approx(many[1], abs=1e-9)


def test_fast_path_equals_the_training_matrix_path(trained: tuple[Path, dict[str, object]]) -> None:
    model = TextModel.load(str(trained[0]))
    texts = ["paypal entre amis paypal", "bonjour samedi", "", "lien lien lien de paiement securise"]
    matrix_margins = model.margins(texts)
    for text, expected in zip(texts, matrix_margins, strict=True):
        assert model.margin_one(text) == pytest.approx(float(expected), abs=1e-9)
        assert model.margin_one(text) == pytest.approx(float(expected), abs=1e-9)  # memoised columns


def test_predict_many_of_nothing_is_empty(trained: tuple[Path, dict[str, object]]) -> None:
    assert TextModel.load(str(trained[0])).predict_many([]) == []


def test_same_inputs_give_identical_files(tmp_path: Path) -> None:
    first = tmp_path / "a" / "text_model.skops"
    second = tmp_path / "b" / "text_model.skops"
    for path in (first, second):
        params, _ = fit_linear("text", _examples(), TrainConfig(n_bits=16, folds=3))
        write_artifact(params, path, {})
    assert first.read_bytes() == second.read_bytes()
    assert metadata_path(first).read_text() == metadata_path(second).read_text()


def test_canonical_zip_is_independent_of_object_ids() -> None:
    payload = {"a": np.arange(3), "b": np.ones(2)}
    blobs = []
    for _ in range(2):
        buffer = io.BytesIO()
        # Fresh copies get fresh id()s, which skops writes into member names.
        sio.dump({k: v.copy() for k, v in payload.items()}, buffer)
        blobs.append(_canonical_zip(buffer.getvalue()))
    assert blobs[0] == blobs[1]
    loaded = sio.load(io.BytesIO(blobs[0]), trusted=[])
    assert np.array_equal(loaded["a"], payload["a"])


@pytest.mark.parametrize(
    ("key", "value"),
    [("sklearn_version", "0.0.1"), ("feature_schema", "text-words12-crc32-v0"), ("format", 99)],
)
def test_metadata_mismatch_is_refused(
    trained: tuple[Path, dict[str, object]], tmp_path: Path, key: str, value: object
) -> None:
    path = tmp_path / "text_model.skops"
    path.write_bytes(trained[0].read_bytes())
    meta = json.loads(metadata_path(trained[0]).read_text())
    meta[key] = value
    metadata_path(path).write_text(json.dumps(meta))
    with pytest.raises(ArtifactMismatchError, match=key):
        TextModel.load(str(path))


def test_wrong_kind_is_refused(trained: tuple[Path, dict[str, object]]) -> None:
    with pytest.raises(ArtifactMismatchError):
        UrlModel.load(str(trained[0]))


def test_missing_files_raise_file_not_found(trained: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TextModel.load(str(tmp_path / "nowhere.skops"))
    lonely = tmp_path / "text_model.skops"
    lonely.write_bytes(trained[0].read_bytes())  # artifact without its metadata
    with pytest.raises(FileNotFoundError):
        TextModel.load(str(lonely))


def test_untrusted_or_unexpected_content_is_refused(
    trained: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    meta = metadata_path(trained[0]).read_text()
    payload = sio.load(trained[0], trusted=[])
    for name, bad in [("function", np.sum), ("estimator", TfidfTransformer())]:
        path = tmp_path / f"{name}.skops"
        sio.dump({**payload, "coef": bad}, path)
        metadata_path(path).write_text(meta)
        with pytest.raises(ArtifactMismatchError):
            TextModel.load(str(path))


def test_tfidf_matches_scikit_learn() -> None:
    texts = ["paypal entre amis", "paypal paypal virement", "bonjour", ""]
    counts = count_matrix(texts, text_features, 12)
    transformer = TfidfTransformer(sublinear_tf=True).fit(counts)
    ours = tfidf_rows(counts, transformer.idf_)
    theirs = transformer.transform(counts)
    assert abs(ours - sp.csr_matrix(theirs)).max() < 1e-12


def test_text_features_are_words_and_bigrams() -> None:
    assert text_features("Paye PAR paypal") == ["paye", "par", "paypal", "paye par", "par paypal"]


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("https://www.leboncoin.fr/ad/123?x=1", "leboncoin.fr"),
        ("HTTP://User:pw@Secure-Pay.Example.COM:8443/login", "secure-pay.example.com"),
        ("leboncoin.fr", "leboncoin.fr"),
        ("www.com", "www.com"),
        ("paypal.me/jean", "paypal.me"),
        ("example.org.", "example.org"),
        ("", ""),
    ],
)
def test_canonical_host(raw: str, host: str) -> None:
    assert canonical_host(raw) == host


def test_url_features_ignore_scheme_and_path() -> None:
    assert url_features("https://www.example.com/a/b?c") == url_features("example.com")


def test_shipped_artifacts_load_and_rank_sensibly() -> None:
    from scoring.training import model_text

    text = TextModel.load()
    url = UrlModel.load()
    scam = model_text("Je vous paie par PayPal entre amis, donnez-moi votre adresse e-mail pour le lien.")
    honest = model_text("Bonjour, il est toujours disponible ? Je peux passer le chercher samedi.")
    assert text.predict_one(scam) > text.predict_one(honest)
    assert url.predict_one("google.com") < url.threshold
    assert 0.0 < url.threshold < 1.0
