"""The one final-answer extractor: what marks an answer, and the two policies built on it."""

from __future__ import annotations

import pytest

from curate.text.answers import final_number, marked_number, stated_number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Thus, the final result is:\n10 / 5 = 2", 2),  # a sum still to be worked out
        ("The total is 10, so each gets 5.", 10),  # a marked number beats the last one ...
        ("The total is 10.5 kg", 10.5),  # ... and a decimal is read whole
        ("Steps:\n- 24 eggs\n- 12 boxes", 12),  # a bullet is not a minus sign
        ("Temperatures fell to -4 overnight", -4),
    ],
)
def test_final_number(text: str, number: float) -> None:
    assert final_number(text) == number


def test_a_phrase_number_is_taken_whole_not_cut_before_an_operator() -> None:
    marked = marked_number("the answer is 12 + 3 = 15, so 15 it is. The answer is 15")
    assert marked is not None and marked.value == 15 and marked.marker == "answer_phrase"
    assert marked_number("the result is: 10 / 5 = 2") is None


def test_stated_number_does_not_guess_in_long_unmarked_answers() -> None:
    long = "There were 3 cats in 2019 and 7 dogs in 2020, and later on a few more arrived too."
    assert stated_number(long) is None
    assert stated_number(long, quantity=True) is not None  # a quantity question's last line
    assert stated_number("It costs $12.")[1] == 12  # the only number of a short answer
