"""%%timeit_gpu [options] [setup]: %%timeit that is correct on a GPU (events, warm-up, cold L2, graphs)."""

from __future__ import annotations

import argparse
import ast

from IPython.core.magic import cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split

from .base import ColabMagics, reports_errors, result_arguments

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
    @argument("setup", nargs=argparse.REMAINDER,
              help="Setup code, run once and untimed before the cell; the cell sees its variables.")
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
        from ..timing import time_loops

        loops, close = self.compile_cell(setup_code(line, args.setup), cell)
        try:
            result = time_loops(loops, number=args.number, repeat=args.repeat, warmup=args.warmup,
                                flush_l2=not args.no_flush, graph=args.graph)
        finally:
            close()  # frees what the cell's locals hold (GPU tensors) now, not at the next gc
        if not args.quiet and result.cache_warning:
            print(result.cache_warning)
        return self.deliver(result, args)

    def compile_cell(self, setup: str, cell: str):
        """`loops(n)` running the cell n times in the user namespace, and a function that ends it."""
        from ..errors import ConfigError

        if not cell.strip():
            raise ConfigError("%%timeit_gpu has nothing to time: put the code below the %%timeit_gpu line")
        shell = self.shell
        setup = shell.transform_cell(setup).strip() if setup.strip() else "pass"
        body = shell.transform_cell(cell)
        # cache "setup\nbody" so tracebacks show the user's lines; the setup sits where the magic line is
        filename = shell.compile.cache(setup + "\n" + body, shell.execution_count)
        setup_ast = shell.transform_ast(shell.compile.ast_parse(setup, filename))
        # blank lines in front give the body's nodes (and its syntax errors) their line in that source
        body_ast = shell.transform_ast(shell.compile.ast_parse("\n" * (setup.count("\n") + 1) + body, filename))
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


def setup_code(line: str, tokens: list[str]) -> str:
    """The setup code exactly as typed: the line after the option tokens argparse consumed."""
    if not tokens:
        return ""
    # arg_split (non-POSIX, as magic_arguments calls it) keeps each token verbatim
    argv = arg_split(line, strict=True)
    position = 0
    try:
        for token in argv[:len(argv) - len(tokens)]:
            position = line.index(token, position) + len(token)
    except ValueError:
        return " ".join(tokens)
    return line[position:].strip()
