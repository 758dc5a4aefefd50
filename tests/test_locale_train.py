"""The train area in Chinese (COLABMAGIC_LANG=zh_CN): errors, notes, the summary, progress and the
--jobs table come from the catalogue, while numbers, units, option names, paths and code stay as they are.

These need the compiled catalogue (`python .ci/catalogue.py`, which the lead runs at merge):
tests/test_locale.py fails on its own when the catalogue is stale.
"""

from __future__ import annotations

import io
import re
import warnings

import pytest
from IPython.core.error import UsageError

from colabmagic.errors import CheckpointError, ConfigError, TrainingInterrupted
from colabmagic.train import Callback, TrainConfig, train
from colabmagic.train.background.listing import JobRow, JobsTable
from colabmagic.train.chart import TrainingChart
from colabmagic.train.notes import TrainingNote
from colabmagic.train.progress import ConsoleView
from colabmagic.train.stopping import request_stop


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")


def columns(text: str) -> int:
    """Terminal columns, counted here independently of the code under test: CJK ideographs and
    full-width punctuation take two."""
    return sum(2 if "\u4e00" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" or "\u3000" <= c <= "\u303f" else 1
               for c in text)


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def test_a_bad_value_is_one_chinese_line_with_the_option_and_number_as_typed(chinese):
    with pytest.raises(ConfigError) as raised:
        TrainConfig(model="mlp", epochs=0).resolved()
    assert str(raised.value) == "epochs 至少为 1，实际为 0" and raised.value.option == "epochs"
    with pytest.raises(ConfigError, match=r"^未知的训练选项 'lrate'：可用的选项有 augment, batch_size, "):
        train("mlp", "digits", lrate=0.1)


def test_the_magic_words_the_options_of_a_chinese_message_as_flags(chinese, shell, workdir):
    # an Option part of the translated sentence becomes %train's flag, in the translator's word order
    assert usage_error(shell, "%train mlp digits --nnodes 2") == "多机训练需要 0 号节点的 --rdzv-endpoint HOST:PORT"
    message = usage_error(shell, "%train mlp digits --resume")
    assert message == ("runs/mlp-digits/checkpoints 中（以及 runs/mlp-digits-N 中）都没有可继续的检查点："
                       "请先不带 --resume 训练一次")
    assert list(workdir.iterdir()) == []


def test_the_same_call_speaks_english_without_the_setting(monkeypatch, shell, workdir):
    for variable in ("COLABMAGIC_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert usage_error(shell, "%train mlp digits --nnodes 2") == \
        "Training on several nodes needs --rdzv-endpoint HOST:PORT of node 0"


def test_a_run_shows_its_rows_and_summary_in_chinese_with_numbers_and_units_as_they_are(chinese, workdir):
    stream = io.StringIO()
    result = train("mlp", "digits", epochs=1, callbacks=[ConsoleView(stream)])
    rows = stream.getvalue().splitlines()
    assert rows[0] == "在 digits 上训练 mlp：1437 个样本，{:,} 个参数，设备 cpu".format(
        sum(p.numel() for p in result.model.parameters()))
    assert re.fullmatch(r"第 1/1 轮 - \d+\.\d\ds - train_loss: \d\.\d{4} - train_accuracy: \d\.\d{4} - test_loss: .*", rows[1]), rows[1]

    headline, *details = str(result).splitlines()
    assert re.fullmatch(r"mlp 训练于 digits（cpu，fp32）：已训练 1/1 轮，训练 \d+\.\d\d s，共 \d+\.\d\d s，"
                        r"[\d,]+ 样本/s", headline), headline
    labels = {line.split()[0]: line for line in details}
    assert "test_accuracy" in labels  # metric keys are names, not words: as in the history
    assert re.fullmatch(r"  内存峰值\s+[\d,]+ MiB", labels["内存峰值"])
    assert labels["检查点"].endswith("runs/mlp-digits/checkpoints/epoch0001-step000000.pt")
    # the values line up after labels of different widths (a Chinese character takes two columns)
    assert columns(labels["内存峰值"][:re.search(r"\d", labels["内存峰值"]).start()]) == \
        columns(labels["检查点"][:labels["检查点"].index("runs/")])
    html = result._repr_html_()
    for word in ("训练", "测试", "损失", "准确率", "内存峰值", "--logdir runs/mlp-digits"):
        assert word in html


def test_a_stopped_run_says_where_and_how_to_resume_in_chinese_with_the_python_call_as_code(chinese, workdir):
    class StopAfterTheFirstEpoch(Callback):
        def on_epoch_end(self, epoch, metrics):
            request_stop()

    with pytest.raises(TrainingInterrupted) as raised:
        train("mlp", "digits", epochs=3, callbacks=[StopAfterTheFirstEpoch()])
    assert re.fullmatch(r"训练已停止，停在第 2/3 轮第 \d+/\d+ 步；检查点已保存到 runs/mlp-digits/checkpoints/\S+\.pt。"
                        r"继续训练：`train\(\"mlp\", \"digits\", epochs=3, resume=True\)`。", str(raised.value)), \
        str(raised.value)
    assert raised.value.resume["epochs"] == 3 and raised.value.resume["resume"] is True


def test_a_finished_run_given_more_epochs_says_so_in_chinese(chinese, workdir):
    train("mlp", "digits", epochs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train("mlp", "digits", epochs=3, resume=True)
    notes = [str(w.message) for w in caught if issubclass(w.category, TrainingNote)]
    assert notes == ["在已完成的 1 轮训练上再训练 2 轮（从最后的权重开始新的学习率调度）"]
    assert len(result.history) == 3


def test_a_checkpoint_of_another_model_is_refused_in_chinese_naming_both(chinese, workdir):
    train("mlp", "digits", epochs=1, name="mine")
    with pytest.raises(CheckpointError) as raised:
        train("cnn", "digits", epochs=1, name="mine", resume=True)
    assert re.fullmatch(r"runs/mine/checkpoints/\S+\.pt 是模型 'mlp' 写入的，不是 'cnn'：请用 'mlp' 继续训练，"
                        r"或换个名称重新训练", str(raised.value)), str(raised.value)


def test_the_jobs_table_and_the_chart_speak_chinese_and_keep_their_columns(chinese):
    rows = [JobRow("cnn-cifar10", "running", "3/10", 1173, "val_accuracy 0.8123", 754.0, 1810.0, "cuda:0", 4242,
                   "", "", None),
            JobRow("gone", "dead", "1/5", 80, "", 61.0, None, "cpu", 4343, "", "", None)]
    text = str(JobsTable(rows)).splitlines()
    assert text[0].split() == ["名称", "状态", "轮次", "步数", "最佳", "已用时", "预计剩余", "设备", "pid"]
    assert text[1].split() == ["cnn-cifar10", "运行中", "3/10", "1173", "val_accuracy", "0.8123", "12:34", "30:10",
                               "cuda:0", "4242"]
    assert text[3] == "gone：进程意外退出；没有写入任何检查点：请重新开始训练"
    # a Chinese character takes two terminal columns: the cells after it still start in one column
    assert columns(text[0][:text[0].index("轮次")]) == columns(text[1][:text[1].index("3/10")])
    assert "<th>状态</th>" in JobsTable(rows)._repr_html_() and "<td>意外退出</td>" in JobsTable(rows)._repr_html_()

    chart = TrainingChart(history=[{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8, "val_loss": 0.6,
                                    "val_accuracy": 0.75}], total_epochs=4)
    html = chart._repr_html_()
    for words in ("每轮次的损失", "每轮次的准确率", ">训练</text>", ">验证</text>", ">轮次</text>"):
        assert words in html
    assert str(TrainingChart(total_epochs=4)) == "等待第一个轮次"


def test_a_run_too_big_names_its_fixes_as_flags_inside_one_chinese_sentence(chinese):
    from colabmagic.magics.train import flag
    from colabmagic.train.memory import MemoryEstimate, check

    too_big = MemoryEstimate(data_bytes=3 * 2**30, parameter_bytes=2**30, activation_bytes=2 * 2**30,
                             free_bytes=4 * 2**30, where="RAM")
    with pytest.raises(ConfigError) as raised:
        check(too_big)
    assert raised.value.worded(flag) == (
        "这次训练需要约 6.0 GiB 内存，可用 4.0 GiB（数据 3.0 GiB，模型+优化器 1.0 GiB，批次 2.0 GiB），放不下："
        "试试更小的 --batch-size，或更小的图像（--image-size），或内存更大的机器")
    assert raised.value.option == "batch_size"
