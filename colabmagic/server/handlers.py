"""HTTP handlers under /colabmagic/api/. Every one is an authenticated `APIHandler`.

jupyter_server's APIHandler gives us the rest of the security: no token or cookie -> 403,
a foreign Origin -> refused, XSRF checks for cookie-authenticated POSTs. Blocking work (NVML,
psutil, state files) runs in the extension's executor, never on the event loop.
"""

from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..errors import ColabMagicError
from ..locale import tr

__all__ = ["JobsHandler", "ResourcesHandler", "RuntimeHandler", "SessionHandler", "handlers"]

KERNEL_ID = r"(?P<kernel_id>[\w-]+)"


def _not_json(constant: str):
    raise ValueError(f"{constant} is not standard JSON")


class _Base(APIHandler):
    @property
    def colabmagic(self):
        return self.settings["colabmagic"]

    def body(self) -> dict:
        if not self.request.body:
            return {}
        try:
            # standard JSON only: Infinity and NaN are not numbers a limit can hold
            data = json.loads(self.request.body, parse_constant=_not_json)
        except (ValueError, RecursionError) as err:  # RecursionError: a body nested thousands deep
            raise web.HTTPError(400, tr("the body must be a JSON object")) from err
        if not isinstance(data, dict):
            raise web.HTTPError(400, tr("the body must be a JSON object"))
        return data

    def known_kernel(self, kernel_id: str) -> None:
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, tr("no running kernel {kernel_id}").format(kernel_id=kernel_id))

    async def blocking(self, fn, *args):
        """Run fn(*args) in the executor; a ColabMagicError becomes a 400 with its message."""
        try:
            return await self.colabmagic.run_blocking(fn, *args)
        except ColabMagicError as err:
            raise web.HTTPError(400, str(err)) from err

    def reply(self, body) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


class ResourcesHandler(_Base):
    """GET: Colab's /api/colab/resources shape plus `kernels` (RSS per kernel), ~1 s old at most."""

    @web.authenticated
    async def get(self):
        state = self.colabmagic
        self.reply(await state.resources.get(state.kernel_pids()))


class SessionHandler(_Base):
    """GET: the session clock of one kernel, or of all of them; POST: start, limit, extend."""

    @web.authenticated
    async def get(self, kernel_id: str | None = None):
        keeper = self.colabmagic.sessions
        if kernel_id is None:
            ids = list(self.kernel_manager.list_kernel_ids())
            sessions = [await self.blocking(keeper.status, kid, keeper.kernel_activity(kid)) for kid in ids]
            self.reply({"sessions": sessions, "culling": keeper.culling()})
            return
        self.known_kernel(kernel_id)
        self.reply(await self.blocking(keeper.status, kernel_id, keeper.kernel_activity(kernel_id)))

    @web.authenticated
    async def post(self, kernel_id: str | None = None):
        if kernel_id is None:
            raise web.HTTPError(405, tr("POST to {route}").format(route="/colabmagic/api/session/<kernel_id>"))
        self.known_kernel(kernel_id)
        keeper = self.colabmagic.sessions
        pid = self.colabmagic.kernel_pids().get(kernel_id)
        try:
            self.reply(await keeper.apply(kernel_id, pid, self.body(), self.colabmagic.run_blocking))
        except ColabMagicError as err:
            raise web.HTTPError(400, str(err)) from err
        except TimeoutError as err:
            raise web.HTTPError(
                504, tr("the kernel did not answer in time; the change applies when it is free")) from err


class RuntimeHandler(_Base):
    """GET: devices (and a kernel's last selection); POST {"spec"} or {"metadata"}: the selection
    to apply, with the notebook metadata to save and the silent execute that applies it."""

    @web.authenticated
    async def get(self, kernel_id: str | None = None):
        runtimes = self.colabmagic.runtimes
        try:
            body = {"devices": await self.colabmagic.devices.get()}
        except ColabMagicError as err:
            raise web.HTTPError(400, str(err)) from err
        if kernel_id is not None:
            self.known_kernel(kernel_id)
            body["kernel_id"] = kernel_id
            body["selection"] = runtimes.selections.get(kernel_id)
        self.reply(body)

    @web.authenticated
    async def post(self, kernel_id: str | None = None):
        if kernel_id is None:
            raise web.HTTPError(405, tr("POST to {route}").format(route="/colabmagic/api/runtime/<kernel_id>"))
        self.known_kernel(kernel_id)
        runtimes = self.colabmagic.runtimes
        self.reply(await self.blocking(runtimes.choose, kernel_id, self.body()))


class JobsHandler(_Base):
    """GET: the background training runs still going on this machine (the toolbar's badge), read
    from the same job folders `%train --jobs` reads."""

    @web.authenticated
    async def get(self):
        from ..train.background.listing import running_jobs

        self.reply({"jobs": await self.blocking(running_jobs)})


def handlers(base_url: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join

    api = url_path_join(base_url, "colabmagic", "api")
    return [
        (url_path_join(api, "resources"), ResourcesHandler),
        (url_path_join(api, "session"), SessionHandler),
        (url_path_join(api, "session", KERNEL_ID), SessionHandler),
        (url_path_join(api, "runtime"), RuntimeHandler),
        (url_path_join(api, "runtime", KERNEL_ID), RuntimeHandler),
        (url_path_join(api, "jobs"), JobsHandler),
    ]
