"""The Kaggle API calls, through kagglehub's client (kagglesdk): a dataset's current version, and
the download request, whose answer (kagglesdk follows Kaggle's 302 to the blob) is handed to the
one downloader as it is, so its bytes are read rather than asked for twice."""

from __future__ import annotations

import base64
import binascii

from .reference import KaggleRef


def current_version(api, ref: KaggleRef) -> int:
    from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

    request = ApiGetDatasetRequest()
    request.owner_slug, request.dataset_slug = ref.owner, ref.slug
    return api.datasets.dataset_api_client.get_dataset(request).current_version_number


def request_download(api, ref: KaggleRef, version: int | None, file: str | None) -> "ResponseBody":
    """The streaming answer to the download call for the dataset (version) or competition, or one file."""
    if ref.kind == "dataset":
        from kagglesdk.datasets.types.dataset_api_service import ApiDownloadDatasetRequest

        request = ApiDownloadDatasetRequest()
        request.owner_slug, request.dataset_slug = ref.owner, ref.slug
        request.dataset_version_number = version
        if file:
            request.file_name = file
        return ResponseBody(api.datasets.dataset_api_client.download_dataset(request))
    from kagglesdk.competitions.types.competition_api_service import (
        ApiDownloadDataFileRequest, ApiDownloadDataFilesRequest)

    if file:
        request = ApiDownloadDataFileRequest()
        request.competition_name, request.file_name = ref.slug, file
        return ResponseBody(api.competitions.competition_api_client.download_data_file(request))
    request = ApiDownloadDataFilesRequest()
    request.competition_name = ref.slug
    return ResponseBody(api.competitions.competition_api_client.download_data_files(request))


class ResponseBody:
    """A streaming requests response as the downloader reads it (fetch.remote.Body)."""

    def __init__(self, response):
        self._response = response
        self.status, self.url, self.headers = response.status_code, response.url, response.headers

    def read1(self, size: int) -> bytes:
        import urllib3

        raw = self._response.raw
        read = getattr(raw, "read1", None) or raw.read  # urllib3 < 2 has no read1: whole reads
        try:
            return read(size, decode_content=True)
        except urllib3.exceptions.HTTPError as err:  # the downloader retries connection errors
            raise ConnectionError(f"{type(err).__name__}: {err}") from err

    def close(self) -> None:
        self._response.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def md5(self) -> str | None:
        """The hex md5 Google Cloud Storage announces in x-goog-hash (base64 there), or None."""
        for item in (self.headers.get("x-goog-hash") or "").split(","):
            name, _, value = item.strip().partition("=")
            if name == "md5" and value:
                try:
                    return base64.b64decode(value, validate=True).hex()
                except (binascii.Error, ValueError):
                    return None
        return None
