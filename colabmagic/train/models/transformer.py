"""`transformer`: a small Transformer encoder for text classification.

Token + learned position embeddings, pre-norm encoder layers that ignore padding (id 0), mean and
max pooling over the real tokens, a linear head. Sized to train in minutes on IMDB on one GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data.dataset import DataSpec
from .template import Template
from .text import masked_mean_max


@dataclass
class TransformerConfig:
    width: int = 128        # model dimension
    heads: int = 4
    layers: int = 2
    feedforward: int = 256  # hidden units of each layer's MLP
    dropout: float = 0.1


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size: int, max_len: int, num_classes: int,
                 cfg: TransformerConfig = TransformerConfig()):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.width, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(1, max_len, cfg.width))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.feedforward, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        # no nested tensors: they only pay off for very ragged batches, and warn with norm_first
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(2 * cfg.width, num_classes)

    def forward(self, tokens):
        x = self.embed(tokens) + self.position[:, :tokens.shape[1]]
        padding = tokens == 0
        # an empty text would mask every key and turn attention into NaN: let it attend to its padding
        padding &= ~padding.all(1, keepdim=True)
        x = self.norm(self.encoder(x, src_key_padding_mask=padding))
        return self.head(masked_mean_max(x, tokens))


def build(spec: DataSpec) -> TransformerClassifier:
    return TransformerClassifier(spec.vocab_size, spec.input_shape[0], spec.num_classes)


TEMPLATE = Template(
    name="transformer", kinds=frozenset({"text"}), build=build,
    defaults=dict(epochs=5, batch_size=64, optimizer="adamw", lr=5e-4, weight_decay=0.05),
)
