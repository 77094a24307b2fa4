"""Verifiers: numeric, exact, regex, JSON Schema, and Python code tests in a real sandboxed
subprocess (no mocks)."""

from __future__ import annotations

import os

import pytest

from curate import (
    CodeTestConfig,
    CodeTestsVerifier,
    ConfigError,
    InputError,
    Verification,
    get_verifier,
)

FAST = CodeTestConfig(wall_s=3.0, cpu_s=1, memory_mib=256)
"""Tighter limits than the defaults, so the runaway samples end quickly."""

ADD_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n"


def run_code(code: str, tests: str = "", config: CodeTestConfig = FAST) -> Verification:
    return CodeTestsVerifier(config=config).verify(code, tests)


@pytest.mark.parametrize(
    ("answer", "reference", "reason"),
    [
        ("5 + 13 = 18.\n#### 18", 18, "correct"),
        ("The answer is 18.0", "She pays 6 * 3 = 18 dollars.\n#### 18", "correct"),
        ("The answer is 17", 18, "wrong_answer"),
        ("I am not sure.", 18, "no_answer"),
    ],
)
def test_numeric(answer: str, reference: object, reason: str) -> None:
    result = get_verifier("numeric").verify(answer, reference)
    assert (result.passed, result.reason) == (reason == "correct", reason)


def test_numeric_tolerance() -> None:
    assert not get_verifier("numeric").verify("about 3.14", 3.14159).passed
    assert get_verifier("numeric", abs_tol=0.01).verify("about 3.14", 3.14159).passed
    assert get_verifier("numeric", rel_tol=0.01).verify("1010", 1000).passed
    with pytest.raises(InputError):
        get_verifier("numeric").verify("18", "no number here")


def test_exact_normalises_whitespace_and_optionally_case() -> None:
    assert get_verifier("exact").verify("  Paris \n", "Paris").passed
    assert get_verifier("exact").verify("New   York", "New York").passed
    assert get_verifier("exact").verify("paris", "Paris").reason == "wrong_answer"
    assert get_verifier("exact", ignore_case=True).verify("PARIS", "Paris").passed
    assert get_verifier("exact").verify("   ", "Paris").reason == "no_answer"


def test_regex_searches_or_matches_whole() -> None:
    assert get_verifier("regex").verify("The code is AB-123.", r"[A-Z]{2}-\d{3}").passed
    assert (
        not get_verifier("regex", full=True).verify("The code is AB-123.", r"[A-Z]{2}-\d+").passed
    )
    assert get_verifier("regex", full=True).verify(" AB-123\n", r"[A-Z]{2}-\d+").passed
    assert get_verifier("regex", ignore_case=True).verify("yes", "YES").passed
    with pytest.raises(InputError):
        get_verifier("regex").verify("x", "(unclosed")


SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"name": "Ada", "age": 36}', "correct"),
        ('```json\n{"name": "Ada", "age": 36}\n```', "correct"),
        ('Here it is: {"name": "Ada", "age": 36} — done.', "correct"),  # the first object
        ('{"name": "Ada", "age": -1}', "schema_violation"),
        ('{"name": "Ada"}', "schema_violation"),
        ("name: Ada, age: 36", "invalid_json"),
    ],
)
def test_json_schema(answer: str, reason: str) -> None:
    result = get_verifier("json_schema").verify(answer, SCHEMA)
    assert result.reason == reason and result.passed == (reason == "correct")


def test_json_schema_rejects_a_bad_schema() -> None:
    with pytest.raises(InputError):
        get_verifier("json_schema").verify("{}", {"type": "no-such-type"})


def test_registry_names_and_options() -> None:
    with pytest.raises(InputError, match="unknown verifier"):
        get_verifier("no_such_verifier")
    with pytest.raises(ConfigError):
        get_verifier("numeric", tolerance=1)
    verifier = get_verifier("code_tests", config={"wall_s": 2})
    assert isinstance(verifier, CodeTestsVerifier) and verifier.config.wall_s == 2


def test_code_tests_pass_a_correct_solution_in_a_fence() -> None:
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nIt adds."
    assert run_code(answer, ADD_TESTS) == Verification(passed=True, reason="correct")


def test_code_tests_fail_a_wrong_solution_and_name_the_assert() -> None:
    result = run_code("def add(a, b):\n    return a - b\n", ADD_TESTS)
    assert result.reason == "tests_failed" and not result.passed
    assert "assert add(2, 3) == 5" in result.detail


def test_code_tests_report_other_exceptions_and_empty_answers() -> None:
    result = run_code("def add(a, b):\n    return undefined_name\n", ADD_TESTS)
    assert result.reason == "error" and "NameError" in result.detail
    assert run_code("def add(a, b) return a\n", ADD_TESTS).reason == "error"  # a syntax error
    assert run_code("```python\n```", ADD_TESTS).reason == "no_answer"


def test_code_tests_do_not_pass_a_program_that_exits_before_its_tests() -> None:
    assert run_code("import os\nos._exit(0)\n", "assert False").reason == "error"
    assert run_code("import sys\nsys.exit(0)\n", "assert False").reason == "error"


def test_a_busy_loop_is_killed_at_the_time_limit() -> None:
    result = run_code("while True:\n    pass\n")  # it returned: the process was killed
    assert (result.passed, result.reason) == (False, "timeout")


def test_a_sleeping_program_is_killed_at_the_wall_clock_limit() -> None:
    result = run_code("import time\ntime.sleep(60)\n", config=CodeTestConfig(wall_s=1.0))
    assert result.reason == "timeout" and "wall-clock" in result.detail


@pytest.mark.parametrize(
    "code",
    [
        "data = bytearray(10**12)\n",
        "held = []\nwhile True:\n    held.append(b'x' * 10**7)\n",
    ],
)
def test_an_unbounded_allocation_ends_at_the_memory_limit(code: str) -> None:
    assert run_code(code).reason == "memory_limit"


def test_the_network_is_blocked() -> None:
    code = "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    result = run_code(code)
    assert result.reason == "error" and "network is blocked" in result.detail


def test_new_processes_are_blocked() -> None:
    result = run_code("import subprocess\nsubprocess.run(['ls'])\n")
    assert result.reason == "error" and "blocked" in result.detail
    assert "blocked" in run_code("import os\nos.system('ls')\n").detail


def test_files_land_in_a_temporary_directory_that_is_removed() -> None:
    code = "import os\nopen('out.txt', 'w').write('hello')\nhere = os.getcwd()\n"
    tests = "assert open(os.path.join(here, 'out.txt')).read() == 'hello'\nassert False, here\n"
    result = run_code(code, tests)
    assert result.reason == "tests_failed"  # the file was there; the cwd comes back in the message
    sandbox = result.detail.rsplit("(", 1)[1].rstrip(")")
    assert "tunesmith-verify-" in sandbox
    assert not os.path.exists(sandbox)  # removed, with the file in it
    assert not os.path.exists("out.txt")  # nothing landed in the caller's directory


@pytest.mark.parametrize("path", ["../../escaped.txt", "/tmp/tunesmith-escaped.txt"])
def test_writes_outside_the_sandbox_are_refused(path: str) -> None:
    result = run_code(f"open({path!r}, 'w').write('x')\n")
    assert result.reason == "error" and "outside the sandbox" in result.detail
    assert not os.path.exists("/tmp/tunesmith-escaped.txt")


def test_ctypes_cannot_call_c_but_ordinary_programs_run() -> None:
    libc = "import ctypes\nctypes.CDLL(None).socket(2, 1, 0)\n"
    assert "blocked" in run_code(libc).detail
    asyncio_program = "import asyncio\n\nasync def one():\n    return 1\n"
    assert run_code(asyncio_program, "assert asyncio.run(one()) == 1").passed  # a socket pair
    threads = "import threading\nt = threading.Thread(target=print)\nt.start()\nt.join()\n"
    assert run_code(threads).passed


def test_caught_cpu_signals_still_end_at_the_hard_limit() -> None:
    code = "import signal\nsignal.signal(signal.SIGXCPU, lambda *a: None)\nwhile True:\n    pass\n"
    assert run_code(code).reason == "timeout"
