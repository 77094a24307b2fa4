"""The ``tunesmith`` command line: a thin shell over the library functions.

Each area's commands live in ``api/commands/<area>.py`` and are registered below. Exit codes:
0 ok, 2 bad input or usage, 1 internal error (commands such as ``gate`` return their own).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

import click

from api.commands import curate as curate_commands
from api.commands import data, demo, keys, remote, serve, synth
from api.commands import eval as eval_commands
from api.commands import report as report_commands
from api.commands import train as train_commands
from curate import (
    ConflictError,
    InputError,
    MissingExtra,
    NotFoundError,
    TunesmithError,
    missing_extra,
    set_offline_defaults,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tunesmith")
def cli() -> None:
    """tunesmith: curate fine-tuning data, tune, and gate the tuned model against its base."""
    set_offline_defaults()


cli.add_command(data.ingest)
cli.add_command(curate_commands.curate_cmd)
cli.add_command(report_commands.report_cmd)
cli.add_command(data.datasets)
cli.add_command(data.models)
cli.add_command(serve.serve)
cli.add_command(keys.keys)
cli.add_command(remote.remote)
cli.add_command(eval_commands.eval_group)
cli.add_command(eval_commands.gate_cmd)
cli.add_command(train_commands.train_cmd)
cli.add_command(demo.demo)
cli.add_command(synth.synth)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps errors to exit codes in one place."""
    try:
        result = cli.main(args=argv, prog_name="tunesmith", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as e:  # usage errors: exit 2
        e.show()
        sys.exit(e.exit_code)
    except (InputError, NotFoundError, MissingExtra, ConflictError) as e:
        # the user's input, or the state they asked about (a busy store, a job in progress)
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except TunesmithError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except ImportError as e:  # a heavy import an extra brings, not installed: say which extra
        extra = missing_extra(e)
        if extra is None:
            _internal(e)
        click.echo(f"error: {extra}", err=True)
        sys.exit(2)
    except Exception as e:
        _internal(e)
    sys.exit(result if isinstance(result, int) else 0)


def _internal(e: Exception) -> NoReturn:
    """An internal error: one line, the traceback on request; exit 1."""
    if os.environ.get("TUNESMITH_DEBUG"):
        traceback.print_exc()
    click.echo(f"internal error: {type(e).__name__}: {e} (TUNESMITH_DEBUG=1 for details)", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
