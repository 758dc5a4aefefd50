"""`make demo`: run colabmagic's main job inside a real IPython kernel and print what a notebook shows.

Starts an ipykernel, executes the cells below in it, and prints each cell's text output (widgets,
which need a browser, are skipped). A display the notebook updates in place (the training chart,
whose text form is one row per epoch) prints only its new lines, as a terminal log would.
"""

from __future__ import annotations

import re
import sys
import textwrap

from jupyter_client.manager import start_new_kernel

CELLS = [
    "%load_ext colabmagic",
    "%gpu_info",
    "%train cnn digits",
]
TIMEOUT = 600  # seconds for one cell
RUNNING_BAR = re.compile(r"epoch \d+/\d+ \|")  # "epoch 3/15 |███░░░| 20% | ...": the bar while it runs


shown: dict[str, list[str]] = {}  # display_id -> the lines of it already printed


def show(msg: dict) -> None:
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        sys.stdout.write(content["text"])
    elif kind in ("execute_result", "display_data", "update_display_data"):
        data = content["data"]
        if "application/vnd.jupyter.widget-view+json" in data:
            return  # a live widget (the progress bar): the chart's rows and the summary say the same
        lines = data.get("text/plain", "").splitlines()
        display_id = content.get("transient", {}).get("display_id")
        before = shown.get(display_id, []) if kind == "update_display_data" else []
        common = next((i for i, (a, b) in enumerate(zip(before, lines)) if a != b), min(len(before), len(lines)))
        if display_id:
            shown[display_id] = lines
        # the progress bar's line while it runs (~10 updates a second) is left out; its final line is printed
        new = [line for line in lines[common:] if not RUNNING_BAR.match(line)]
        if new:
            print("\n".join(new))
    elif kind == "error":
        print("\n".join(content["traceback"]))


def main() -> int:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        for cell in CELLS:
            print(f"\n>>> {textwrap.indent(cell, '... ').removeprefix('... ')}")
            reply = client.execute_interactive(cell, output_hook=show, timeout=TIMEOUT)
            if reply["content"]["status"] != "ok":
                return 1
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
