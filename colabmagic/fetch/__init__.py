"""Downloads: plain HTTP(S) with resume and checksums, safe archive extraction, Google Drive.

`download(url, dest, sha256=..., md5=...)` writes `dest` whole or not at all;
`extract(archive, target_dir)` refuses members that would land outside `target_dir`, and never
removes or overwrites what is there (InTheWay when something other than the archive's own files is).
`gdrive.download(link_or_id, dest)` (what %drive_get calls) fetches public Drive files and folders
through gdown, imported on first use; `kaggle.py` does the same for Kaggle through kagglehub.
"""

from ..errors import NetworkError
from ._http import InTheWay, download, extract

__all__ = ["InTheWay", "NetworkError", "download", "extract"]
