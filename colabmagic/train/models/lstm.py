"""`lstm`: text classification as in the Keras IMDB tutorial: embedding -> LSTM -> linear.

Bidirectional, and the outputs are pooled (mean and max) over the real tokens, which reads a long
review better than the last hidden state alone and needs no sequence packing.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..data.dataset import DataSpec
from .template import Template
from .text import masked_mean_max


@dataclass
class LSTMConfig:
    embedding: int = 128   # embedding width
    hidden: int = 128      # LSTM units per direction
    layers: int = 1
    dropout: float = 0.3   # on the pooled features


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size: int, num_classes: int, cfg: LSTMConfig = LSTMConfig()):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.embedding, padding_idx=0)
        self.lstm = nn.LSTM(cfg.embedding, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                            bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(4 * cfg.hidden, num_classes))

    def forward(self, tokens):
        features, _ = self.lstm(self.embed(tokens))
        return self.head(masked_mean_max(features, tokens))


def build(spec: DataSpec) -> LSTMClassifier:
    return LSTMClassifier(spec.vocab_size, spec.num_classes)


TEMPLATE = Template(
    name="lstm", kinds=frozenset({"text"}), build=build,
    defaults=dict(epochs=5, batch_size=64, optimizer="adamw", lr=2e-3, weight_decay=0.01),
)
