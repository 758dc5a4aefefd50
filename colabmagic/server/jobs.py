"""GET /colabmagic/api/jobs: the background training runs still going on this machine (the toolbar's
badge), read in the executor from the same job folders `%train --jobs` reads."""

from __future__ import annotations

from tornado import web

from .handlers import _Base


def running_jobs() -> dict:
    from ..train.background.listing import jobs

    return {"jobs": [row.summary() for row in jobs(prune=False).running()]}


class JobsHandler(_Base):
    @web.authenticated
    async def get(self):
        self.reply(await self.blocking(running_jobs))
