"""%runtime [SPEC]: the devices this kernel can use, and the default one (Colab's "Change runtime type")."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .base import ColabMagics, reports_errors, result_arguments
from .frontend import has_widgets, show_widget


@magics_class
class RuntimeMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("spec", nargs="?", help="Select a device: auto, cpu, cuda, cuda:N, gpu:0,1 or mps.")
    @argument("--list", action="store_true", help="Print the devices as text (no panel).")
    @argument("--json", action="store_true", help="Print the devices and the selection as JSON.")
    @result_arguments
    @reports_errors
    def runtime(self, line):
        """Show the devices with a panel to change the default one, or select SPEC directly.

        The selection is the device %train uses when --device is not given. Choosing particular
        GPUs hides the others (CUDA_VISIBLE_DEVICES), which needs a kernel restart once CUDA is in use.
        """
        args = self.parse(self.runtime, line)
        from .. import runtime

        if args.spec is not None:
            result = runtime.select(args.spec)
            if not args.quiet:
                print(result.message)
            return self.deliver(result, args, show=False)
        result = runtime.discover()
        if args.quiet:
            pass
        elif args.json:
            import json

            print(json.dumps(result.to_dict(), indent=2))
        elif has_widgets(self.shell) and not args.list:
            from ..widgets.runtime_panel import RuntimePanel

            show_widget(RuntimePanel(), str(result))
        else:
            print(result)
        return self.deliver(result, args, show=False)
