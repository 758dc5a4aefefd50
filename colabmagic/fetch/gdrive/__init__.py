"""Google Drive downloads (public files and folders, through gdown) and plain http(s) URLs: what
%drive_get calls.

- link.py: `parse(text)` -> Source, from whatever people paste (Drive links, IDs, plain URLs);
- retrieval.py: `download(text, dest)`: one call, a Downloaded result whose `str()` is the path;
- transfer.py: Drive files and folders through gdown, staged for resume, its errors in one line;
- destination.py: where the file lands (`-O`), and safe names from URLs;
- result.py: Downloaded.
"""

from .link import Source, parse
from .result import Downloaded
from .retrieval import download

__all__ = ["Downloaded", "Source", "download", "parse"]
