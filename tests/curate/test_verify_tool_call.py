"""The tool-call verifier: parsing the forms small models emit, and BFCL's rules for a right call.

The cases are real BFCL v4 questions (``../shared/data/bfcl``) where the data is at hand, plus
small hand-written tools for the forms and failure reasons.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.errors import InputError
from curate.verify import ToolCallVerifier, get_verifier, parse_tool_calls

TRIANGLE = {
    "type": "function",
    "function": {
        "name": "calculate_triangle_area",
        "description": "Calculate the area of a triangle given its base and height.",
        "parameters": {
            "type": "object",
            "properties": {
                "base": {"type": "integer"},
                "height": {"type": "integer"},
                "unit": {"type": "string"},
            },
            "required": ["base", "height"],
        },
    },
}
# BFCL simple_python_0's ground truth, as the possible_answer file gives it.
TRIANGLE_REF = {
    "calls": [{"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}],
    "tools": [TRIANGLE],
}


def verify(answer, reference=TRIANGLE_REF):
    return get_verifier("tool_call").verify(answer, reference)


def test_registered_by_name() -> None:
    assert isinstance(get_verifier("tool_call"), ToolCallVerifier)


@pytest.mark.parametrize(
    "answer",
    [
        '{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}',
        '{"name": "calculate_triangle_area", "parameters": {"base": 10, "height": 5}}',
        '<tool_call>{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}'
        "</tool_call>",
        '<tool_call>[{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}]'
        "</tool_call>",
        '[{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}]',
        "calculate_triangle_area(base=10, height=5)",
        "[calculate_triangle_area(base=10, height=5, unit='units')]",
        "```python\ncalculate_triangle_area(base=10, height=5)\n```",
        '```json\n{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}\n```',
        'Here is the call: {"name": "calculate_triangle_area", "arguments": {"base": 10, '
        '"height": 5}} — done.',
        '{"type": "function", "function": {"name": "calculate_triangle_area", '
        '"arguments": "{\\"base\\": 10, \\"height\\": 5}"}}',
        # the last block left open, as a model cut at its stop token leaves it
        '<tool_call>{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}',
    ],
)
def test_forms_of_call_text_parse_and_pass(answer: str) -> None:
    verdict = verify(answer)
    assert verdict.passed, verdict
    assert verdict.reason == "correct"


def test_structured_calls_pass_as_well_as_text() -> None:
    openai_calls = [
        {
            "id": "call_0",
            "type": "function",
            "function": {
                "name": "calculate_triangle_area",
                "arguments": '{"base": 10, "height": 5}',
            },
        }
    ]
    assert verify(openai_calls).passed


def test_python_syntax_is_read_without_eval(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    # If anything were evaluated, this would create the file.
    text = f"calculate_triangle_area(base=10, height=open({str(marker)!r}, 'w'))"
    assert parse_tool_calls(text) == []
    assert not marker.exists()
    calls = parse_tool_calls("math.hypot(x=-3, y=4.0, flags=[true, null], opts={'a': (1, 2)})")
    assert calls[0].name == "math.hypot"
    assert calls[0].arguments == {"x": -3, "y": 4.0, "flags": [True, None], "opts": {"a": [1, 2]}}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("The area is 25 square units.", "no_call"),
        ("[]", "no_call"),
        ('{"name": "Alice", "age": 31}', "no_call"),  # JSON, but not a call
        ("calculate_area(base=10, height=5)", "wrong_function"),
        ("calculate_triangle_area(base=10, height=6)", "wrong_value"),
        ("calculate_triangle_area(base=10, height=5, unit='cm')", "wrong_value"),
        ("calculate_triangle_area(base=10)", "missing_argument"),
        ("calculate_triangle_area(base=10, height='5')", "schema_violation"),
        ("calculate_triangle_area(base=10, height=5, colour='red')", "unexpected_argument"),
        ("calculate_triangle_area(10, 5)", "positional_argument"),
        (
            "[calculate_triangle_area(base=10, height=5), calculate_triangle_area(base=1, "
            "height=2)]",
            "wrong_count",
        ),
    ],
)
def test_wrong_calls_fail_with_their_reason(answer: str, reason: str) -> None:
    verdict = verify(answer)
    assert not verdict.passed
    assert verdict.reason == reason, verdict


def test_format_only_asks_for_a_parseable_call_not_the_right_one() -> None:
    fmt = get_verifier("tool_call", format_only=True)
    assert fmt.verify("calculate_area(base=1)", None).passed
    assert fmt.verify("The area is 25.", None).reason == "no_call"


def test_bfcl_string_rules_and_acceptable_alternatives() -> None:
    ref = {
        "calls": [
            {
                "name": "game.winner",
                "acceptable": {
                    "teams": [["Lakers", "Clippers"], ["Clippers", "Lakers"]],
                    "date": ["2021-01-28", "01/28/2021", "Jan.28,2021"],
                    "venue": ["", "home"],
                },
            }
        ]
    }
    # the second list, the third date spelled with other spaces and case, venue left out
    ok = verify("game.winner(teams=['clippers', 'LAKERS'], date='jan 28, 2021')", ref)
    assert ok.passed, ok
    # an optional parameter given, with one of its values
    assert verify("game.winner(teams=['Lakers','Clippers'], date='2021-01-28', venue='Home')", ref)
    # a value outside the acceptable list
    wrong = verify("game.winner(teams=['Lakers', 'Clippers'], date='2021-01-29')", ref)
    assert wrong.reason == "wrong_value"
    # a list that is none of the acceptable ones
    assert verify("game.winner(teams=['Lakers'], date='2021-01-28')", ref).reason == "wrong_value"
    # a parameter the reference expects, absent, with no "" among its values
    assert verify("game.winner(date='2021-01-28')", ref).reason == "missing_argument"


def test_numbers_booleans_and_dicts() -> None:
    ref = {
        "calls": [
            {
                "name": "f",
                "acceptable": {
                    "x": [2.0],
                    "flag": ["", True],
                    "cond": [{"dept": ["Science"], "school": ["Bluebird HS", "Bluebird High"]}],
                },
            }
        ]
    }
    assert verify("f(x=2, cond={'dept': 'science', 'school': 'bluebird hs'})", ref).passed
    assert verify(
        "f(x=2, flag=1, cond={'dept': 'Science', 'school': 'Bluebird HS'})", ref
    ).reason == ("wrong_value")  # 1 is not True here, as in BFCL
    assert verify("f(x=2, cond={'dept': 'Science'})", ref).reason == "wrong_value"  # key missing
    assert verify("f(x=2, cond={'dept': 'Science', 'school': 'X'})", ref).reason == "wrong_value"


def test_exact_arguments_reference() -> None:
    ref = {"calls": [{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}]}
    assert verify("calculate_triangle_area(base=10, height=5)", ref).passed
    assert verify("calculate_triangle_area(base=10, height=5, unit='m')", ref).reason == (
        "unexpected_argument"
    )


def test_several_calls_match_in_any_order() -> None:
    ref = [
        {"name": "weather", "arguments": {"city": "Paris"}},
        {"name": "weather", "arguments": {"city": "Lyon"}},
    ]
    text = '[{"name": "weather", "arguments": {"city": "Lyon"}}, ' + (
        '{"name": "weather", "arguments": {"city": "Paris"}}]'
    )
    assert verify(text, ref).passed
    blocks = (
        "<tool_call>weather(city='Paris')</tool_call>\n<tool_call>weather(city='Lyon')</tool_call>"
    )
    assert verify(blocks, ref).passed
    twice = "[weather(city='Paris'), weather(city='Paris')]"
    assert verify(twice, ref).reason == "wrong_value"


def test_dots_in_names_may_be_underscores() -> None:
    ref = {"calls": [{"math.factorial": {"number": [5]}}]}
    assert verify('{"name": "math_factorial", "arguments": {"number": 5}}', ref).passed


def test_bfcl_function_docs_are_read_as_json_schema() -> None:
    bfcl_doc = {
        "name": "circle.area",
        "parameters": {
            "type": "dict",
            "properties": {"radius": {"type": "float"}, "unit": {"type": "any", "optional": True}},
            "required": ["radius"],
        },
    }
    ref = {"calls": [{"circle.area": {"radius": [2.0], "unit": ["", "cm"]}}], "tools": [bfcl_doc]}
    assert verify("circle.area(radius=2)", ref).passed  # an integer is a valid float
    assert verify("circle.area(radius='2')", ref).reason == "schema_violation"


def test_an_unusable_reference_is_an_input_error() -> None:
    with pytest.raises(InputError):
        verify("f(a=1)", {"calls": ["not a call"]})
    bad_schema = {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": 5}}}}
    with pytest.raises(InputError):
        verify("f(a=1)", {"calls": [{"name": "f", "arguments": {"a": 1}}], "tools": [bad_schema]})


def test_every_bfcl_reference_rendered_as_a_call_verifies(shared_data: Path) -> None:
    """All 600 real questions: the first acceptable values, written as a call, pass; BFCL's one
    known bad answer (simple_python_307: ``venue: true`` for a string) fails on its schema."""
    from curate.verify.tool_call import ReferenceCall, example_arguments, reference_calls

    failures = {}
    for category in ("simple_python", "multiple"):
        questions = (shared_data / "bfcl" / f"BFCL_v4_{category}.json").read_text().splitlines()
        answers = (
            (shared_data / "bfcl" / "possible_answer" / f"BFCL_v4_{category}.json")
            .read_text()
            .splitlines()
        )
        for q_line, a_line in zip(questions, answers, strict=True):
            q, a = json.loads(q_line), json.loads(a_line)
            ref = {"calls": a["ground_truth"], "tools": q["function"]}
            calls = [
                {"name": c.name, "arguments": example_arguments(c)}
                for c in reference_calls(ref)
                if isinstance(c, ReferenceCall)
            ]
            verdict = verify(json.dumps(calls), ref)
            if not verdict.passed:
                failures[q["id"]] = verdict.reason
    assert failures == {"simple_python_307": "schema_violation"}
