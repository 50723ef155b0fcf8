"""Errors that gan_lab reports to the user as one clear message instead of a traceback."""

from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import InstantiationException
from omegaconf.errors import MissingMandatoryValue


class GanLabError(Exception):
    """Base class: the message names the problem and the fix."""


class ConfigError(GanLabError, ValueError):
    """A config value that cannot work. The message names the key and the allowed values."""


class DataError(GanLabError, FileNotFoundError):
    """Missing, empty or undownloadable data. The message names the folder and what it should hold."""


class StorageError(GanLabError, OSError):
    """The run folder cannot be written (read-only, full disk). The message says what was kept."""


class Diverged(GanLabError, ArithmeticError):
    """A non-finite loss or weight. The message names the step and the value; last.ckpt was not touched."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class Refused(SystemExit):
    """The exit of `reported_as_one_line`: a user's mistake, as one line. Any other SystemExit (Ctrl-C,
    Lightning's shutdown) is not a mistake to record and move on from."""


class Interrupted(Exception):
    """A signal stopped training after a whole step, with last.ckpt written (raised on every rank)."""

    def __init__(self, signal_name: str, step: int) -> None:
        super().__init__(f"{signal_name} at step {step}")
        self.signal_name, self.step = signal_name, step


class Stopped(SystemExit):
    """Training stopped by a signal (SIGTERM, SIGUSR1: preemption) after writing last.ckpt. The message says
    how to resume; the exit status is non-zero, since the run did not finish."""


@contextmanager
def reported_as_one_line(program: str) -> Iterator[None]:
    """Exit with `<program>: error: <message>` for the user's mistakes; anything else is a bug and raises."""
    try:
        yield
    except InstantiationException as error:  # a constructor's check, wrapped by hydra.utils.instantiate
        if not isinstance(error.__cause__, GanLabError):
            raise
        raise Refused(f"{program}: error: {error.__cause__}") from None
    except GanLabError as error:
        raise Refused(f"{program}: error: {error}") from None
    except MissingMandatoryValue as error:
        raise Refused(
            f"{program}: error: {error.full_key} has no value: set it, e.g. {error.full_key}=..."
        ) from None
