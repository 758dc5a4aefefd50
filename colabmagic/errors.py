"""One exception tree for everything colabmagic reports to a user.

A magic turns a ColabMagicError into IPython's UsageError (one red line, no traceback);
any other exception is a bug and keeps its traceback. Messages say what to do next.

Messages name options through `Option` parts (a `Message`), never as bare text, so that each
interface words them its own way without rewording by pattern: `lr=` and `drop='Name'` in Python
(str() of the message), `--lr` and `--drop Name` in %train (`Message.worded` with the magic's flags).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Option:
    """An option a message names: `name=` alone, `name='value'` with a value (its repr), or
    `name=COLUMN` with a `literal` one, shown as written (a placeholder, a formatted number)."""

    name: str
    value: object = None
    literal: bool = False

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.name}="
        return f"{self.name}={self.value if self.literal else repr(self.value)}"


class Message(str):
    """Text with Option parts: as a str, the Python wording; `worded(flag)`, another interface's.

    A str, so it goes wherever a message goes (an exception's args, a warning, a list of notes)
    and still reads right where nothing words it; a message built by `+` or an f-string from it
    is plain text again, so build the whole message as one Message."""

    parts: tuple[str | Option, ...]

    def __new__(cls, *parts: str | Option) -> "Message":
        message = super().__new__(cls, "".join(map(str, parts)))
        message.parts = parts
        return message

    @classmethod
    def of(cls, template: str, **values: object) -> "Message":
        """A Message from a (translated) TEMPLATE with {name} fields, so a translation keeps the
        whole sentence and its own word order: Option values stay parts (each interface words
        them), other values are formatted into the text (`{n:,}`, `{path!r}` as str.format does)."""
        import string

        parts: list[str | Option] = []
        for literal, field, spec, conversion in string.Formatter().parse(template):
            if literal:
                parts.append(literal)
            if field is None:
                continue
            value = values[field]
            if isinstance(value, Option):
                parts.append(value)
            elif isinstance(value, Message) and not spec and not conversion:
                parts.extend(value.parts)  # a sentence inside a sentence keeps the options it names
            else:
                value = repr(value) if conversion == "r" else str(value) if conversion == "s" else value
                parts.append(format(value, spec or ""))
        return cls(*parts)

    @classmethod
    def joined(cls, messages: "list[Message | str]", separator: str) -> "Message":
        """MESSAGES one after another with SEPARATOR between them, as one Message."""
        parts: list[str | Option] = []
        for i, message in enumerate(messages):
            if i:
                parts.append(separator)
            parts.extend(message.parts if isinstance(message, Message) else (message,))
        return cls(*parts)

    def __reduce__(self):  # pickled (a DDP worker's event, a checkpoint) with its parts
        return (Message, self.parts)

    def to_json(self) -> list:
        """The parts as JSON values, for a record another process words: text as strings, an option
        as {"option", "value", "literal"} (a value JSON cannot hold travels as its repr, literal)."""
        return [part if isinstance(part, str) else _option_json(part) for part in self.parts]

    @classmethod
    def from_json(cls, parts: list) -> "Message":
        """The Message that to_json() wrote (anything else in the list is taken as text)."""
        return cls(*(Option(part["option"], part.get("value"), bool(part.get("literal")))
                     if isinstance(part, dict) and isinstance(part.get("option"), str) else str(part)
                     for part in parts))

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(part.name for part in self.parts if isinstance(part, Option))

    def worded(self, flag: Callable[[Option], str]) -> str:
        return "".join(flag(part) if isinstance(part, Option) else part for part in self.parts)


def _option_json(option: Option) -> dict:
    value, literal = option.value, option.literal
    if not (value is None or isinstance(value, (str, int, float, bool))):
        value, literal = (str(value) if literal else repr(value)), True  # as Option's str shows it
    return {"option": option.name, "value": value, "literal": literal}


def worded(message: object, flag: Callable[[Option], str]) -> str:
    """`message` in an interface's words: a Message's options through `flag`, other text as it is."""
    return message.worded(flag) if isinstance(message, Message) else str(message)


class ColabMagicError(Exception):
    """Base class: an expected problem the user can fix (bad input, missing file, no device).

    `option` names the option the problem is about (a TrainConfig field, `data`), where there is
    one: given, or the first the message names. An interface can point at it in its own words."""

    def __init__(self, *args, option: str | None = None):
        super().__init__(*args)
        message = args[0] if args else None
        self.option = option or (message.options[0] if isinstance(message, Message) and message.options else None)

    def worded(self, flag: Callable[[Option], str]) -> str:
        """The message in an interface's words (see Message)."""
        return worded(self.args[0], flag) if len(self.args) == 1 else str(self)


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

    from .locale import tr

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            tr("{module} is not installed: pip install 'colabmagic[{extra}]'").format(module=module, extra=extra)
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
