"""The kernel's side of the `colabmagic.forms` comm, which colabmagic's JupyterLab extension
(labextension/src/forms.ts) listens to.

Each form opens one comm naming its cell (the `cellId` JupyterLab sends with every execute
request) and its display mode. The extension answers `ready` when that cell is in a notebook it
holds, and collapses the code of a `display-mode: "form"` cell. From then on a field change is sent
as an edit: the line's old and new text, so the extension changes exactly that line and refuses
when the cell was edited meanwhile, and whether to re-run the cell (`run: "auto"`) as the notebook's
own run would. Without an answer (nbclient, VS Code, a terminal) the kernel keeps the source itself
and re-runs the cell in place.

Messages (kernel → frontend): open {version, cell_id, display_mode, has_fields} (a cell with
fields becomes papermill's parameters cell where the notebook has none, see form_parameters);
{event: "edit", seq, line, old, new, run}. Frontend → kernel: {event: "ready"};
{event: "edit-failed", seq, message}.
"""

from __future__ import annotations

from ..locale import tr

TARGET = "colabmagic.forms"
VERSION = 1


class FrontendChannel:
    def __init__(self, cell_id: str, display_mode: str, has_fields: bool, on_failure):
        from comm import create_comm

        self.cell_id = cell_id
        self.ready = False
        self._seq = 0
        self._on_failure = on_failure
        self.comm = create_comm(target_name=TARGET,
                                data={"version": VERSION, "cell_id": cell_id, "display_mode": display_mode,
                                      "has_fields": has_fields})
        self.comm.on_msg(self._received)

    def _received(self, message: dict) -> None:
        data = message.get("content", {}).get("data", {})
        if data.get("event") == "ready":
            self.ready = True
        elif data.get("event") == "edit-failed":
            said = data["message"] if "message" in data else tr("the notebook did not take the new value")
            self._on_failure(str(said))

    def send_edit(self, line: int, old: str, new: str, run: bool) -> None:
        self._seq += 1
        self.comm.send({"event": "edit", "seq": self._seq, "line": line, "old": old, "new": new, "run": run})

    def close(self) -> None:
        self.comm.close()
