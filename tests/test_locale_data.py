"""The datasets' messages in Chinese (train/data/, train/preprocess/): real loads that fail, warn,
note and print, with COLABMAGIC_LANG=zh_CN. Numbers, option names, file names and code stay as
they are; an option stays a part of the message, so %train still words it `--target nope`.

These need the compiled catalogue (python .ci/catalogue.py, from parts/data.po).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from IPython.core.error import UsageError

from colabmagic.errors import ConfigError, DataError
from colabmagic.train import preprocess
from colabmagic.train.data import from_arrays, list_datasets, load_dataset


@pytest.fixture
def zh(monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header), *(",".join(map(str, row)) for row in rows)]) + "\n", encoding="utf-8")
    return path


def test_a_bad_csv_target_is_a_chinese_usage_error_that_keeps_the_flag(zh, shell, workdir):
    table = write_csv(workdir / "table.csv", ["a", "b", "c"], [[1, 2, 0], [3, 4, 1], [5, 6, 0], [7, 8, 1]])
    result = shell.run_cell(f"%train mlp {table} --target nope", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert str(result.error_in_exec) == "--target nope：table.csv 中没有这一列（现有列：a, b, c）"

    with pytest.raises(DataError) as raised:  # the same message in Python's words
        load_dataset(table, target="nope")
    assert str(raised.value) == "target='nope'：table.csv 中没有这一列（现有列：a, b, c）"
    assert raised.value.option == "target"


def test_dataset_names_and_options_are_refused_in_chinese(zh):
    with pytest.raises(DataError, match=r"^未知的数据集 'digit'，你是不是想用 'digits'？（见 %train --list）$"):
        load_dataset("digit")
    with pytest.raises(ConfigError, match=r"^val_split= 必须是 \[0, 1\) 之间的比例，实际为 1\.5$"):
        load_dataset("digits", val_split=1.5)
    with pytest.raises(ConfigError, match=r"^vocab_size= 不适用于 digits：它不接受任何选项$"):
        load_dataset("digits", vocab_size=100)


def test_the_summaries_are_chinese_and_keep_their_numbers(zh):
    summaries = dict(list_datasets())
    assert summaries["digits"] == "scikit-learn 自带的 8x8 手写数字，训练 1,437 / 测试 360，无需联网（默认）"
    assert summaries["cifar10"] == "32x32 彩色图片，10 个类别，训练 50,000 / 测试 10,000（需下载 170 MB）"

    dataset = load_dataset("digits", val_split=0.1)
    assert str(dataset) == "digits：image，训练 1293，验证 144，测试 360，10 个类别，输入形状 (1, 8, 8)"


def test_an_id_column_as_target_warns_in_chinese(zh, tmp_path):
    ids = write_csv(tmp_path / "ids.csv", ["id", "x"], [[i, i * 0.5] for i in range(10)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset(ids, target="id", test_split=0)
    [warning] = [w for w in caught if issubclass(w.category, UserWarning) and "类别" in str(w.message)]
    assert str(warning.message) == (
        "目标列 'id' 有 10 个类别，却只有 10 个样本（平均每类 1.0 个）：每类样本太少，难以学习，准确率会很低。"
        "它是不是 id 或名称？请用 target=COLUMN 选择要预测的列")


def test_too_many_text_values_are_refused_with_both_options_for_one_or_several_columns(zh, tmp_path):
    rows = [[f"person{i}", f"city{i}", i % 2] for i in range(100)]  # 80 training rows
    people = write_csv(tmp_path / "people.csv", ["name", "city", "label"], rows)
    expected = ("people.csv：文本列 {names} 的不同取值超过 50 个，无法做独热（one-hot）编码："
                "可用 drop='{drop}' 排除，或用 text='name' 在其中一列上训练文本模型（lstm、transformer）")
    with pytest.raises(DataError) as several:
        load_dataset(people)
    assert str(several.value) == expected.format(names="'name'（80 个不同值）, 'city'（80 个不同值）", drop="name,city")
    assert several.value.args[0].options == ("drop", "text")
    with pytest.raises(DataError) as one:
        load_dataset(people, drop="city")
    assert str(one.value) == expected.format(names="'name'（80 个不同值）", drop="name")


def test_resized_images_are_noted_in_chinese(zh):
    x = np.random.default_rng(0).integers(0, 256, size=(20, 3, 64, 48), dtype=np.uint8)
    dataset = from_arrays(x, np.arange(20) % 2, natural_image_size=32)
    assert dataset.notes == ("图片已从 64x48 缩放到模型的默认尺寸 32x32：可用 image_size=HxW 指定其他尺寸",)


def test_predict_inputs_are_refused_in_chinese(zh):
    info = preprocess.table_info(np.zeros(4), np.ones(4))
    with pytest.raises(DataError, match=r"^输入有 3 个特征，而模型训练时用的是 4 个$"):
        preprocess.prepare(info, np.zeros((2, 3)))
    with pytest.raises(DataError, match=r"^浮点图片的取值须在 0\.\.1 之间，实际为 0\.\.2\.5：请除以 255（或传入 uint8），"
                                        r"归一化交给 %train 来做$"):
        preprocess.image_array(np.array([[[[0.0, 2.5], [1.0, 0.5]]]]))


def test_english_stays_the_default(monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "en")
    with pytest.raises(DataError, match=r"^Unknown dataset 'digit' - did you mean 'digits'\? \(see %train --list\)$"):
        load_dataset("digit")
    assert str(load_dataset("digits")) == "digits: image, 1437 train, 360 test, 10 classes, input (1, 8, 8)"
