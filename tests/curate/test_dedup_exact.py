"""Exact deduplication: normalisation, whole-record copies, same-prompt groups, representatives."""

from __future__ import annotations

import json

import polars as pl

from curate.dedup.exact import ExactConfig, ExactDedup
from curate.text.normalize import normalize_text


def test_normalisation_folds_unicode_case_punctuation_and_spaces():
    assert normalize_text("  Hello,\tWORLD!! ") == "hello world"
    assert normalize_text("ﬁnal — answer…") == normalize_text("final answer")
    assert normalize_text("Ｆｕｌｌｗｉｄｔｈ") == "fullwidth"
    assert normalize_text("hello world") != normalize_text("hello word")
    assert normalize_text('"Quoted" (text).') == "quoted text"


def test_normalisation_keeps_what_changes_meaning():
    # Operators and symbols are content: records differing in one are not copies.
    assert normalize_text("Is 5 > 3?") != normalize_text("Is 5 < 3?")
    assert normalize_text("x = a - b") != normalize_text("x = a * b")
    assert normalize_text("pi is 3.14") != normalize_text("pi is 314")
    assert normalize_text("C++") == "c++"


def test_copies_that_differ_only_in_form_are_one_cluster(sft_frame):
    frame = sft_frame(
        [
            ("What is the capital of France?", "Paris."),
            ("what is the  capital of france", "PARIS"),
            ("What is the capital of Spain?", "Madrid."),
        ]
    )
    found = ExactDedup().run(frame).findings
    drops = found.filter(pl.col("reason") == "exact_duplicate")
    assert drops["row"].to_list() == [1]
    evidence = json.loads(drops["evidence"][0])
    assert evidence["duplicate_of"] == frame["id"][0]
    assert evidence["similarity"] == 1.0 and evidence["cluster_size"] == 2
    assert drops["severity"][0] == "drop" and drops["cluster_id"][0].startswith("exact:")


def test_representative_is_complete_then_longest_then_earliest(sft_frame):
    # Row 0 is cut mid-sentence; rows 1 and 2 are complete, row 2 the longest: row 2 is kept.
    frame = sft_frame(
        [
            ("List two colours", "Red and blue are two colours and"),
            ("List two colours.", "Red and blue are two colours and."),
            ("list two colours", "Red and blue are two colours and!!!"),
            ("list two colours", "red and blue are two colours and."),
        ]
    )
    found = ExactDedup().run(frame).findings.filter(pl.col("reason") == "exact_duplicate")
    assert sorted(found["row"].to_list()) == [0, 1, 3]
    evidence = [json.loads(e) for e in found["evidence"]]
    assert {e["duplicate_of"] for e in evidence} == {frame["id"][2]}
    assert all("complete answer first" in e["rule"] for e in evidence)
    # Among equals (same length, both complete) the earliest row wins.
    tie = sft_frame([("Q", "Same answer."), ("q", "same answer.")])
    kept = ExactDedup().run(tie).findings
    assert kept["row"].to_list() == [1]


def test_a_complete_answer_is_kept_over_a_longer_cut_one(sft_frame):
    # Same text once normalised; row 0 is the longest (the dash) but stops mid-sentence.
    frame = sft_frame(
        [
            ("List two colours", "Red and blue are two colours \u2014 and"),
            ("List two colours", "Red and blue are two colours and."),
        ]
    )
    found = ExactDedup().run(frame).findings.filter(pl.col("reason") == "exact_duplicate")
    assert found["row"].to_list() == [0]
    assert json.loads(found["evidence"][0])["duplicate_of"] == frame["id"][1]


def test_a_kto_label_does_not_hide_how_the_answer_ends():
    from curate.io.read import read_rows

    rows = [
        {"prompt": "Say hello", "completion": "Hello to you, my friend, and", "label": True},
        {"prompt": "Say hello", "completion": "Hello to you my friend and.", "label": True},
    ]
    frame = read_rows(rows).records
    assert frame["kind"].to_list() == ["kto", "kto"]
    found = ExactDedup().run(frame).findings.filter(pl.col("reason") == "exact_duplicate")
    assert found["row"].to_list() == [0]  # the complete answer (row 1) is kept


def test_same_prompt_different_answer_is_flagged_not_dropped(sft_frame):
    frame = sft_frame(
        [
            ("Is the earth round?", "Yes."),
            ("Is the Earth round", "No, it is flat."),
            ("Is the earth round?", "Yes."),
            ("Unrelated question", "Yes."),
        ]
    )
    found = ExactDedup().run(frame).findings
    group = found.filter(pl.col("reason") == "same_prompt_different_answer")
    assert set(group["severity"]) == {"info"}
    assert sorted(group["row"].to_list()) == [0, 1]  # row 2 is an exact copy, dropped instead
    assert group["cluster_id"].n_unique() == 1 and group["cluster_id"][0].startswith("prompt:")
    assert found.filter(pl.col("severity") == "drop")["row"].to_list() == [2]
    off = ExactDedup(ExactConfig(prompt_groups=False)).run(frame).findings
    assert "same_prompt_different_answer" not in off["reason"].to_list()


def test_distinct_records_have_no_findings(sft_frame):
    frame = sft_frame([("Add 2 and 2", "4"), ("Add 2 and 3", "5"), ("Add 3 and 2", "5")])
    assert ExactDedup().run(frame).findings.is_empty()
