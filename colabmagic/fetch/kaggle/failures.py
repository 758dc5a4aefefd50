"""What Kaggle's failures mean to the user: what kagglehub, kagglesdk and requests raise, turned into
one line that says what to do (401, 403 with the rules URL, 404 with a search URL, 429, the network
unreachable with the proxy variables, a full disk)."""

from __future__ import annotations

import contextlib
import errno
from urllib.parse import quote_plus

from ...errors import CredentialsError, DataError, DownloadError, NetworkError
from ...locale import mark, tr
from .._unreachable import unreachable
from .credentials import TOKEN_PAGE, Credentials, missing_credentials_message
from .reference import WEB, KaggleRef

SPACE_HINT = mark("free some space, or set KAGGLEHUB_CACHE to a folder on a bigger disk")


@contextlib.contextmanager
def explained(ref: KaggleRef, credentials: Credentials, file: str | None):
    """Turn what kagglehub, kagglesdk and requests raise into one line that says what to do."""
    import requests

    try:
        yield
    except requests.HTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        raise http_error(ref, credentials, file, status) from None
    except (requests.ConnectionError, requests.Timeout) as err:
        raise NetworkError(unreachable("Kaggle", err, "https://api.kaggle.com")) from None
    except ValueError as err:
        if "credentials file" in str(err).lower():  # kagglehub: a kaggle.json without username/key
            raise CredentialsError(tr("{error}: it must hold {{\"username\": ..., \"key\": ...}}; or create a new "
                                      "token at {page} and run %secrets set KAGGLE_API_TOKEN").format(
                error=err, page=TOKEN_PAGE)) from None
        raise
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(tr("Disk full while fetching {ref} ({why}): {hint}; nothing half-written was "
                                   "left").format(ref=ref, why=err.strerror, hint=tr(SPACE_HINT))) from None
        raise


def http_error(ref: KaggleRef, credentials: Credentials, file: str | None, status: int) -> Exception:
    what = tr("{ref} file {file}").format(ref=ref, file=file) if file else str(ref)
    if status in (401, 403) and not credentials:
        return CredentialsError(tr("Kaggle needs an account to download {what} (HTTP {status}). {steps}").format(
            what=what, status=status, steps=missing_credentials_message()))
    if status == 401:
        return CredentialsError(tr("Kaggle rejected the credentials from {source} (401 Unauthorized): the token may be "
                                   "expired or revoked; create a new one at {page} and store it with %secrets set "
                                   "KAGGLE_API_TOKEN").format(source=credentials.source, page=TOKEN_PAGE))
    if status == 403 and ref.kind == "competition":
        return CredentialsError(tr("Kaggle refused the files of {what} (403 Forbidden): accept the competition's rules "
                                   "at {url}/rules (signed in as the account of your token), then run again").format(
            what=what, url=ref.url))
    if status == 403:
        return CredentialsError(tr("Kaggle refused {what} (403 Forbidden): it is private or asks for consent; open "
                                   "{url} signed in as the account of your token ({source})").format(
            what=what, url=ref.url, source=credentials.source))
    if status == 404:
        return DataError(_not_found(ref, file))
    if status == 429:
        return NetworkError(tr("Kaggle is rate-limiting these requests (429) for {what}: wait a minute and run "
                               "again").format(what=what))
    return NetworkError(tr("Kaggle answered HTTP {status} for {what}: try again later (status: {url})").format(
        status=status, what=what, url=f"{WEB}/status"))


def _not_found(ref: KaggleRef, file: str | None) -> str:
    if file:
        return tr("{ref} has no file {file!r} (404): see the file list at {url}/data").format(
            ref=ref, file=file, url=ref.url)
    if ref.kind == "competition":
        return tr("No Kaggle competition {name!r} (404): check the name, or search {url}").format(
            name=ref.slug, url=f"{WEB}/competitions?search={quote_plus(ref.slug)}")
    if ref.version:
        return tr("No dataset {ref} on Kaggle (404): check the name and version at {url}").format(
            ref=ref, url=f"{WEB}/datasets/{ref.owner}/{ref.slug}/versions")
    return tr("No dataset {ref} on Kaggle (404): check the name, or search {url}").format(
        ref=ref, url=f"{WEB}/datasets?search={quote_plus(ref.slug)}")
