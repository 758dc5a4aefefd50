"""%colab_compat [on|off|status]: run notebooks brought from Google Colab unchanged."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .base import ColabMagics, output_arguments, reports_errors


@magics_class
class ColabCompatMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("action", nargs="?", default="status", choices=["on", "off", "status"],
              help="on: google.colab imports use colabmagic.colab, /content maps to the content root "
                   "(which becomes the working folder); off: undo it; status (default): say which.")
    @output_arguments
    @reports_errors
    def colab_compat(self, line):
        """Colab compatibility: `from google.colab import drive` and Colab's pasted lines work here.

        Every rewrite is announced once. `c.ColabCompat.enabled = True` in the IPython config turns it
        on at %load_ext; a notebook with Colab's metadata turns it on by itself.
        """
        args = self.parse(self.colab_compat, line)
        from ..colab.compat import set_compat

        return self.deliver(set_compat(self.shell, args.action), args, show=True)
