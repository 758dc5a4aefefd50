"""One exception tree for everything colabmagic reports to a user.

A magic turns a ColabMagicError into IPython's UsageError (one red line, no traceback);
any other exception is a bug and keeps its traceback. Messages say what to do next.
"""


class ColabMagicError(Exception):
    """Base class: an expected problem the user can fix (bad input, missing file, no device)."""


class ConfigError(ColabMagicError):
    """Bad arguments or an impossible combination of options."""


class DataError(ColabMagicError):
    """A dataset is missing, malformed, or does not fit the chosen model."""


class DownloadError(DataError):
    """A download failed or its checksum did not match."""


class NetworkError(DownloadError):
    """The bytes could not be had from this URL: host unreachable (refused, DNS failure, timeout),
    connection lost mid-way, or an HTTP error status. Another mirror or a later retry may work.

    A checksum mismatch is a plain DownloadError instead: the server answered, with a wrong file.
    Callers use the difference to say "put the files here" rather than "the file is wrong".
    """


class CredentialsError(ColabMagicError):
    """Credentials are missing, unreadable or rejected; the message says where to put them (never their value)."""


class MountError(ColabMagicError):
    """A Drive (rclone) mount could not be made, answered too slowly, or could not be unmounted."""


class CheckpointError(ColabMagicError):
    """A checkpoint is corrupt, foreign, or does not fit the model being resumed."""


class DeviceError(ColabMagicError):
    """The requested device does not exist or cannot be used."""


class MissingExtraError(ColabMagicError):
    """An optional dependency is not installed; the message names the pip install line."""


def require(module: str, extra: str):
    """Import an optional dependency or say exactly how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            f"{module} is not installed: pip install 'colabmagic[{extra}]'"
        ) from err


class TrainingInterrupted(ColabMagicError):
    """Training stopped on a KeyboardInterrupt after checkpointing; the message says how to resume.

    `result` holds the partial TrainResult (interrupted=True) when there is one.
    """

    def __init__(self, message: str, result=None, *, where: str = "", resume: dict | None = None):
        super().__init__(message)
        self.result = result
        self.where = where      # "Training interrupted at epoch 2/5, ...; checkpoint saved to ..."
        self.resume = resume    # the options a resume call repeats (plus resume=True): a magic words its own line


class TrainingDiverged(ColabMagicError):
    """The loss became NaN or infinite: the run stopped without checkpointing the broken weights."""


def shown(value: object, width: int = 80) -> str:
    """VALUE as a message quotes it: at most WIDTH characters, so a 100 KB path or name pasted by
    mistake still gives a one-line message."""
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
