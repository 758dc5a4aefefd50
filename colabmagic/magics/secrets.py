"""%secrets [list | set NAME | delete NAME]: the local google.colab.userdata store, names only."""

from __future__ import annotations

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..locale import tr
from .base import ColabMagics, output_arguments, reports_errors


@magics_class
class SecretsMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("action", nargs="?", default="list", choices=["list", "set", "delete"],
              help="list (default): names and where each comes from; set NAME: ask for the value "
                   "with a hidden prompt and store it; delete NAME: remove it from the file.")
    @argument("name", nargs="?", help="The secret's name, e.g. KAGGLE_API_TOKEN.")
    @output_arguments
    @reports_errors
    def secrets(self, line):
        """Secrets for this machine: the environment first, then ~/.config/colabmagic/secrets.json (0600).

        Values are never shown; `%secrets set NAME` asks for one with a hidden prompt.
        """
        try:
            args = self.parse(self.secrets, line)
        except UsageError:
            if line.split()[:1] == ["set"]:  # argparse would quote the extra word: maybe the secret itself
                raise UsageError(tr("%secrets set takes a NAME only: the value is asked for with a hidden prompt, "
                                    "never typed in the line (the notebook and its history would keep it)")) from None
            raise
        from .. import secrets

        if args.action != "list" and not args.name:
            raise UsageError(tr("%secrets {action} needs a NAME, e.g. %secrets {action} KAGGLE_API_TOKEN")
                             .format(action=args.action))
        if args.action == "set":
            secrets.source(args.name)  # checks the name before asking for a value
            import getpass

            try:
                value = getpass.getpass(tr("Value for {name} (hidden): ").format(name=args.name))
            except StdinNotImplementedError:
                raise UsageError(tr("This frontend cannot ask for input: set the environment variable {name} "
                                    "instead, or run %secrets set in JupyterLab, Notebook or IPython")
                                 .format(name=args.name)) from None
            file = secrets.set(args.name, value)
            stored = (tr("Stored {name} in {file} (the environment variable of the same name is set and wins)")
                      if secrets.shadowed(args.name) else tr("Stored {name} in {file}"))
            print(stored.format(name=args.name, file=file))
        elif args.action == "delete":
            removed = secrets.delete(args.name)
            print((tr("Deleted {name} from {file}") if removed else tr("{name} is not in {file}: nothing deleted"))
                  .format(name=args.name, file=secrets.path()))
        return self.deliver(secrets.listing(), args, show=args.action == "list")
