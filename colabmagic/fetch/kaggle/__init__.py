"""Kaggle datasets and competition files: `kaggle_get("owner/dataset")` -> the local files.

kagglehub (Kaggle's official client) makes the API calls and reads the credentials; colabmagic adds
what it lacks, one concern per module as kagglehub itself is laid out:
- reference.py: references as people paste them (`owner/slug`, `owner/slug/versions/N`, URLs);
- credentials.py: kagglehub's sources, then colabmagic's secrets store, put into the environment
  for the call only; nothing here prints or stores a credential;
- client.py: the kagglesdk calls, and their streaming answer handed to the one downloader
  (fetch/download.py: a fresh file renamed when whole, Range/If-Range resume, retries, the
  x-goog-hash md5, a full disk in one line);
- failures.py: one-line errors that say what to do (401, 403 with the rules URL, 404 with a search
  URL, network unreachable with the proxy variables, disk full);
- retrieval.py: `kaggle_get` itself: version, kagglehub's cache (its layout and completion
  markers, so `kagglehub.dataset_download()` finds what `%kaggle_get` fetched and back), download;
- unpacking.py: safe extraction (fetch/archives.py) into a staging folder renamed into place;
- placement.py: `path=`: the files hard-linked (or copied) into a folder of the user's choice,
  refusing symlinks and anything that would land outside it;
- result.py: KaggleFiles, what it returns and shows.
"""

from .credentials import Credentials, find_credentials
from .reference import KaggleRef, parse_ref
from .result import KaggleFiles
from .retrieval import kaggle_get

__all__ = ["Credentials", "KaggleFiles", "KaggleRef", "find_credentials", "kaggle_get", "parse_ref"]
