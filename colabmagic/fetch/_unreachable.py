"""The one line for a service that cannot be reached through requests (offline, DNS, a proxy that
does not answer), shared by %kaggle_get and %drive_get so both say the same thing the same way.

requests is imported inside the functions: callers only get here once a download was tried.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..locale import tr


def connection_error(err: BaseException | None) -> BaseException | None:
    """The requests ConnectionError or Timeout in err's cause chain (gdown wraps them in its own
    DownloadError after its retries), or None."""
    import requests

    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, (requests.ConnectionError, requests.Timeout)):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def unreachable(service: str, err: BaseException, default_url: str) -> str:
    """'Cannot reach SERVICE (HOST): why; what to do', naming the proxy in use (without its password)."""
    import requests

    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or os.environ.get("HTTP_PROXY") \
        or os.environ.get("http_proxy")
    host = urlsplit(getattr(getattr(err, "request", None), "url", None) or default_url).hostname
    if isinstance(err, requests.exceptions.ProxyError):
        if proxy:
            return tr("Cannot reach {service}: the proxy {proxy} did not answer; check HTTPS_PROXY / HTTP_PROXY "
                      "(or unset them) and run again").format(service=service, proxy=without_password(proxy))
        return tr("Cannot reach {service}: the proxy did not answer; check HTTPS_PROXY / HTTP_PROXY (or unset "
                  "them) and run again").format(service=service)
    why = tr("timed out") if isinstance(err, requests.Timeout) else \
        tr("the network is unreachable or the name did not resolve")
    if proxy:
        return tr("Cannot reach {service} ({host}): {why} (through the proxy {proxy}); check the connection and "
                  "run again").format(service=service, host=host, why=why, proxy=without_password(proxy))
    return tr("Cannot reach {service} ({host}): {why}; behind a proxy, set HTTPS_PROXY=http://HOST:PORT (and "
              "HTTP_PROXY); check the connection and run again").format(service=service, host=host, why=why)


def without_password(url: str | None) -> str:
    parts = urlsplit(url or "")
    if parts.password:
        return (url or "").replace(f":{parts.password}@", ":***@")
    return url or ""
