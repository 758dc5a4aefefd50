"""Every model template on every data shape it accepts, refusals that name what fits, and the
on-device augmentation checked pixel by pixel against a reference.

The template cases are generated from the registry and each template's declared `kinds`, so a new
template is covered (and must build for every shape of its kind) without editing this file.
"""

from __future__ import annotations

import re

import pytest
import torch

from colabmagic.errors import ConfigError, DataError
from colabmagic.train.augment import Augmentation
from colabmagic.train.data.dataset import DataSpec
from colabmagic.train.models import REGISTRY, build_model, get_template

NUM_CLASSES = 5
VOCAB = 37
SPECS = {
    "image": [DataSpec("image", (1, 8, 8), NUM_CLASSES), DataSpec("image", (1, 28, 28), NUM_CLASSES),
              DataSpec("image", (3, 32, 32), NUM_CLASSES)],
    "tabular": [DataSpec("tabular", (11,), NUM_CLASSES)],
    "text": [DataSpec("text", (16,), NUM_CLASSES, vocab_size=VOCAB)],
}


def example_batch(spec: DataSpec, n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if spec.kind == "text":
        tokens = torch.randint(2, spec.vocab_size, (n, *spec.input_shape), generator=generator)
        tokens[0, spec.input_shape[0] // 2:] = 0  # a padded text, as the loaders produce
        return tokens
    return torch.randn(n, *spec.input_shape, generator=generator)


def cases(accepted: bool) -> list:
    found = []
    for name in REGISTRY:
        kinds = get_template(name).kinds
        for kind, specs in SPECS.items():
            if (kind in kinds) == accepted:
                found += [pytest.param(name, spec, id=f"{name}-{kind}-{'x'.join(map(str, spec.input_shape))}")
                          for spec in specs]
    return found


def test_every_template_accepts_some_kind_of_data_we_check():
    for name in REGISTRY:
        assert get_template(name).kinds & set(SPECS), f"{name} accepts no data kind this file knows"


@pytest.mark.parametrize("name, spec", cases(accepted=True))
def test_template_builds_for_its_data_and_every_parameter_learns(name, spec):
    torch.manual_seed(0)
    model = build_model(name, spec)
    x = example_batch(spec, 4)
    model.train()
    out = model(x)
    assert out.shape == (4, NUM_CLASSES) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # a layer built but never used (a wrong pooling size, a dead branch) would get no gradient
    out.float().logsumexp(1).sum().backward()
    idle = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not idle, f"{name} has parameters no output depends on: {idle}"
    model.eval()
    with torch.no_grad():
        assert model(x[:1]).shape == (1, NUM_CLASSES)  # a batch of one works in eval mode


@pytest.mark.parametrize("name", list(REGISTRY))
def test_same_seed_builds_the_same_initial_weights(name):
    # plan.py seeds the global generator before building: that must fix every initial weight
    spec = next(s for kind, specs in SPECS.items() if kind in get_template(name).kinds for s in specs)
    weights = []
    for seed in (3, 3, 4):
        torch.manual_seed(seed)
        weights.append(build_model(name, spec).state_dict())
    assert all(torch.equal(a, b) for a, b in zip(weights[0].values(), weights[1].values()))
    assert not all(torch.equal(a, b) for a, b in zip(weights[0].values(), weights[2].values()))


@pytest.mark.parametrize("name, spec", cases(accepted=False))
def test_a_template_on_data_it_cannot_take_names_the_templates_that_fit(name, spec):
    with pytest.raises(DataError) as caught:
        build_model(name, spec)
    message = str(caught.value)
    assert spec.kind in message and name in message
    named = re.search(r"use (.+)$", message).group(1).split(", ")
    assert named == [n for n in REGISTRY if spec.kind in get_template(n).kinds]
    assert name not in named


def test_unknown_template_suggests_the_closest_name():
    with pytest.raises(ConfigError, match=r"did you mean 'cnn'\?") as caught:
        get_template("cnnn")
    assert "resnet9" in str(caught.value)  # the full list follows the guess
    with pytest.raises(ConfigError) as caught:
        get_template("xgboost")
    assert "did you mean" not in str(caught.value)
    assert get_template(" CNN ").name == "cnn"  # what a user types in a magic line


# --- augmentation -------------------------------------------------------------------------------

def distinct_images(n: int, channels: int, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """Every pixel of every sample holds its own value, so an output value says where it came from."""
    x = torch.arange(n * channels * height * width).reshape(n, channels, height, width)
    if dtype is torch.uint8:  # uint8 cannot be unique over a batch: unique within each sample suffices
        x = torch.arange(channels * height * width).reshape(1, channels, height, width).repeat(n, 1, 1, 1)
        assert channels * height * width <= 256
    return x.to(dtype)


def source_positions(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W, 3): for each output pixel, the (c, h, w) of the input pixel holding its value."""
    n, c, h, w = x.shape
    flat = x.reshape(n, -1)
    found = torch.empty(n, c * h * w, dtype=torch.long)
    for i in range(n):
        lookup = {v: k for k, v in enumerate(flat[i].tolist())}
        found[i] = torch.tensor([lookup[v] for v in out[i].reshape(-1).tolist()])
    return torch.stack([found // (h * w), found // w % h, found % w], dim=-1).reshape(n, c, h, w, 3)


def reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def as_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("spec, shift", [("flip", 0), ("crop3", 3), ("flip,crop2", 2)])
def test_augmentation_moves_whole_pixels_as_a_reflected_translation(dtype, channels_last, spec, shift):
    n, c, h, w = 24, 3, 7, 9
    x = as_format(distinct_images(n, c, h, w, dtype), channels_last)
    out = Augmentation(spec, (c, h, w), torch.device("cpu"))(x, torch.Generator().manual_seed(11))
    assert out.dtype == dtype and out.shape == x.shape
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last or c == 1
    where = source_positions(x, out)
    rows = torch.arange(h)[:, None].expand(h, w)
    cols = torch.arange(w)[None, :].expand(h, w)
    flips, shifts = set(), set()
    for i in range(n):
        assert torch.equal(where[i, ..., 0], torch.arange(c)[:, None, None].expand(c, h, w))  # channels stay
        source_row, source_col = where[i, 0, ..., 1], where[i, 0, ..., 2]
        assert torch.equal(where[i, ..., 1:], where[i, :1, ..., 1:].expand(c, h, w, 2))  # one map for all channels
        # rows read row r - dy (reflected), columns c - dx, or the mirror image of that
        dy = next(d for d in range(-shift, shift + 1) if torch.equal(source_row, reflect(rows - d, h)))
        matches = [(flip, dx) for flip in (False, True) for dx in range(-shift, shift + 1)
                   if torch.equal(source_col, reflect(cols - dx, w).flip(1) if flip else reflect(cols - dx, w))]
        assert matches, f"sample {i}: columns are not a reflected translation"
        flips.add(matches[0][0])
        shifts.add((dy, matches[0][1]))
    assert flips == ({False, True} if "flip" in spec else {False})
    assert len(shifts) > (3 if shift else 0)  # the shift varies from sample to sample


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("channels_last", [False, True])
def test_flip_equals_torch_flip_for_the_flipped_samples(dtype, channels_last):
    x = as_format((torch.rand(64, 3, 6, 5, generator=torch.Generator().manual_seed(0)) * 255).to(dtype),
                  channels_last)
    out = Augmentation("flip", (3, 6, 5), torch.device("cpu"))(x, torch.Generator().manual_seed(2))
    flipped = torch.tensor([torch.equal(o, s.flip(-1)) for o, s in zip(out, x)])
    kept = torch.tensor([torch.equal(o, s) for o, s in zip(out, x)])
    assert bool((flipped ^ kept).all())  # random pixels: no image equals its own mirror image
    assert 16 < int(flipped.sum()) < 48  # about half


def test_same_generator_seed_same_output_whatever_the_memory_format():
    x = torch.rand(32, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    augment = Augmentation("flip,crop", (3, 10, 10), torch.device("cpu"))
    first = augment(x, torch.Generator().manual_seed(5))
    assert torch.equal(first, augment(x, torch.Generator().manual_seed(5)))
    assert torch.equal(first, augment(as_format(x, True), torch.Generator().manual_seed(5)))
    assert not torch.equal(first, augment(x, torch.Generator().manual_seed(6)))
    assert torch.equal(x, torch.rand(32, 3, 10, 10, generator=torch.Generator().manual_seed(0)))  # input intact


@pytest.mark.parametrize("size, expected", [(8, 1), (28, 2), (32, 2), (64, 4)])
def test_crop_without_a_number_scales_with_the_image(size, expected):
    augment = Augmentation("crop", (1, size, size), torch.device("cpu"))
    assert augment.shift == expected
    x = distinct_images(64, 1, size, size, torch.float32)
    where = source_positions(x, augment(x, torch.Generator().manual_seed(0)))
    dy = where[:, 0, size // 2, size // 2, 1] - size // 2  # the centre pixel never reflects
    assert int(dy.abs().max()) == expected


def test_no_augmentation_is_falsy_and_a_bad_spec_is_a_config_error():
    assert not Augmentation("", (1, 8, 8), torch.device("cpu"))
    assert Augmentation("flip", (1, 8, 8), torch.device("cpu"))
    with pytest.raises(ConfigError, match="rotate"):
        Augmentation("rotate", (1, 8, 8), torch.device("cpu"))


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


def test_every_registered_template_has_a_file_and_defaults_that_are_options():
    from colabmagic.train.config import TrainConfig

    options = {f for f in TrainConfig.__dataclass_fields__}
    for name in REGISTRY:
        template = get_template(name)
        assert template.name == name
        assert set(template.defaults) <= options
        TrainConfig(model=name).resolved(template.defaults)  # the defaults validate
