"""Downloads: the one resumable downloader, safe archive extraction, Google Drive and Kaggle.

`download(url, dest, sha256=..., md5=...)` writes `dest` whole or not at all (download.py);
`extract(archive, target_dir)` refuses members that would land outside `target_dir`, and never
removes or overwrites what is there (InTheWay when something other than the archive's own files is)
(archives.py). `gdrive.download(link_or_id, dest)` (what %drive_get calls) fetches public Drive
files and folders through gdown, imported on first use; `kaggle/` does the same for Kaggle through
kagglehub's client. All of them draw the one byte progress bar (progress.py).
"""

from ..errors import NetworkError
from .archives import InTheWay, extract
from .download import download

__all__ = ["InTheWay", "NetworkError", "download", "extract"]
