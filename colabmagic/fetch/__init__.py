"""Downloads: plain HTTP(S) with resume and checksums, safe archive extraction, Google Drive.

`download(url, dest, sha256=..., md5=...)` writes `dest` whole or not at all;
`extract(archive, target_dir)` refuses members that would land outside `target_dir`.
`gdrive.download(link_or_id, dest)` (what %drive_get calls) fetches public Drive files and folders
through gdown, imported on first use; `kaggle.py` does the same for Kaggle through kagglehub.
"""

from ..errors import NetworkError
from ._http import download, extract

__all__ = ["NetworkError", "download", "extract"]
