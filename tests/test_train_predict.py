"""`TrainResult.predict` / `predict_proba` on raw inputs, preprocessed exactly as training was (issue 9 §1).

Each test trains through `train()` and checks that predicting on the held-out rows in their raw
form (the arrays, image files, CSV rows or texts the user has) scores exactly the reported test
accuracy, and that labels come back as the data had them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colabmagic.train import train
from colabmagic.train.data.split import TEST_SEED, stratified_indices

FAST = dict(device="cpu", threads=1, checkpoint_every=0)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)  # float64 pixels in 0..16, (1797, 64)
    return x, y


def held_out(y) -> np.ndarray:
    """The rows train() holds out as the test split of notebook data (20 %, stratified, fixed seed)."""
    return stratified_indices(np.asarray(y), 0.2, TEST_SEED)[1]


def accuracy(predicted, expected) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(expected)))


def test_mlp_on_raw_arrays_scores_the_reported_accuracy_and_returns_the_labels(digits, workdir):
    x, y = digits
    labels = y + 10  # labels 10..19: predictions must be these values, not indices 0..9
    result = train("mlp", data=(x, labels), epochs=3, batch_size=128, **FAST)
    held = held_out(labels)
    assert result.classes == list(range(10, 20))
    predicted = result.predict(x[held])
    assert predicted.dtype.kind == "i" and set(predicted.tolist()) <= set(range(10, 20))
    assert accuracy(predicted, labels[held]) == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)
    assert result.metrics["test_accuracy"] > 0.85
    # the model on raw (unstandardised) pixels is what predict() saves the user from
    raw = result.model(torch.from_numpy(x[held]).float()).argmax(1).numpy() + 10
    assert accuracy(raw, labels[held]) < result.metrics["test_accuracy"]
    proba = result.predict_proba(x[held][:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert [result.classes[i] for i in proba.argmax(1)] == predicted[:7].tolist()
    assert result.predict(torch.from_numpy(x[held][:7])).tolist() == predicted[:7].tolist()  # tensors too


def test_cnn_on_uint8_images_and_on_the_same_images_as_png_files(digits, workdir):
    from PIL import Image

    x, y = digits[0][:900], digits[1][:900]
    images = np.round(x * 255 / 16).astype(np.uint8).reshape(-1, 8, 8)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    result = train("cnn", data=(images, names), epochs=2, batch_size=128, **FAST)
    held = held_out(names)
    assert result.classes == sorted(set(names.tolist()))
    predicted = result.predict(images[held])
    assert predicted.dtype.kind == "U"
    assert accuracy(predicted, names[held]) == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)
    files = []
    for i in held[:12]:
        path = workdir / "pngs" / f"{i:04d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(images[i]).save(path)
        files.append(path)
    assert result.predict(files).tolist() == predicted[:12].tolist()
    assert result.predict(workdir / "pngs").tolist() == predicted[:12].tolist()  # a folder: sorted paths
    assert result.predict(images[held][:12, :, :, None]).tolist() == predicted[:12].tolist()  # (N, H, W, C)


def test_csv_with_text_date_and_missing_columns_predicts_from_csv_rows_and_dataframes(workdir):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(10, 3, n)
    day = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    label = np.where((colour == "red") ^ (size > 10), "yes", "no")
    frame = pd.DataFrame({"id": np.arange(n), "colour": colour, "size": np.round(size, 2),
                          "day": day.strftime("%Y/%m/%d"), "label": label})
    frame.loc[::17, "size"] = np.nan
    frame.to_csv(workdir / "shop.csv", index=False)
    result = train("mlp", "shop.csv", drop="id", epochs=3, batch_size=32, **FAST)
    held = held_out(label)
    assert result.classes == ["no", "yes"]
    # the test rows as another file: no label column, other column order, ';' and decimal commas
    rows = frame.iloc[held][["size", "day", "colour", "id"]]
    rows.to_csv(workdir / "new.csv", index=False, sep=";", decimal=",")
    predicted = result.predict(workdir / "new.csv")
    assert accuracy(predicted, label[held]) == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)
    assert result.predict(frame.iloc[held]).tolist() == predicted.tolist()
    assert result.predict(rows.to_dict("records")).tolist() == predicted.tolist()
    from colabmagic.errors import DataError

    with pytest.raises(DataError, match="the input has no column 'colour'"):
        result.predict(frame.iloc[held].drop(columns="colour"))


def test_lstm_on_a_csv_text_column_predicts_from_texts(workdir):
    rng = np.random.default_rng(5)
    good, bad = ["great", "loved", "wonderful", "fun"], ["awful", "boring", "dull", "bad"]
    filler = ["the", "film", "was", "and", "plot", "acting"]
    texts, labels = [], []
    for i in range(240):
        positive = i % 2 == 0
        words = list(rng.choice(filler, 5)) + list(rng.choice(good if positive else bad, 2))
        texts.append(" ".join(rng.permutation(words)))
        labels.append("pos" if positive else "neg")
    lines = ["text,stars,sentiment"] + [f'"{t}",{i % 5},{s}' for i, (t, s) in enumerate(zip(texts, labels))]
    (workdir / "reviews.csv").write_text("\n".join(lines) + "\n")
    result = train("lstm", "reviews.csv", target="sentiment", text="text", epochs=3, batch_size=32, **FAST)
    held = held_out(labels)
    predicted = result.predict([texts[i] for i in held])
    assert accuracy(predicted, np.array(labels)[held]) == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)
    assert result.metrics["test_accuracy"] > 0.9
    assert result.predict(workdir / "reviews.csv").shape == (240,)  # the column from a CSV file
    assert result.predict("a wonderful and great film").tolist() == ["pos"]


def test_big_photos_train_at_the_natural_size_and_predict_from_the_folder(workdir):
    from PIL import Image

    for i in range(8):
        folder = workdir / "photos" / ("day" if i % 2 else "night")
        folder.mkdir(parents=True, exist_ok=True)
        shade = 230 - i * 5 if i % 2 else 20 + i * 5
        Image.new("RGB", (2000, 1500), (shade, shade, shade)).save(folder / f"IMG_{i:04d}.jpg", quality=90)
    with pytest.warns(UserWarning, match="resized from 1500x2000 to 32x32"):
        result = train("cnn", "photos", epochs=2, batch_size=8, **FAST)
    assert result.spec.input_shape == (3, 32, 32)
    assert sum(p.numel() for p in result.model.parameters()) < 1_000_000  # not 314 million
    predicted = result.predict(workdir / "photos")
    assert predicted.tolist() == ["day", "day", "day", "day", "night", "night", "night", "night"]


def test_the_builtin_digits_predict_from_scikit_learns_raw_pixels(workdir):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)  # pixels 0..16, as people have them
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    result = train("cnn", "digits", epochs=3)
    assert result.classes == list(range(10))
    predicted = result.predict(x_test.reshape(-1, 8, 8))
    assert predicted.tolist() == [int(p) for p in predicted]
    assert np.mean(predicted == y_test) == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)


def test_a_table_model_predicts_one_row_given_as_a_dict_and_rows_as_a_list_of_dicts(workdir):
    pd = pytest.importorskip("pandas")
    vega = pytest.importorskip("vega_datasets")
    from pathlib import Path

    path = Path(vega.__file__).parent / "_data" / "seattle-weather.csv"
    result = train("mlp", path, target="weather", epochs=1, **FAST)
    rows = pd.read_csv(path).drop(columns="weather").iloc[:5]
    expected = result.predict(rows).tolist()
    one = rows.iloc[0].to_dict()  # {'date': '2012/01/01', 'precipitation': 0.0, ...}: one row, not five columns
    assert result.predict(one).tolist() == expected[:1]
    assert result.predict_proba(one).shape == (1, len(result.classes))
    assert [result.predict(row).tolist()[0] for row in rows.to_dict("records")] == expected
    assert result.predict(rows.to_dict("records")).tolist() == expected
    assert result.predict(rows.to_dict("list")).tolist() == expected  # a dict of columns stays columns
