"""Per-model similarity cut-offs: every model the index offers has measured ones; any other model is refused by name."""

import pytest

from kb_index.errors import KbError
from kb_index.similarity import MEASURED, cutoffs_for

OFFERED = ("use-multilingual-v3", "multilingual-e5-small-q4", "all-MiniLM-L6-v2", "none")  # kb_index/embedders.py's names


def test_every_offered_model_has_measured_cut_offs_of_its_own() -> None:
    assert set(OFFERED) <= set(MEASURED)
    for model in OFFERED:
        cutoffs = cutoffs_for(model)
        assert 0 < cutoffs.same_question < 1 and 0 < cutoffs.group_distance < 1
    # the reason for the table: USE's cut-offs are not e5's (e5's cosines sit in a narrow high band)
    assert cutoffs_for("multilingual-e5-small-q4").same_question > cutoffs_for("use-multilingual-v3").same_question
    assert cutoffs_for("multilingual-e5-small-q4").group_distance < cutoffs_for("use-multilingual-v3").group_distance


def test_an_unmeasured_model_is_refused_in_one_line_naming_it() -> None:
    with pytest.raises(KbError) as raised:
        cutoffs_for("intfloat/multilingual-e5-large")
    message = str(raised.value)
    assert "'intfloat/multilingual-e5-large'" in message and "bench/embedding_cutoffs.py" in message and "\n" not in message
