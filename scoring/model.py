"""Linear scam models over hashed n-gram features: `TextModel` (messages, listings) and `UrlModel` (hosts).

Both are a logistic regression on sublinear TF-IDF of hashed features, calibrated with Platt scaling.
We store only arrays (active feature indices, their IDF and weight) in a skops file, plus a JSON metadata
file next to it, and compute the score ourselves: one row costs ≈ tens of µs this way, against ≈200 µs for
`predict_proba` on a one-row sparse matrix (PERFORMANCE_NOTES). The feature extraction below is the single
definition used both at training time (`scoring.training`) and at scoring time, so they cannot drift apart;
its identity is the `feature_schema` string, checked on load.

Loading an artifact is the only I/O of this module, and it happens only when `load` is called.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
ARTIFACT_FORMAT = 1
# Bound on the feature -> column memo of a loaded model (≈ 30 MB at most), so memory cannot grow forever.
_COLUMN_MEMO_SIZE = 200_000

# Text longer than this is cut before featurisation: scam cues sit in the first lines, and the cap bounds
# the worst-case latency of one message (a 100 KB paste costs the same as a 10 KB one).
MAX_MODEL_CHARS = 10_000

_WORD = re.compile(r"(?u)\b\w\w+\b")


def text_features(text: str) -> list[str]:
    """Word unigrams and bigrams of already-normalised text (lowercased here)."""
    tokens = _WORD.findall(text[:MAX_MODEL_CHARS].lower())
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def canonical_host(url_or_domain: str) -> str:
    """The host of a URL or bare domain: no scheme, user info, port, path or leading `www.`, lowercased.

    Public phishing lists hold full URLs while popular-domain lists hold bare domains; reducing both to the
    same shape keeps the UrlModel from learning "has https://" or "has a path" instead of phishing shape.
    """
    s = url_or_domain.strip().lower()
    s = _SCHEME.sub("", s)
    s = re.split(r"[/?#\\]", s, maxsplit=1)[0]
    s = s.rsplit("@", 1)[-1]
    if not s.startswith("["):
        s = s.split(":", 1)[0]
    s = s.strip(".")
    if s.startswith("www.") and s.count(".") >= 2:
        s = s[4:]
    return s


def _bucket(value: int, edges: tuple[int, ...]) -> int:
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges)


@functools.cache
def _suffix_extractor() -> Any:
    import tldextract

    # The bundled public-suffix snapshot only: no download, no cache directory (PERFORMANCE_NOTES trap).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def host_parts(host: str) -> tuple[str, str, str]:
    """(sub-domains, registrable label, public suffix) of a canonical host; IPs come back as the label."""
    parts = _suffix_extractor()(host)
    return parts.subdomain, parts.domain or host, parts.suffix


def url_features(url_or_domain: str) -> list[str]:
    """Shape features of the canonical host, the registrable label and the sub-domains kept apart.

    "paypal" inside the sub-domains of someone else's domain and "paypal" as the registrable label are
    different signals, so each part gets its own character 3–5-grams; plus suffix, label count and
    size buckets of the registrable label.
    """
    host = canonical_host(url_or_domain)
    if not host:
        return []
    sub, label, suffix = host_parts(host)
    labels = host.split(".")
    feats = [
        f"sfx={suffix or 'none'}",
        f"tld={labels[-1]}",
        f"nlabels={min(len(labels), 6)}",
        f"nsub={min(sub.count('.') + 1 if sub else 0, 4)}",
        f"len={_bucket(len(label), (4, 6, 8, 10, 13, 16, 20, 30))}",
        f"digits={_bucket(sum(c.isdigit() for c in label), (0, 1, 3, 6))}",
        f"hyphens={min(label.count('-'), 4)}",
        f"dom={label}",
    ]
    if _IPV4.match(host):
        feats.append("ip")
    if "xn--" in host:
        feats.append("punycode")
    feats.extend(f"sublabel={part}" for part in sub.split(".") if part)
    for prefix, part in (("D", f"^{label}$"), ("S", f"^{sub}$" if sub else "")):
        for n in (3, 4, 5):
            feats.extend(prefix + part[i : i + n] for i in range(len(part) - n + 1))
    return feats


Analyzer = Callable[[str], list[str]]

# Bump the schema string whenever an analyzer above changes: artifacts built with another one are refused.
FEATURE_SCHEMAS: dict[str, tuple[str, Analyzer]] = {
    "text": ("text-words12-crc32-v1", text_features),
    "url": ("url-hostparts-ngram35-crc32-v2", url_features),
}


def hash_feature(feature: str, n_bits: int) -> int:
    # crc32 rather than Python's hash(): it must give the same column in every process and every run.
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) & ((1 << n_bits) - 1)


def count_matrix(texts: Sequence[str], analyzer: Analyzer, n_bits: int) -> sp.csr_matrix:
    """Raw feature counts, one row per text, `2**n_bits` hashed columns (used for training and batches)."""
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        counts: dict[int, int] = {}
        for feat in analyzer(text):
            j = hash_feature(feat, n_bits)
            counts[j] = counts.get(j, 0) + 1
        indices.extend(counts.keys())
        data.extend(counts.values())
        indptr.append(len(indices))
    matrix = sp.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
        shape=(len(texts), 1 << n_bits),
    )
    matrix.sort_indices()
    return matrix


def tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF, each row L2-normalised (same maths as sklearn's TfidfTransformer)."""
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    lengths = np.diff(x.indptr)
    rows = np.repeat(np.arange(x.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=x.data * x.data, minlength=x.shape[0]))
    norms[norms == 0.0] = 1.0
    x.data /= norms[rows]
    return x


class ArtifactMismatchError(ValueError):
    """The artifact was built by another scikit-learn, feature schema or artifact format: retrain it."""


@dataclass(frozen=True)
class LinearParams:
    """Everything a hashed linear model needs to score; what `scoring.training` produces."""

    kind: str  # "text" | "url"
    n_bits: int
    active: np.ndarray  # int32 columns seen in training
    idf: np.ndarray  # float32 IDF of the active columns
    coef: np.ndarray  # float32 weight of the active columns
    default_idf: float  # IDF of a column never seen in training (counts in the norm only)
    intercept: float
    platt_a: float  # calibrated P = 1 / (1 + exp(platt_a * margin + platt_b))
    platt_b: float
    threshold: float  # recommended operating point on the calibrated probability


class _HashedLinearModel:
    """Shared scoring code; subclasses fix the feature kind and the shipped artifact name."""

    kind: ClassVar[str]
    artifact_name: ClassVar[str]

    def __init__(self, params: LinearParams, metadata: dict[str, Any]) -> None:
        if params.kind != self.kind:
            raise ArtifactMismatchError(f"expected a {self.kind!r} model, got {params.kind!r}")
        self.params = params
        self.metadata = metadata
        self.version: str = str(metadata.get("version", "unversioned"))
        self.threshold: float = params.threshold
        self._analyzer = FEATURE_SCHEMAS[self.kind][1]
        size = 1 << params.n_bits
        self._idf = np.full(size, params.default_idf, dtype=np.float64)
        self._idf[params.active] = params.idf
        self._coef = np.zeros(size, dtype=np.float64)
        self._coef[params.active] = params.coef
        # Feature string -> hashed column, memoised: words and host n-grams repeat across inputs. Plain
        # dict reads and writes are atomic under the GIL, so concurrent scorers may share it.
        self._columns: dict[str, int] = {}
        # A plain dict is the fastest lookup for the one-text path (numpy scalar indexing is ~10× slower).
        self._weights: dict[int, tuple[float, float]] = {
            int(j): (float(i), float(c))
            for j, i, c in zip(
                params.active, self._idf[params.active], self._coef[params.active], strict=True
            )
        }

    @classmethod
    def default_path(cls) -> Path:
        return ARTIFACTS_DIR / f"{cls.artifact_name}.skops"

    @classmethod
    def load(cls, path: str | None = None) -> _HashedLinearModel:
        """Load an artifact (`None`: the one shipped in `scoring/artifacts/`) and its `.json` metadata.

        Raises FileNotFoundError when either file is missing and ArtifactMismatchError when the artifact was
        built with another scikit-learn version, feature schema or format. Only plain containers and numpy
        arrays are accepted from the skops file: nothing in it can name code to run.
        """
        skops_path = Path(path) if path is not None else cls.default_path()
        params, metadata = read_artifact(skops_path, expected_kind=cls.kind)
        return cls(params, metadata)

    def margin_one(self, text: str) -> float:
        """Raw linear margin of one text (before calibration), the same number as the matrix path."""
        columns = self._columns
        n_bits = self.params.n_bits
        counts: dict[int, int] = {}
        # Counter does the per-feature counting in C; hashing then happens once per distinct feature,
        # and colliding features still add up in one column exactly as in `count_matrix`.
        for feat, c in Counter(self._analyzer(text)).items():
            j = columns.get(feat)
            if j is None:
                j = hash_feature(feat, n_bits)
                if len(columns) < _COLUMN_MEMO_SIZE:
                    columns[feat] = j
            counts[j] = counts.get(j, 0) + c
        if not counts:
            return self.params.intercept
        default = (self.params.default_idf, 0.0)
        weights = self._weights
        dot = 0.0
        sq = 0.0
        for j, c in counts.items():
            idf, coef = weights.get(j, default)
            v = idf if c == 1 else (1.0 + math.log(c)) * idf
            sq += v * v
            dot += v * coef
        return dot / math.sqrt(sq) + self.params.intercept

    def margins(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear margins of many texts, computed as one sparse matrix product."""
        if not texts:
            return np.zeros(0)
        x = tfidf_rows(count_matrix(texts, self._analyzer, self.params.n_bits), self._idf)
        return np.asarray(x @ self._coef).ravel() + self.params.intercept

    def _calibrate(self, margin: float) -> float:
        z = self.params.platt_a * margin + self.params.platt_b
        # Written both ways so exp never overflows on extreme margins.
        if z >= 0:
            e = math.exp(-z)
            return e / (1.0 + e)
        return 1.0 / (1.0 + math.exp(z))

    def predict_one(self, text: str) -> float:
        """Calibrated P(scam) of one input, in [0, 1]; equal to `predict_many([text])[0]` up to rounding."""
        return self._calibrate(self.margin_one(text))

    def predict_many(self, texts: Sequence[str]) -> list[float]:
        """Calibrated P(scam) of each input, in order.

        Row by row through the fast path: building a sparse matrix costs more than it saves at these
        sizes (measured ≈80 µs/text in 256-text batches vs ≈60 µs/text one by one).
        """
        return [self._calibrate(self.margin_one(text)) for text in texts]


class TextModel(_HashedLinearModel):
    """P(scam) of a message or listing. Input: `normalize(text).text` (listings: title + "\\n" + text)."""

    kind = "text"
    artifact_name = "text_model"

    @classmethod
    def load(cls, path: str | None = None) -> TextModel:
        model = super().load(path)
        assert isinstance(model, TextModel)
        return model


class UrlModel(_HashedLinearModel):
    """P(phishing) of one URL or bare domain, judged on the shape of its host (the path is ignored)."""

    kind = "url"
    artifact_name = "url_model"

    @classmethod
    def load(cls, path: str | None = None) -> UrlModel:
        model = super().load(path)
        assert isinstance(model, UrlModel)
        return model


def _trusted_types() -> list[str]:
    # The artifact holds a dict of numpy arrays and Python scalars, which skops trusts by default; any other
    # type found in a file (an estimator, a function) is refused rather than trusted.
    return []


def read_artifact(skops_path: Path, expected_kind: str) -> tuple[LinearParams, dict[str, Any]]:
    """Read and check one artifact; see `_HashedLinearModel.load` for the errors raised."""
    import skops.io as sio

    if not skops_path.exists():
        raise FileNotFoundError(f"model artifact not found: {skops_path}")
    metadata = read_metadata(skops_path)
    expected = expected_versions(expected_kind)
    for key, want in expected.items():
        got = metadata.get(key)
        if got != want:
            raise ArtifactMismatchError(
                f"{skops_path.name}: {key} is {got!r}, this code needs {want!r}; run `vigie train`"
            )
    untrusted = sio.get_untrusted_types(file=skops_path)
    if untrusted:
        raise ArtifactMismatchError(f"{skops_path.name}: refusing untrusted types {untrusted}")
    raw = sio.load(skops_path, trusted=_trusted_types())
    # skops trusts scikit-learn estimators by default; this artifact never holds one, so anything but
    # the expected scalars and numeric arrays is refused as well.
    if not isinstance(raw, dict) or set(raw) != _PAYLOAD_KEYS:
        raise ArtifactMismatchError(f"{skops_path.name}: unexpected payload layout")
    for key, value in raw.items():
        ok = isinstance(value, str | int | float) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "if"
        )
        if not ok:
            raise ArtifactMismatchError(f"{skops_path.name}: unexpected {type(value).__name__} for {key!r}")
    try:
        params = LinearParams(
            kind=str(raw["kind"]),
            n_bits=int(raw["n_bits"]),
            active=np.asarray(raw["active"], dtype=np.int64),
            idf=np.asarray(raw["idf"], dtype=np.float32),
            coef=np.asarray(raw["coef"], dtype=np.float32),
            default_idf=float(raw["default_idf"]),
            intercept=float(raw["intercept"]),
            platt_a=float(raw["platt_a"]),
            platt_b=float(raw["platt_b"]),
            threshold=float(raw["threshold"]),
        )
    except (KeyError, TypeError) as exc:
        raise ArtifactMismatchError(f"{skops_path.name}: malformed artifact ({exc})") from exc
    if params.kind != expected_kind:
        raise ArtifactMismatchError(f"{skops_path.name}: a {params.kind!r} model, expected {expected_kind!r}")
    return params, metadata


_PAYLOAD_KEYS = frozenset(
    {"kind", "n_bits", "active", "idf", "coef", "default_idf", "intercept", "platt_a", "platt_b", "threshold"}
)


def params_payload(params: LinearParams) -> dict[str, Any]:
    """The skops payload of `params`: only arrays and scalars (see `_trusted_types`)."""
    return {
        "kind": params.kind,
        "n_bits": params.n_bits,
        "active": np.asarray(params.active, dtype=np.int32),
        "idf": np.asarray(params.idf, dtype=np.float32),
        "coef": np.asarray(params.coef, dtype=np.float32),
        "default_idf": float(params.default_idf),
        "intercept": float(params.intercept),
        "platt_a": float(params.platt_a),
        "platt_b": float(params.platt_b),
        "threshold": float(params.threshold),
    }


def _canonical_zip(blob: bytes) -> bytes:
    """Rewrite a skops zip so the same payload always gives the same bytes.

    skops names its array members after `id()` of the objects and stamps the current time on every member;
    we renumber members in schema order and use a fixed timestamp, so `vigie train` is reproducible and the
    content hash can serve as the model version.
    """
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as src:
        schema = json.loads(src.read("schema.json"))
        members = {name: src.read(name) for name in src.namelist() if name != "schema.json"}
    renames: dict[str, str] = {}
    ids: dict[int, int] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str) and node["file"] in members:
                new = renames.setdefault(node["file"], f"{len(renames):04d}.npy")
                node["file"] = new
            if isinstance(node.get("__id__"), int):
                # skops memoises shared objects by this id: renumber it, keeping equal ids equal.
                node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        entries = [("schema.json", json.dumps(schema, indent=2, sort_keys=True).encode())]
        entries += sorted((renames[name], data) for name, data in members.items())
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data, compresslevel=9)
    return out.getvalue()


def serialize_params(params: LinearParams) -> bytes:
    """The reproducible skops bytes of `params`."""
    import io

    import skops.io as sio

    buffer = io.BytesIO()
    sio.dump(params_payload(params), buffer)
    return _canonical_zip(buffer.getvalue())


def content_version(kind: str, blob: bytes) -> str:
    """Date-free model version: the kind plus a hash of the artifact bytes and feature schema."""
    import hashlib

    digest = hashlib.sha256(FEATURE_SCHEMAS[kind][0].encode() + b"\0" + blob).hexdigest()
    return f"{kind}-{digest[:12]}"


def write_artifact(params: LinearParams, skops_path: Path, extra_metadata: dict[str, Any]) -> dict[str, Any]:
    """Write `params` and its metadata next to each other; returns the metadata written.

    The metadata holds the checked versions (`expected_versions`), the content version and whatever the
    trainer adds (training data summary with provenance, operating point).
    """
    blob = serialize_params(params)
    metadata: dict[str, Any] = {**extra_metadata, **expected_versions(params.kind)}
    metadata["version"] = content_version(params.kind, blob)
    metadata["threshold"] = params.threshold
    skops_path.parent.mkdir(parents=True, exist_ok=True)
    skops_path.write_bytes(blob)
    metadata_path(skops_path).write_text(
        json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return metadata


def metadata_path(skops_path: Path) -> Path:
    """Where the JSON metadata of an artifact lives: next to it, same stem."""
    return skops_path.with_suffix(".json")


def expected_versions(kind: str) -> dict[str, Any]:
    """What an artifact of `kind` must have been built with to be loadable by this code."""
    return {
        "format": ARTIFACT_FORMAT,
        "kind": kind,
        "feature_schema": FEATURE_SCHEMAS[kind][0],
        "sklearn_version": installed_version("scikit-learn"),
    }


def read_metadata(skops_path: Path) -> dict[str, Any]:
    meta_file = metadata_path(skops_path)
    if not meta_file.exists():
        raise FileNotFoundError(f"model metadata not found: {meta_file}")
    with meta_file.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data
