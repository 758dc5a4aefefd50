"""`!kaggle datasets download ...` and `!kaggle competitions download ...` as Colab tutorials paste
them, run through `%kaggle_get`'s kagglehub path (fetch/kaggle.py) with the credentials the notebook
put in ~/.kaggle/kaggle.json, leaving what the real CLI leaves in the same folder:
  kaggle datasets download [-d] OWNER/NAME [-p DIR] [-f FILE] [--unzip] [-o] [-q] [-w]
  kaggle competitions download [-c] NAME [-p DIR] [-f FILE] [-o] [-q] [-w]
-> DIR/NAME.zip (the competition's or dataset's bundle), DIR/FILE with -f, or the unpacked files
with --unzip. DIR defaults to the working folder, as the CLI's does.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
from pathlib import Path

from ..errors import ColabMagicError
from ..files import write_atomically
from ..locale import tr, trn
from .failure import ColabAPIError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit the kernel's process
        raise ColabAPIError(f"!{self.prog}: {message}")


def _parser(group: str) -> _Parser:
    parser = _Parser(prog=f"kaggle {group} download", add_help=False)
    what = "competition" if group == "competitions" else "dataset"
    parser.add_argument(what, nargs="?")
    parser.add_argument("-c" if what == "competition" else "-d", f"--{what}", dest=f"{what}_option")
    parser.add_argument("-f", "--file", dest="file")
    parser.add_argument("-p", "--path", dest="path")
    parser.add_argument("-w", "--wp", action="store_true")
    parser.add_argument("--unzip", action="store_true")
    parser.add_argument("-o", "--force", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser


def run(command: str) -> None:
    """COMMAND: the line after `!`, `kaggle datasets|competitions download ...`."""
    words = shlex.split(command)
    if words[:1] != ["kaggle"] or len(words) < 3 or words[1] not in ("datasets", "competitions") \
            or words[2] != "download":
        raise ColabAPIError(tr("!{command}: only `kaggle datasets download` and `kaggle competitions download` "
                               "run through colabmagic").format(command=command))
    group = words[1]
    args = _parser(group).parse_args(words[3:])
    what = "competition" if group == "competitions" else "dataset"
    ref = getattr(args, what) or getattr(args, f"{what}_option")
    if not ref:
        raise ColabAPIError(tr("!kaggle competitions download needs a competition") if what == "competition"
                            else tr("!kaggle datasets download needs a dataset"))
    folder = Path(args.path or ".").expanduser()
    try:
        _download(ref, group == "competitions", folder, args)
    except ColabMagicError as err:
        raise ColabAPIError(str(err)) from None


def _download(ref: str, competition: bool, folder: Path, args) -> None:
    from ..fetch.kaggle import kaggle_get, parse_ref

    parsed = parse_ref(ref, competition=competition)
    print((tr("Competition URL: {url}") if competition else tr("Dataset URL: {url}")).format(url=parsed.url))
    if args.unzip:
        result = kaggle_get(parsed, path=folder, file=args.file, force=args.force, progress=not args.quiet)
        count = len(result.files)
        print(trn("Downloaded to {folder} ({count} file)", "Downloaded to {folder} ({count} files)", count).format(
            folder=folder, count=count))
        return
    result = kaggle_get(parsed, file=args.file, force=args.force, unzip=False, progress=not args.quiet)
    name = Path(result.cache_path).name if args.file else f"{parsed.slug}.zip"
    target = folder / name
    if target.exists() and not args.force:
        print(tr("{name}: Skipping, found more recently modified local copy (use --force to force download)").format(
            name=name))
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(result.cache_path, "rb") as source:
        write_atomically(target, lambda file: shutil.copyfileobj(source, file))
    print(tr("Downloaded {name} to {folder}").format(name=name, folder=folder))
