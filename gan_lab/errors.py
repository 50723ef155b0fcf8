"""Errors that gan_lab reports to the user as one clear message instead of a traceback."""


class GanLabError(Exception):
    """Base class: the message names the problem and the fix."""


class ConfigError(GanLabError, ValueError):
    """A config value that cannot work. The message names the key and the allowed values."""


class DataError(GanLabError, FileNotFoundError):
    """Missing, empty or undownloadable data. The message names the folder and what it should hold."""
