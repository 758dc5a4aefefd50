"""Downloads: plain HTTP(S) with resume and checksums, safe archive extraction.

`download(url, dest, sha256=..., md5=...)` writes `dest` whole or not at all;
`extract(archive, target_dir)` refuses members that would land outside `target_dir`.
"""

from ._http import NetworkError, download, extract

__all__ = ["NetworkError", "download", "extract"]
