"""%kaggle_get REF [--path DIR] [--file NAME] [--force] [--no-unzip]: a Kaggle dataset or competition, local."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import tr
from .base import ColabMagics, result_arguments, reports_errors


@magics_class
class KaggleMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("ref", nargs="?", help="owner/dataset, owner/dataset/versions/N, or a kaggle.com URL.")
    @argument("-c", "--competition", metavar="NAME", help="A competition's files instead, e.g. -c titanic.")
    @argument("--path", metavar="DIR", help="Also link (or copy) the files into DIR, e.g. ./data.")
    @argument("--file", metavar="NAME", help="Only this file of the dataset or competition.")
    @argument("--force", action="store_true", help="Download again even when cached; replace files in DIR.")
    @argument("--no-unzip", action="store_true", help="Keep the downloaded archive as it is.")
    @result_arguments
    @reports_errors
    def kaggle_get(self, line):
        """Download a Kaggle dataset or competition's files (kagglehub), safely unpacked.

        Credentials: KAGGLE_API_TOKEN, KAGGLE_USERNAME/KAGGLE_KEY, ~/.kaggle/kaggle.json, or
        `%secrets set KAGGLE_API_TOKEN`. Use the path it prints: `%train cnn {path}/train.csv`
        after `%kaggle_get owner/dataset -v path`.
        """
        args = self.parse(self.kaggle_get, line)
        if bool(args.ref) == bool(args.competition):
            raise UsageError(tr("%kaggle_get needs one of: owner/dataset, a kaggle.com URL, or -c COMPETITION"))
        from ..fetch.kaggle import kaggle_get

        result = kaggle_get(args.ref or args.competition, competition=bool(args.competition), path=args.path,
                            file=args.file, force=args.force, unzip=not args.no_unzip, progress=not args.quiet)
        return self.deliver(result, args)
