"""Feedback demotion on a real (tiny) index: 👎 on similar questions lowers an article, bounded, and 👍 cancels it.

"Similar" is the index model's measured same-question cut-off (kb_index/similarity.py), whichever
model the tiny index was built with (the default one)."""

import logging
from pathlib import Path

import pytest

from feedback.ranking import DemotionSettings, FeedbackMemory
from kb_index.search import KnowledgeBase
from kb_index.similarity import cutoffs_for
from settings.model import SettingsError, load
from storage.database import Database


@pytest.fixture(scope="module")
def kb(tiny_index: Path) -> KnowledgeBase:
    return KnowledgeBase.open(tiny_index)


def test_downvotes_on_similar_questions_demote_the_article(kb: KnowledgeBase, database: Database) -> None:
    memory = FeedbackMemory(database, kb.manifest["model"], DemotionSettings(min_net=2, step=0.1, max_penalty=0.3))
    assert memory.similarity == cutoffs_for(kb.manifest["model"]).same_question
    query = "when do I get my money back"
    hits = kb.search(query, k=3, lang="en")
    assert hits[0].id == "refund-en"
    vector = kb.embed_query(query)
    assert memory.rerank(hits, vector) == hits  # no votes yet: nothing changes

    for voted in ("when will my money come back", "when do I receive my money back"):
        memory.add("refund-en", "en", kb.embed_query(voted), helpful=False)
    after_two = memory.rerank(hits, vector)
    refund_after = next(hit for hit in after_two if hit.id == "refund-en")
    assert refund_after.score == pytest.approx(max(0.0, hits[0].score - 0.2), abs=1e-4)
    others = {hit.id: hit.score for hit in hits[1:]}
    assert {hit.id: hit.score for hit in after_two if hit.id != "refund-en"} == others

    for voted in ("when does my money come back", "when will I get my money back", "money back when?"):
        memory.add("refund-en", "en", kb.embed_query(voted), helpful=False)
    capped = next(hit for hit in memory.rerank(hits, vector) if hit.id == "refund-en")
    assert capped.score == pytest.approx(max(0.0, hits[0].score - 0.3), abs=1e-4)  # bounded by max_penalty

    # an unrelated question about the same article's neighbours is not affected
    wifi_hits = kb.search("how do I change my wifi password", k=3, lang="en")
    assert memory.rerank(wifi_hits, kb.embed_query("how do I change my wifi password")) == wifi_hits


def test_demotion_changes_the_ranking_and_praise_cancels_blame(kb: KnowledgeBase, database: Database) -> None:
    settings = DemotionSettings(min_net=1, step=1.0, max_penalty=1.0)
    memory = FeedbackMemory(database, kb.manifest["model"], settings)
    query = "where is my parcel"
    hits = kb.search(query, k=3, lang="en")
    assert hits[0].id == "track-en"
    memory.add("track-en", "en", kb.embed_query("where's my parcel"), helpful=False)
    demoted = memory.rerank(hits, kb.embed_query(query))
    assert demoted[0].id != "track-en" and [h.score for h in demoted] == sorted((h.score for h in demoted), reverse=True)
    memory.add("track-en", "en", kb.embed_query("where is my parcel now"), helpful=True)
    assert memory.rerank(hits, kb.embed_query(query)) == hits


def test_demotion_can_be_switched_off(kb: KnowledgeBase, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_FEEDBACK_DEMOTION", "off")
    off = DemotionSettings.of(load().kb)
    memory = FeedbackMemory(database, kb.manifest["model"], off)
    for _ in range(3):
        memory.add("track-en", "en", kb.embed_query("where is my parcel"), helpful=False)
    hits = kb.search("where is my parcel", k=3, lang="en")
    assert memory.rerank(hits, kb.embed_query("where is my parcel")) == hits
    monkeypatch.setenv("DESTEK_FEEDBACK_MAX_PENALTY", "2")
    with pytest.raises(SettingsError, match=r"^DESTEK_FEEDBACK_MAX_PENALTY: Input should be less than or equal to 1, not '2'$"):
        load()
    monkeypatch.delenv("DESTEK_FEEDBACK_MAX_PENALTY")
    monkeypatch.setenv("DESTEK_FEEDBACK_SIMILARITY", "high")
    with pytest.raises(SettingsError, match=r"^DESTEK_FEEDBACK_SIMILARITY: "):
        load()
    monkeypatch.setenv("DESTEK_FEEDBACK_SIMILARITY", "0.93")
    assert DemotionSettings.of(load().kb).similarity == 0.93
    monkeypatch.delenv("DESTEK_FEEDBACK_SIMILARITY")
    assert DemotionSettings.of(load().kb).similarity is None  # the model's measured cut-off


def test_a_model_without_measured_cut_off_turns_demotion_off_and_says_so(
    kb: KnowledgeBase, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Never another model's numbers: without a measured cut-off (and no DESTEK_FEEDBACK_SIMILARITY) votes change nothing."""
    with caplog.at_level(logging.WARNING, logger="feedback.ranking"):
        memory = FeedbackMemory(database, "some/unmeasured-model", DemotionSettings(min_net=1, step=1.0, max_penalty=1.0))
    assert memory.similarity is None
    assert "feedback demotion off: no measured same-question cut-off for embedding model 'some/unmeasured-model'" in caplog.text
    vector = kb.embed_query("where is my parcel")
    for _ in range(3):
        memory.add("track-en", "en", vector, helpful=False)
    hits = kb.search("where is my parcel", k=3, lang="en")
    assert memory.rerank(hits, vector) == hits
    chosen = FeedbackMemory(database, "some/unmeasured-model", DemotionSettings(similarity=0.5, min_net=1, step=1.0, max_penalty=1.0))
    assert chosen.rerank(hits, vector)[0].id != "track-en"  # an explicit DESTEK_FEEDBACK_SIMILARITY applies
