"""GET /colabmagic/api/download/<token>: the file a kernel offered with `google.colab.files.download()`.

Authenticated like every route of ours (APIHandler: no token or cookie -> 403); the token names an
offer (colabmagic/colab/download_offer.py), so nothing but an offered file is ever sent. The file is
read in the extension's executor, a chunk at a time, never on the event loop.
"""

from __future__ import annotations

from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..colab.download_offer import claim
from ..locale import tr

CHUNK = 1 << 20  # bytes read per executor call
TOKEN = r"(?P<token>[\w-]+)"


class DownloadHandler(APIHandler):
    @web.authenticated
    async def get(self, token: str):
        state = self.settings["colabmagic"]
        offer = await state.run_blocking(claim, token)
        if offer is None:
            raise web.HTTPError(404, tr("no such download: it expired (after an hour) or its file is gone"))
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(offer.name)}")
        self.set_header("Cache-Control", "no-store")
        with open(offer.path, "rb") as file:
            while True:
                chunk = await state.run_blocking(file.read, CHUNK)
                if not chunk:
                    break
                self.write(chunk)
                await self.flush()
        self.finish()


def download_handlers(base_url: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    return [(url_path_join(base_url, "colabmagic", "api", "download", TOKEN), DownloadHandler)]
