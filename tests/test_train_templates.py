"""Model templates adapt to their data; augmentation on the device is a pure pixel rearrangement."""

from __future__ import annotations

import pytest
import torch

from colabmagic.errors import ConfigError, DataError
from colabmagic.train.augment import Augmentation
from colabmagic.train.data.dataset import DataSpec
from colabmagic.train.models import REGISTRY, build_model, get_template, list_models

IMAGE_SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 5, 7)]


@pytest.mark.parametrize("name", ["mlp", "cnn", "resnet9", "resnet18"])
@pytest.mark.parametrize("shape", IMAGE_SHAPES)
def test_image_templates_adapt_to_the_input_shape(name, shape):
    torch.manual_seed(0)
    model = build_model(name, DataSpec("image", shape, 7)).eval()
    with torch.no_grad():
        assert model(torch.randn(3, *shape)).shape == (3, 7)


def test_mlp_takes_table_rows():
    model = build_model("mlp", DataSpec("tabular", (13,), 3))
    assert model(torch.randn(5, 13)).shape == (5, 3)


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_text_templates_take_padded_token_ids(name):
    torch.manual_seed(0)
    model = build_model(name, DataSpec("text", (20,), 2, vocab_size=50)).eval()
    tokens = torch.randint(2, 50, (4, 20))
    tokens[0, 5:] = 0       # a short text
    tokens[1] = 0           # an empty one: pooled to zeros, not NaN
    with torch.no_grad():
        out = model(tokens)
    assert out.shape == (4, 2) and torch.isfinite(out).all()
    # padding is ignored: more padding after the text changes nothing
    longer = torch.cat([tokens[:1, :5], torch.zeros(1, 15, dtype=torch.long)], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(longer), out[:1], atol=1e-5)


@pytest.mark.parametrize("name, spec, fitting", [
    ("lstm", DataSpec("image", (1, 8, 8), 10), "mlp, cnn, resnet9, resnet18"),
    ("cnn", DataSpec("tabular", (4,), 2), "mlp"),
    ("mlp", DataSpec("text", (9,), 2, vocab_size=9), "lstm, transformer"),
])
def test_a_template_on_the_wrong_kind_of_data_names_those_that_fit(name, spec, fitting):
    with pytest.raises(DataError, match=f"use {fitting}"):
        build_model(name, spec)


def test_unknown_template_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'cnn'"):
        get_template("cnnn")
    with pytest.raises(ConfigError, match="templates: mlp, cnn"):
        get_template("xgboost")


def test_every_registered_template_has_a_file_and_defaults_that_are_options():
    from colabmagic.train.config import TrainConfig

    options = {f for f in TrainConfig.__dataclass_fields__}
    assert [n for n, _ in list_models()] == list(REGISTRY)
    for name in REGISTRY:
        template = get_template(name)
        assert template.name == name
        assert set(template.defaults) <= options
        TrainConfig(model=name).resolved(template.defaults)  # the defaults validate


def images(dtype, channels_last):
    x = torch.arange(2 * 3 * 6 * 5).reshape(2, 3, 6, 5)
    x = x.to(torch.uint8) if dtype is torch.uint8 else x.float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def reflect(i: int, size: int) -> int:
    """Index i folded back into 0..size-1 as a mirror at the borders (without repeating the edge)."""
    period = 2 * (size - 1)
    i %= period
    return period - i if i >= size else i


def translated(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x (C, H, W) moved by (dy, dx), reflected at the borders: the reference, pixel by pixel."""
    _, height, width = x.shape
    rows = [reflect(r - dy, height) for r in range(height)]
    cols = [reflect(c - dx, width) for c in range(width)]
    return x[:, rows][:, :, cols]


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_flip_mirrors_exactly_the_chosen_images(dtype, channels_last):
    x = images(dtype, channels_last).repeat(16, 1, 1, 1)
    out = Augmentation("flip", (3, 6, 5), torch.device("cpu"))(x, torch.Generator().manual_seed(1))
    assert out.dtype == dtype and out.shape == x.shape
    flipped = 0
    for i in range(len(x)):
        if torch.equal(out[i], x[i].flip(-1)):
            flipped += 1
        else:
            assert torch.equal(out[i], x[i])
    assert 0 < flipped < len(x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_crop_translates_with_reflection_and_follows_the_seed(dtype, channels_last):
    x = images(dtype, channels_last).repeat(20, 1, 1, 1)
    augment = Augmentation("crop2", (3, 6, 5), torch.device("cpu"))
    out = augment(x, torch.Generator().manual_seed(7))
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(7)))
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    drawn = set()
    for i in range(len(x)):
        matches = [s for s in shifts if torch.equal(out[i], translated(x[i], *s))]
        assert matches, f"sample {i} is not a reflected translation of its input"
        drawn.add(matches[0])
    assert len(drawn) > 5  # the shifts vary from image to image
