"""Wiring: configuration, the shared state the handlers use, and the enforcement timer."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from traitlets import Float, Int
from traitlets.config import Configurable

from .downloads import download_handlers
from .handlers import handlers
from .readings import Cached, kernel_pids, read_resources
from .runtimes import Runtimes, list_devices
from .sessions import SessionKeeper

__all__ = ["ColabMagicServer", "ServerState", "setup"]


class ColabMagicServer(Configurable):
    """Settings of the colabmagic server extension (c.ColabMagicServer.<name> in jupyter config)."""

    cache_seconds = Float(1.0, config=True, help="How old a resource reading may be before a poll takes a new one (s).")
    devices_cache_seconds = Float(30.0, config=True, help="How long the device list is reused (s).")
    enforce_interval = Float(5.0, config=True, help="How often session limits are checked (s); 0 turns enforcement off.")
    workers = Int(4, config=True, help="Threads for blocking readings (NVML, psutil, state files).")


class ServerState:
    """What every handler shares, stored in web_app.settings["colabmagic"]."""

    def __init__(self, kernel_manager, config: ColabMagicServer, log=None):
        self.kernel_manager = kernel_manager
        self.config = config
        self.executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="colabmagic")
        self.resources = Cached(read_resources, self.executor, config.cache_seconds)
        self.devices = Cached(list_devices, self.executor, config.devices_cache_seconds)
        self.sessions = SessionKeeper(kernel_manager, log=log)
        self.runtimes = Runtimes()
        self.log = log
        self._timer = None

    def kernel_pids(self) -> dict[str, int]:
        return kernel_pids(self.kernel_manager)

    async def run_blocking(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args))

    async def enforce(self) -> list[str]:
        try:
            return await self.sessions.enforce(self.run_blocking)
        except Exception:  # a broken state file must not stop the timer
            if self.log:
                self.log.exception("colabmagic: session enforcement failed")
            return []

    def start(self) -> None:
        from tornado.ioloop import PeriodicCallback

        if self.config.enforce_interval > 0:
            self._timer = PeriodicCallback(self.enforce, self.config.enforce_interval * 1000)
            self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.executor.shutdown(wait=False)


def setup(serverapp) -> ServerState:
    config = ColabMagicServer(parent=serverapp)
    state = ServerState(serverapp.kernel_manager, config, log=serverapp.log)
    web_app = serverapp.web_app
    web_app.settings["colabmagic"] = state
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    web_app.add_handlers(".*$", download_handlers(web_app.settings["base_url"]))
    state.start()
    serverapp.log.info("colabmagic: toolbar API at %scolabmagic/api/", web_app.settings["base_url"])
    return state
