"""The fixed prelude of the code-test sandbox: run as a script in the child, never imported.

``python -I -B prelude.py PROGRAM RESULT_FD ROOT MEMORY CPU NOFILE FSIZE``

Before any untrusted line runs it sets the resource limits (soft and hard alike), installs an
audit hook, and only then executes PROGRAM (the answer followed by its tests) from its file in a
fresh ``__main__`` module, so the program sees none of the prelude's names. It writes one JSON
line ``{"reason": ..., "detail": ...}`` to RESULT_FD and exits; the parent decides the rest
(timeouts, signals) from the exit status. See ``code_tests.py`` for what this does not stop.

The audit hook cannot be removed by later code (``sys.addaudithook`` has no inverse). It refuses,
with ``SandboxError`` (a ``PermissionError``), every network socket, connect, bind and name
lookup (a connected local socket pair, which asyncio needs, is allowed), every new process (fork,
exec, spawn, ``subprocess``, ``os.system``), signals to other processes, changing the resource
limits, calling C through ``ctypes`` (which would go around the hook; importing it is allowed,
numpy does), and any write, delete, rename, link or permission change outside ROOT, the fresh
temporary directory that is the program's working directory.
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import resource
import signal
import socket
import sys
import traceback
import types
from typing import Any

PROGRAM_NAME = "solution.py"
"""The program's file name in tracebacks."""

_NETWORK = frozenset(
    {
        "socket.bind",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyaddr",
        "socket.gethostbyname",
        "socket.sendto",
        "socket.sendmsg",
    }
)
_PROCESSES = frozenset(
    {
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "subprocess.Popen",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "resource.setrlimit",
        "resource.prlimit",
        # ctypes may be imported (numpy does) but not call C: that would go around this hook.
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
    }
)
_PATH_CHANGES = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "os.link",
        "os.symlink",
        "shutil.rmtree",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxError(PermissionError):
    """The program tried something the sandbox refuses."""


def _limit(memory: int, cpu: int, nofile: int, fsize: int) -> None:
    # Soft and hard alike, so the program cannot raise a soft limit back up to a hard one; the
    # CPU hard limit is one second later, so SIGXCPU (catchable) comes first and SIGKILL after.
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A file past the size limit then fails with an OSError the program reports, not a signal.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _writes(flags: Any) -> bool:
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _inside(root: str, path: Any) -> bool:
    if isinstance(path, int):  # an open file descriptor: its opening was checked
        return True
    # abspath does not touch the file system, so it raises no audit events of its own.
    full = os.path.abspath(os.fsdecode(os.fspath(path)))
    return full == root or full.startswith(root + os.sep)


def _hook(root: str) -> Any:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in _NETWORK:
            raise SandboxError(f"the network is blocked in the sandbox ({event})")
        if event in _PROCESSES:
            raise SandboxError(f"{event} is blocked in the sandbox")
        if event == "socket.__new__" and args[1] != socket.AF_UNIX:
            # A local socket pair stays allowed: asyncio's event loop wakes itself with one.
            # Unix sockets cannot connect, bind or send to an address (the events above).
            raise SandboxError(f"the network is blocked in the sandbox ({event})")
        if event == "open" and _writes(args[2]) and not _inside(root, args[0]):
            raise SandboxError(f"writing outside the sandbox is blocked ({args[0]!r})")
        if event in _PATH_CHANGES:
            paths = args[:2] if event in ("os.rename", "os.link", "os.symlink") else args[:1]
            for path in paths:
                if path is not None and not _inside(root, path):
                    raise SandboxError(f"{event} outside the sandbox is blocked ({path!r})")

    return hook


def _where(error: BaseException) -> str:
    """The program's line that raised, and the assertion's message if it has one."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == PROGRAM_NAME]
    message = str(error)
    where = f"line {frames[-1].lineno}: {frames[-1].line}" if frames else "assertion failed"
    return f"{where} ({message})" if message else where


def main() -> None:
    program, result_fd, root = sys.argv[1], int(sys.argv[2]), os.path.abspath(sys.argv[3])
    memory, cpu, nofile, fsize = (int(v) for v in sys.argv[4:8])
    with open(program, encoding="utf-8") as f:
        source = f.read()
    write, dumps, exit_now = os.write, json.dumps, os._exit  # before the program can patch them
    out_of_memory = dumps({"reason": "memory_limit", "detail": "MemoryError"}).encode()

    def report(reason: str, detail: str = "") -> None:
        write(result_fd, dumps({"reason": reason, "detail": detail[:500]}).encode())
        exit_now(0)  # at once: no atexit handlers or lingering threads of the program

    _limit(memory, cpu, nofile, fsize)
    sys.addaudithook(_hook(root))
    sys.argv[:] = [PROGRAM_NAME]
    linecache.cache[PROGRAM_NAME] = (len(source), None, source.splitlines(True), PROGRAM_NAME)
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=PROGRAM_NAME, __builtins__=builtins)
    sys.modules["__main__"] = module
    try:
        exec(compile(source, PROGRAM_NAME, "exec"), module.__dict__)
    except MemoryError:
        module.__dict__.clear()  # free what the program holds before writing anything
        write(result_fd, out_of_memory)
        exit_now(0)
    except AssertionError as e:
        report("tests_failed", _where(e))
    except SystemExit as e:
        report("error", f"the program exited (code {e.code}) before its tests finished")
    except BaseException as e:
        report("error", traceback.format_exception_only(e)[-1].strip())
    report("correct")


if __name__ == "__main__":
    main()
