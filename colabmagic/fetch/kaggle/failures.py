"""What Kaggle's failures mean to the user: what kagglehub, kagglesdk and requests raise, turned into
one line that says what to do (401, 403 with the rules URL, 404 with a search URL, 429, the network
unreachable with the proxy variables, a full disk)."""

from __future__ import annotations

import contextlib
import errno
from urllib.parse import quote_plus

from ...errors import CredentialsError, DataError, DownloadError, NetworkError
from .._unreachable import unreachable
from .credentials import TOKEN_PAGE, Credentials, missing_credentials_message
from .reference import WEB, KaggleRef

SPACE_HINT = "free some space, or set KAGGLEHUB_CACHE to a folder on a bigger disk"


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
            raise CredentialsError(f"{err}: it must hold {{\"username\": ..., \"key\": ...}}; or create a new "
                                   f"token at {TOKEN_PAGE} and run %secrets set KAGGLE_API_TOKEN") from None
        raise
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DownloadError(f"Disk full while fetching {ref} ({err.strerror}): {SPACE_HINT}; nothing "
                                "half-written was left") from None
        raise


def http_error(ref: KaggleRef, credentials: Credentials, file: str | None, status: int) -> Exception:
    what = f"{ref}" + (f" file {file}" if file else "")
    if status in (401, 403) and not credentials:
        return CredentialsError(f"Kaggle needs an account to download {what} (HTTP {status}). "
                                + missing_credentials_message())
    if status == 401:
        return CredentialsError(f"Kaggle rejected the credentials from {credentials.source} (401 Unauthorized): "
                                f"the token may be expired or revoked; create a new one at {TOKEN_PAGE} and store "
                                "it with %secrets set KAGGLE_API_TOKEN")
    if status == 403 and ref.kind == "competition":
        return CredentialsError(f"Kaggle refused the files of {what} (403 Forbidden): accept the competition's "
                                f"rules at {ref.url}/rules (signed in as the account of your token), then run again")
    if status == 403:
        return CredentialsError(f"Kaggle refused {what} (403 Forbidden): it is private or asks for consent; open "
                                f"{ref.url} signed in as the account of your token ({credentials.source})")
    if status == 404:
        if file:
            return DataError(f"{ref} has no file {file!r} (404): see the file list at {ref.url}/data")
        if ref.kind == "competition":
            return DataError(f"No Kaggle competition {ref.slug!r} (404): check the name, or search "
                             f"{WEB}/competitions?search={quote_plus(ref.slug)}")
        if ref.version:
            return DataError(f"No dataset {ref} on Kaggle (404): check the name and version at "
                             f"{WEB}/datasets/{ref.owner}/{ref.slug}/versions")
        return DataError(f"No dataset {ref} on Kaggle (404): check the name, or search "
                         f"{WEB}/datasets?search={quote_plus(ref.slug)}")
    if status == 429:
        return NetworkError(f"Kaggle is rate-limiting these requests (429) for {what}: wait a minute and run again")
    return NetworkError(f"Kaggle answered HTTP {status} for {what}: try again later (status: {WEB}/status)")


