"""%%timeit_gpu [options] [setup]: %%timeit that is correct on a GPU (events, warm-up, cold L2, graphs)."""

from __future__ import annotations

import ast

from IPython.core.magic import cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .base import ColabMagics, code_argument, reports_errors, result_arguments

# The cell becomes the body of a generator over the user namespace, as %%timeit makes it the body
# of a function: it reads notebook variables, and its assignments stay local to the timing.
# `send(n)` runs the cell n times in a plain for loop, so a loop costs what it costs in %timeit.
TEMPLATE = """
def _timeit_gpu_cell():
    SETUP
    _timeit_gpu_n = yield
    while True:
        for _timeit_gpu_i in range(_timeit_gpu_n):
            BODY
        _timeit_gpu_n = yield
"""


@magics_class
class TimeitGpuMagics(ColabMagics):
    @cell_magic
    @magic_arguments()
    @argument("-n", "--number", type=int, metavar="N",
              help="Loops per run (default: chosen so one run takes at least 0.2 s, as in %%timeit).")
    @argument("-r", "--repeat", type=int, default=7, metavar="R", help="Timed runs (default 7).")
    @argument("--warmup", type=int, metavar="CALLS",
              help="Untimed calls of the cell before timing (default: one call, then one untimed run; "
                   "without -n the autorange runs are that run).")
    @argument("--no-flush", action="store_true",
              help="Do not flush the GPU's L2 cache before each run.")
    @argument("--graph", action="store_true",
              help="Capture the cell into a CUDA graph once after warm-up and time graph.replay().")
    @code_argument("setup", help="Setup code, run once and untimed before the cell; the cell sees its variables.")
    @result_arguments
    @reports_errors
    def timeit_gpu(self, line, cell):
        """Time the cell on the GPU with CUDA events or, without CUDA, on the CPU (perf_counter).

        Like %%timeit: the cell reads the notebook's variables and its assignments stay local to the
        timing; code after the options on the first line is setup, run once and untimed. It runs
        once untimed, then one untimed run (the autorange runs without -n), then -r timed runs with
        the garbage collector off. On CUDA the L2 cache is flushed before each run (outside the timed
        window) and all runs are read after a single synchronize. Prints the median ± std. dev. per
        loop and, on CUDA, the peak memory the cell allocated. Example:

            %%timeit_gpu --graph a = torch.randn(4096, 4096, device="cuda")
            a @ a
        """
        args = self.parse(self.timeit_gpu, line)
        from ..timing import on_timing_device, time_loops

        with on_timing_device(None, args.graph):  # the setup's tensors land on the GPU that is timed
            loops, close = self.compile_cell(line, args.setup, cell)
        try:
            result = time_loops(loops, number=args.number, repeat=args.repeat, warmup=args.warmup,
                                flush_l2=not args.no_flush, graph=args.graph)
        finally:
            close()  # frees what the cell's locals hold (GPU tensors) now, not at the next gc
        if not args.quiet and result.cache_warning:
            print(result.cache_warning)
        return self.deliver(result, args)

    def compile_cell(self, line: str, setup: str, cell: str):
        """`loops(n)` running the cell n times in the user namespace, and a function that ends it."""
        from ..errors import ConfigError
        from ..locale import tr

        if not cell.strip():
            raise ConfigError(tr("%%timeit_gpu has nothing to time: put the code below the %%timeit_gpu line"))
        shell = self.shell
        code = shell.transform_cell(setup).strip() if setup.strip() else ""
        body = shell.transform_cell(cell)
        # Tracebacks show the cell as typed: line 1 is the magic line (with the setup on it), the
        # cell's lines follow. The code is parsed on its own and placed there (lines and columns).
        shown = f"%%timeit_gpu {line}".rstrip()
        if code != setup.strip() or "\n" in code:  # IPython syntax in the setup: show what runs
            shown = code
        filename = shell.compile.cache(shown + "\n" + body, shell.execution_count)
        place = code and shown.endswith(code)
        try:
            setup_ast = shell.compile.ast_parse(code or "pass", filename)
        except SyntaxError as err:  # point at the setup where it stands on the magic line
            if place and err.lineno == 1 and err.offset is not None:
                err.offset += len(shown) - len(code)
                err.end_offset = err.end_offset and err.end_offset + len(shown) - len(code)
                err.text = shown
            raise
        if place:
            _shift_columns(setup_ast, len(shown.encode()) - len(code.encode()))  # AST offsets count UTF-8 bytes
        setup_ast = shell.transform_ast(setup_ast)
        # blank lines in front give the body's nodes (and its syntax errors) their line in that source
        body_ast = shell.transform_ast(shell.compile.ast_parse("\n" * (shown.count("\n") + 1) + body, filename))
        # each part must compile on its own: inside the template `return` or `yield` would be legal
        shell.compile(setup_ast, filename, "exec")
        shell.compile(body_ast, filename, "exec")

        template = ast.parse(TEMPLATE)
        _Filler(setup_ast.body, body_ast.body).visit(template)
        code = shell.compile(ast.fix_missing_locations(template), filename, "exec")
        made: dict = {}
        exec(code, shell.user_ns, made)
        cell_runs = made["_timeit_gpu_cell"]()
        next(cell_runs)  # runs the setup, untimed
        return cell_runs.send, cell_runs.close


class _Filler(ast.NodeTransformer):
    """Put the setup and the cell's statements where the template says SETUP and BODY."""

    def __init__(self, setup: list, body: list):
        self.parts = {"SETUP": setup, "BODY": body}

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Name) and node.value.id in self.parts:
            return self.parts[node.value.id]
        return node


def _shift_columns(tree: ast.AST, by: int) -> None:
    """Move the nodes of one-line code `by` bytes to the right, where the code stands on its line."""
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) == 1 and hasattr(node, "col_offset"):
            node.col_offset += by
        if getattr(node, "end_lineno", None) == 1 and getattr(node, "end_col_offset", None) is not None:
            node.end_col_offset += by
