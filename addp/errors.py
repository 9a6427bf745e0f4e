"""The errors ADDP raises for what a user gave it: files, configs and options.

Each message names the problem and the fix. The tools end on any of them with that one line
and exit code 2 (:func:`addp.cli.run_tool`); any other exception is a bug and keeps its
traceback.
"""


class ADDPError(Exception):
    """Bad input, explained in the message."""


class InvalidInputError(ADDPError, ValueError):
    """A value, config entry or option that cannot work."""


class InputNotFoundError(ADDPError, FileNotFoundError):
    """A file or folder the input names is not there."""


class UnreadableInputError(ADDPError, RuntimeError):
    """A file that is there but cannot be read: truncated, corrupt or another format."""


class CheckpointKeyError(ADDPError, KeyError):
    """A checkpoint does not fit the model: wrong shapes, or keys missing or unexpected."""

    def __str__(self) -> str:
        # KeyError quotes its message; this one is a sentence.
        return str(self.args[0]) if self.args else ''


class TrainingStoppedError(RuntimeError):
    """A check stopped a training run (a non-finite loss, a collapsed tokenizer); the message
    says why and what to change. The tools log it and exit with code 1."""
