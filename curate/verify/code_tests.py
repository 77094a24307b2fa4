"""The code-test verifier: the answer is Python code, the reference its tests (asserts).

The answer (its first Python code fence if it has one) and the tests run as one program in a
child ``python -I -B``, in a fresh temporary directory as its working directory, with an
environment of ``PATH`` alone (plus ``HOME`` and ``TMPDIR`` pointing into that directory), stdin
closed and output discarded. A fixed prelude (``prelude.py``) sets the resource limits of
``CodeTestConfig`` and installs an audit hook before the first line of the program runs (the
limits are set there rather than in ``preexec_fn``, which Python documents as unsafe when the
caller has threads, as the API's workers and the eval runner do); the parent kills the whole
process group when the wall-clock limit passes. The temporary directory is removed afterwards,
whatever the program left in it.

What this guarantees: a program that loops forever ends at the CPU or wall-clock limit; one that
allocates without bound ends at the memory limit; Python-level network sockets, name lookups,
new processes, signals to other processes, changing the limits, C calls through ``ctypes``, and
writes, deletes and renames outside the temporary directory are refused; a relative path lands
in the temporary directory.

What it does **not** guarantee: this is process isolation with resource limits and audit hooks,
not a security boundary such as a container, a VM, seccomp or a separate user. The program runs
as the same user as the caller and can **read** any file that user can. Audit hooks watch
Python's own entry points: a compiled extension module, a ``dir_fd`` argument, or a C call that
raises no audit event goes around them. The program shares the prelude's interpreter, so code
written to fool the verifier (walking stack frames to the prelude, writing a forged verdict to
the result pipe) can forge a pass. It stops accidents and ordinary bad samples — infinite
loops, memory bombs, a stray ``rm`` or HTTP call, ``os._exit(0)`` before the tests — not an
adversary. Run untrusted model output at scale inside a container as well. ``RLIMIT_NPROC`` is
not set: it counts all of the user's processes, not the child's, and does not bind root; new
processes are refused by the audit hook instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from curate.verify.prelude import PROGRAM_NAME
from curate.verify.verification import Verification, correct, failed

_INTERPRETER = (
    sys.executable,
    "-I",
    "-B",
    "-X",
    "utf8",
    str(Path(__file__).with_name("prelude.py")),
)
"""Isolated mode (no environment variables, user site or script directory on the path), no
bytecode written, UTF-8 I/O whatever the locale, and the prelude that runs the program."""
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_PYTHON = {"", "python", "python3", "py"}
_MiB = 1024 * 1024


class CodeTestConfig(BaseModel):
    """The limits a program under test runs within."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_s: float = Field(5.0, gt=0)
    """Wall-clock seconds before the process group is killed (reason ``timeout``). Above the CPU
    limit, so a busy or shared machine does not fail a correct program; it ends programs that
    sleep or wait, which use no CPU."""
    cpu_s: int = Field(2, ge=1)
    """CPU seconds (``RLIMIT_CPU``, whole seconds) before SIGXCPU (reason ``timeout``). Test
    programs of one function take milliseconds and the interpreter starts in tens; 2 s is far
    above that and ends a busy loop independent of the machine's load."""
    memory_mib: int = Field(512, ge=64)
    """Address space in MiB (``RLIMIT_AS``), reason ``memory_limit`` past it. The interpreter
    maps about 30 MiB; 512 leaves room for real data structures and numpy while several
    programs run side by side. Address space, not resident memory: thread stacks and library
    mappings count, so a program that starts many threads reaches it sooner."""
    max_open_files: int = Field(64, ge=16)
    """Open file descriptors (``RLIMIT_NOFILE``); a program under test needs a handful."""
    max_file_mib: int = Field(16, ge=1)
    """The largest file the program may write, in MiB (``RLIMIT_FSIZE``); a write past it fails
    with an ``OSError`` (reason ``error``), so the temporary directory cannot fill the disk."""


def extract_code(answer: str) -> str:
    """The code of an answer: the first Markdown fence marked Python (or unmarked), else the
    whole answer."""
    for fence in _FENCE.finditer(answer):
        if fence.group(1).lower() in _PYTHON:
            return fence.group(2)
    return answer


class CodeTestsVerifier(BaseModel):
    """Python code passes its tests: ``answer + "\\n" + tests`` runs to the end in the sandbox
    (see the module docstring for what it does and does not guarantee).

    Reasons: ``correct``; ``tests_failed`` (an ``AssertionError``; the detail is the line);
    ``timeout`` (the CPU or wall-clock limit); ``memory_limit`` (``MemoryError`` at the address
    space limit); ``no_answer`` (no code); ``error`` (any other exception, its last traceback
    line, a blocked network call or process among them; or a crash).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    config: CodeTestConfig = CodeTestConfig()
    """The limits."""

    def verify(self, answer: str, reference: Any) -> Verification:
        code = extract_code(answer)
        if not code.strip():
            return failed("no_answer", "no code in the answer")
        return run_program(code + "\n" + str(reference), self.config)


def run_program(program: str, config: CodeTestConfig) -> Verification:
    """Run a Python program in the sandbox and say how it ended."""
    with tempfile.TemporaryDirectory(prefix="tunesmith-verify-") as outer:
        root = os.path.join(outer, "work")  # the program's directory; its own files stay outside
        os.mkdir(root)
        program_path = os.path.join(outer, PROGRAM_NAME)
        Path(program_path).write_text(program, encoding="utf-8")
        stderr_path = os.path.join(outer, "stderr")
        limits = (
            config.memory_mib * _MiB,
            config.cpu_s,
            config.max_open_files,
            config.max_file_mib * _MiB,
        )
        read_fd, write_fd = os.pipe()
        try:
            with open(stderr_path, "wb") as stderr:
                process = subprocess.Popen(
                    [*_INTERPRETER, program_path, str(write_fd), root, *map(str, limits)],
                    cwd=root,
                    env=_environment(root),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    pass_fds=(write_fd,),
                    start_new_session=True,
                )
            os.close(write_fd)
            write_fd = -1
            timed_out = False
            try:
                process.wait(timeout=config.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                # Before reaping, so the group id cannot belong to another process yet.
                _kill_group(process.pid)
                process.wait()
            result = _read_result(read_fd)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        tail = _last_line(stderr_path)
    return _outcome(timed_out, process.returncode, result, tail, config)


def _environment(root: str) -> dict[str, str]:
    # HOME and TMPDIR point into the sandbox so ``tempfile`` and ``~`` stay inside it; one BLAS
    # thread, because each thread's buffers count against the address-space limit.
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": root,
        "TMPDIR": root,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _read_result(fd: int) -> dict[str, str] | None:
    # Every writer has exited (or been killed), so reading ends at end-of-file; non-blocking in
    # case something outlived it.
    os.set_blocking(fd, False)
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        return None
    return result if isinstance(result, dict) else None


def _last_line(path: str) -> str:
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4096))
        lines = f.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _outcome(
    timed_out: bool,
    returncode: int,
    result: dict[str, str] | None,
    stderr_tail: str,
    config: CodeTestConfig,
) -> Verification:
    if timed_out:
        return failed("timeout", f"killed after {config.wall_s:g} s of wall-clock time")
    if result is not None and returncode == 0:
        reason, detail = str(result.get("reason", "error")), str(result.get("detail", ""))
        return correct() if reason == "correct" else failed(reason, detail)
    if returncode == -signal.SIGXCPU:
        return failed("timeout", f"killed after {config.cpu_s} s of CPU time")
    if returncode == -signal.SIGKILL:
        # Not sent by us (that is a wall-clock timeout): the CPU hard limit, a second after the
        # soft one, when the program caught SIGXCPU. Memory ends in MemoryError, not a kill.
        return failed("timeout", f"killed after {config.cpu_s + 1} s of CPU time (SIGKILL)")
    if returncode < 0:
        return failed("error", f"killed by {signal.Signals(-returncode).name}")
    if "MemoryError" in stderr_tail:
        return failed("memory_limit", stderr_tail[:200])
    if returncode == 0:
        return failed("error", "the program ended before its tests finished")
    return failed("error", stderr_tail[:200] or f"exit status {returncode}")
