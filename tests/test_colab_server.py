"""The server side of google.colab through a real jupyter_server (pytest-jupyter's jp_fetch): the
authenticated download route behind `files.download()`. (runtime.unassign() needs a server that its
kernel can reach over TCP: test_colab_unassign.py starts one.)"""

from __future__ import annotations

import inspect
import urllib.parse

import pytest
import tornado.httpclient

pytest.importorskip("jupyter_server")
from pytest_jupyter.jupyter_server import *  # noqa: E402,F403  (this module's fixtures only; see test_server.py)

from colabmagic.colab import download_offer  # noqa: E402


# the server these tests talk to, configured and driven as in test_server.py
from test_server import jp_server_config, run_in_loop  # noqa: E402,F401  (a fixture, and the async wrapper)


@pytest.fixture
def offered(tmp_path):
    file = tmp_path / "résumé report.csv"
    file.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)   # more than one read of the route's chunk size
    return file, download_offer.offer(file)


async def failed_with(coro) -> int:
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await coro
    return info.value.code


async def test_an_offered_file_downloads_as_an_attachment(jp_fetch, jp_serverapp, offered):
    file, token = offered
    response = await jp_fetch("colabmagic", "api", "download", token)
    assert response.code == 200 and response.body == file.read_bytes()
    assert response.headers["Content-Disposition"] == \
        f"attachment; filename*=UTF-8''{urllib.parse.quote(file.name)}"
    assert response.headers["Content-Type"] == "application/octet-stream"


async def test_a_browsers_login_cookie_is_enough(jp_fetch, jp_serverapp, offered):
    """The browser follows the link as a navigation: its Jupyter cookie, no token header."""
    token = jp_serverapp.identity_provider.token
    login = await jp_fetch("tree", params={"token": token}, headers={"Authorization": ""},
                           follow_redirects=False, raise_error=False)
    cookie = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    file, offer = offered
    response = await jp_fetch("colabmagic", "api", "download", offer, headers={"Authorization": "", "Cookie": cookie})
    assert response.body == file.read_bytes()


async def test_no_login_no_offer_no_file(jp_fetch, offered):
    file, token = offered
    assert await failed_with(jp_fetch("colabmagic", "api", "download", token, headers={"Authorization": ""})) == 403
    assert await failed_with(jp_fetch("colabmagic", "api", "download", "not-an-offer")) == 404
    file.unlink()
    assert await failed_with(jp_fetch("colabmagic", "api", "download", token)) == 404


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = run_in_loop(_test)
