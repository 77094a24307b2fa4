"""The small vocabulary of errors the library raises; the CLI and the API map them to exit codes
and HTTP statuses in one place each."""


class TunesmithError(Exception):
    """Base of every error tunesmith raises on purpose."""


class InputError(TunesmithError):
    """The user's input (a file, a config, an argument) is wrong; the message says where."""


class DatasetFormatError(InputError):
    """A file is not a dataset tunesmith can read (binary, unknown shape, unparseable)."""


class ConfigError(InputError):
    """A config file or body does not validate."""


class NotFoundError(TunesmithError):
    """A named thing (dataset, job, model, run) does not exist."""


class ConflictError(TunesmithError):
    """The request conflicts with the current state (a mismatched manifest, a job in progress)."""


class StoreBusy(ConflictError):
    """Another process held the store's database file for longer than the store waits; the
    message names it (``PID 4870``)."""


class MissingExtra(TunesmithError):
    """An optional dependency is not installed; the message says what to install."""


class DecompressionLimit(DatasetFormatError):
    """A compressed file expands past the size or ratio limit (a likely decompression bomb)."""
