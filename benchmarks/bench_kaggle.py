"""%kaggle_get's download and extraction speed against plain kagglehub and `unzip`, same run.

Claims (issue 6): fetching the same 200 MB file from a local Kaggle API server runs at >= 0.95x
kagglehub's throughput (ours also checks the md5, writes a .part and fsyncs before the rename);
unpacking the same archive runs near `unzip`'s speed although every member is checked first and
the folder appears whole (staging folder + rename).

The server is tests/fake_kaggle.py on 127.0.0.1 (real kagglehub, real HTTP, sendfile on the
server side). Runs alternate ours/peer; the median of REPEAT runs is shown.

    python benchmarks/bench_kaggle.py [--mb 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from harness import Row, report  # noqa: E402


@contextlib.contextmanager
def quiet_stderr():
    """Both sides draw a tqdm bar; send both to /dev/null so the terminal does not pace the run."""
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_download(root: Path, mb: int, repeat: int) -> Row:
    from fake_kaggle import TOKEN, FakeKaggle

    server = FakeKaggle(root / "server")
    big = root / "big.bin"
    with open(big, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))
    server.add_dataset("bench/big", {})
    server.datasets["bench/big"]["versions"][1]["files"]["big.bin"] = (big, "big.bin")
    server.start()
    os.environ.update(server.environment())
    os.environ["KAGGLE_API_TOKEN"] = TOKEN
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    os.environ["KAGGLEHUB_CACHE"] = str(root / "cache")
    import kagglehub

    from colabmagic.fetch.kaggle import kaggle_get

    ours_s, peer_s = [], []
    try:
        for _ in range(repeat):
            with quiet_stderr():
                ours_s.append(timed(lambda: kaggle_get("bench/big", file="big.bin", force=True)))
                peer_s.append(timed(lambda: kagglehub.dataset_download("bench/big", path="big.bin",
                                                                        force_download=True)))
        out = root / "cache" / "datasets" / "bench" / "big" / "versions" / "1" / "big.bin"
        assert out.stat().st_size == big.stat().st_size
    finally:
        server.stop()
    ours, peer = statistics.median(ours_s), statistics.median(peer_s)
    ratio = peer / ours  # throughput ratio: ours / kagglehub's
    return Row(f"download {mb} MB (kagglehub)", ours, peer, "s",
               f"{mb / ours:.0f} vs {mb / peer:.0f} MB/s = {ratio:.2f}x throughput (target >= 0.95x)")


def bench_extract(root: Path, mb: int, repeat: int) -> Row:
    from colabmagic.fetch.kaggle.unpacking import extract_replacing

    archive = root / "bundle.zip"
    rng = random.Random(0)
    words = [bytes(rng.choice(b"abcdefghij0123456789,") for _ in range(12)) for _ in range(4096)]
    files = 40
    per_file = (mb << 20) // files
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(files):
            chunk = b"\n".join(rng.choices(words, k=per_file // 13 + 1))[:per_file]
            zf.writestr(f"part-{i:03d}/data.csv", chunk)
    unzip = shutil.which("unzip")
    if unzip is None:
        raise SystemExit("unzip is not installed (apt-get install unzip)")
    ours_s, peer_s = [], []
    for i in range(repeat):
        ours_dir, peer_dir = root / f"ours-{i}", root / f"peer-{i}"
        ours_s.append(timed(lambda: extract_replacing(archive, ours_dir)))
        peer_s.append(timed(lambda: subprocess.run([unzip, "-q", "-o", str(archive), "-d", str(peer_dir)],
                                                   check=True)))
        shutil.rmtree(ours_dir)
        shutil.rmtree(peer_dir)
    ours, peer = statistics.median(ours_s), statistics.median(peer_s)
    return Row(f"extract {mb} MB zip ({archive.stat().st_size >> 20} MB) (unzip)", ours, peer, "s",
               f"{files} members, deflate; ours checks every member and renames the folder into place")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-kaggle-"))
    try:
        os.environ["HOME"] = str(root)
        rows = [bench_download(root, args.mb, args.repeat), bench_extract(root, args.mb, args.repeat)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report("%kaggle_get: download vs kagglehub, extraction vs unzip (time; ratio < 1 = ours faster)", rows)


if __name__ == "__main__":
    main()
