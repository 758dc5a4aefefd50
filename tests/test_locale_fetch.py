"""fetch/ and tensorboard/ in Chinese (COLABMAGIC_LANG=zh_CN): real calls that raise, print or show
their messages, read back through the compiled catalogue (parts/fetch.po, compiled by `make
catalogue`). Numbers, sizes, rates, option names, URLs and paths stay exactly as they are."""

from __future__ import annotations

import functools
import hashlib
import io
import re
import tarfile
import threading
import unicodedata
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from colabmagic import tensorboard, units
from colabmagic.errors import ConfigError, DataError, DownloadError
from colabmagic.fetch import download, extract
from colabmagic.fetch.gdrive import download as drive_get
from colabmagic.fetch.kaggle import KaggleFiles
from colabmagic.tensorboard import Instance, InstanceList, Stopped, manager


@pytest.fixture(autouse=True)
def chinese(monkeypatch, tmp_path):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path / "state"))  # no one else's TensorBoards


@pytest.fixture
def served(tmp_path):
    """http.server on 127.0.0.1 serving tmp_path/www; yields (folder, base URL)."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def test_a_kaggle_reference_error_is_one_chinese_usage_error(shell):
    assert usage_error(shell, "%kaggle_get titanic") == (
        "'titanic' 不是 Kaggle 数据集：应为 owner/dataset 或 owner/dataset/versions/N（如果是竞赛，请用 -c NAME）")
    assert usage_error(shell, "%kaggle_get owner/data/versions/0") == "'owner/data/versions/0'：数据集版本号从 1 开始"


def test_english_stays_the_default(shell, monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "en")
    assert usage_error(shell, "%kaggle_get titanic") == (
        "'titanic' is not a Kaggle dataset: expected owner/dataset or owner/dataset/versions/N "
        "(a competition? use -c NAME)")


def test_tensorboard_errors_keep_ports_and_options(shell, workdir):
    assert usage_error(shell, "%tensorboard_inline --stop 6123") == (
        "端口 6123 上没有由 colabmagic 启动的 TensorBoard（%tensorboard_inline --list 可列出它们）")
    with pytest.raises(DataError) as caught:
        manager.resolve_logdir("runs")
    assert str(caught.value) == ("日志目录 runs 不存在（%train 会把运行记录写到这里）：请先训练一个模型，或加上 --wait "
                                 "立即启动，运行记录出现后会自动显示")
    with pytest.raises(ConfigError) as caught:
        tensorboard.start(workdir, port=70000)
    assert str(caught.value) == "--port 必须在 1 到 65535 之间，收到的是 70000"


def test_a_checksum_mismatch_names_both_digests(served, tmp_path):
    folder, base = served
    data = b"digits " * 1000
    (folder / "data.bin").write_bytes(data)
    wrong = "0" * 64
    with pytest.raises(DownloadError) as caught:
        download(f"{base}/data.bin", tmp_path / "data.bin", sha256=wrong)
    got = hashlib.sha256(data).hexdigest()
    assert str(caught.value) == (f"从 {base}/data.bin 下载的 data.bin 校验和不符（期望 sha256 为 {wrong}，实际为 {got}）："
                                 "下载的文件已损坏（或校验和有误）；没有保留任何内容，请重新运行")
    assert not (tmp_path / "data.bin").exists()


def test_a_missing_url_keeps_the_http_status(served, tmp_path):
    _, base = served
    with pytest.raises(DownloadError, match=rf"^下载 {re.escape(base)}/gone.zip 失败：HTTP 404 "):
        download(f"{base}/gone.zip", tmp_path / "gone.zip")


def test_drive_get_summary_counts_files_and_keeps_units(served, tmp_path):
    folder, base = served
    (folder / "train.csv").write_bytes(b"label,pixel0\n" * 5000)
    size = units.size(65000)
    first = drive_get(f"{base}/train.csv", f"{tmp_path}/", progress=False)
    line = re.escape(f"网址 → {tmp_path / 'train.csv'}（1 个文件，{size}，用时 ")
    assert re.fullmatch(line + r"\d+\.\d s(, [\d.]+ [kMG]B/s)?）", first.summary()), first.summary()
    again = drive_get(f"{base}/train.csv", f"{tmp_path}/", progress=False)
    assert again.summary() == f"{tmp_path / 'train.csv'} 已经存在（{size}）；无需下载"


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archives_refuse_in_chinese_and_write_nothing(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(DataError) as caught:
        extract(_tar(tmp_path / "bad.tar", {"../evil.txt": b"x"}), target)
    assert str(caught.value) == "拒绝解压 bad.tar：条目 '../evil.txt' 指向目标文件夹之外"
    target.mkdir()
    (target / "a.txt").write_text("mine")
    with pytest.raises(DataError) as caught:
        extract(_tar(tmp_path / "data.tar", {"a.txt": b"theirs"}), target)
    assert str(caught.value) == (f"{target / 'a.txt'} 已存在（a.txt 与 data.tar 中的不同）：请删除它，或把 data.tar "
                                 "解压到别处；没有解压任何文件")
    assert (target / "a.txt").read_text() == "mine"


def test_kaggle_summary_and_tree(tmp_path):
    files = [("train.csv", 1500), ("images/a.png", 10), ("images/b.png", 20)]
    result = KaggleFiles("owner/digits/versions/3", "https://www.kaggle.com/datasets/owner/digits/versions/3",
                         tmp_path, tmp_path / "cache", 3, files, downloaded_bytes=2_000_000, seconds=2.0,
                         placed="copied")
    text = result._text().splitlines()
    assert text[0] == (f"owner/digits/versions/3：3 个文件，{units.size(1530)}，下载了 {units.size(2_000_000)}，"
                       f"用时 2.0 s, {units.rate(1_000_000)}；从 {tmp_path / 'cache'} 复制而来")
    assert text[2].split() == ["├──", "images/", "2", "个文件，30", "B"]
    result.cached = True
    assert result.summary().startswith("owner/digits/versions/3：3 个文件，1.5 KiB，来自缓存（--force 会重新下载）；")


def terminal_column(line: str, cell: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:line.index(cell)])


def test_the_instance_table_lines_up_with_chinese_headers(tmp_path):
    instance = Instance(port=6006, pid=4321, logdir=str(tmp_path / "runs"), started_at=1000.0, create_time=999.0,
                        owner_pid=77)
    table = str(InstanceList([instance], now=1000.0 + 3725)).splitlines()
    assert table[0].split() == ["端口", "logdir", "pid", "运行时长", "随谁结束", "网址"]
    assert table[1].split()[:7] == ["6006", str(tmp_path / "runs"), "4321", "1", "h", "02", "min"]
    # a column starts at the same terminal column in the header and the row (a CJK character is 2 wide)
    assert terminal_column(table[0], "logdir") == terminal_column(table[1], str(tmp_path)) == 6
    assert terminal_column(table[0], "网址") == terminal_column(table[1], "http://127.0.0.1:6006/")
    assert "内核 77" in table[1]
    assert str(Stopped([instance])) == f"已停止端口 6006 上的 TensorBoard（pid 4321，{tmp_path / 'runs'}）"
    assert str(InstanceList([])) == "当前没有由 colabmagic 启动的 TensorBoard 在运行。"
