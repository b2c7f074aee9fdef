"""Cut-offs for comparing two customer questions by embedding similarity, per embedding model.

Each model spreads cosines its own way: multilingual-e5 gives even unrelated questions about 0.8,
so Universal Sentence Encoder's cut-offs match everything there. A cut-off set for one model
means nothing for another, so the features that compare questions
(feedback demotion, answer mining) look theirs up here by the index's model name.

The figures are measured, not set by hand: `bench/embedding_cutoffs.py` on public paraphrase
data (same-intent vs different-intent questions of BANKING77, CLINC150, HWU64; held out: Bitext
and Destek's Turkish NLU examples and KB questions). Method and figures: docs/learning.md
("Cut-offs per embedding model").
"""

from dataclasses import dataclass

from kb_index.errors import KbError


@dataclass(frozen=True)
class SimilarityCutoffs:
    same_question: float  # cosine of two query vectors at or above which they ask the same thing
    group_distance: float  # average-linkage cosine distance below which questions are grouped


# Measured 2026-12-07 (`bench/embedding_cutoffs.py`, seed 13). `none` is the lexical-only index:
# answer mining then embeds with char n-gram hashing (learning.mining.char_ngram_encoder), and
# feedback has no query vectors to compare (its cut is listed for completeness).
MEASURED: dict[str, SimilarityCutoffs] = {
    "multilingual-e5-small-q4": SimilarityCutoffs(same_question=0.90, group_distance=0.11),
    "use-multilingual-v3": SimilarityCutoffs(same_question=0.53, group_distance=0.51),
    "all-MiniLM-L6-v2": SimilarityCutoffs(same_question=0.52, group_distance=0.45),  # English only: Turkish pairs do not separate
    "none": SimilarityCutoffs(same_question=0.34, group_distance=0.71),
}


def cutoffs_for(model: str) -> SimilarityCutoffs:
    """The measured cut-offs of an embedding model; KbError for a model nobody measured."""
    try:
        return MEASURED[model]
    except KeyError:
        known = ", ".join(sorted(MEASURED))
        raise KbError(
            f"no measured similarity cut-offs for embedding model {model!r} (known: {known}); "
            "run bench/embedding_cutoffs.py --models MODEL and add them to kb_index/similarity.py"
        ) from None
