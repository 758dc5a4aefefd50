"""A trained model on new raw inputs: `TrainResult.predict` and `predict_proba` run here.

The inputs take the form the training data had (arrays, a DataFrame, a CSV path, image files or a
folder, texts); `preprocess.prepare` applies the training preprocessing, then the model runs in
eval mode without gradients, in batches, on the device it lives on, in fp32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..locale import tr
from . import preprocess


@torch.no_grad()
def probabilities(result, x: Any, *, batch_size: int = 512) -> np.ndarray:
    """(N, K) float32 softmax probabilities; column k is class `result.classes[k]`."""
    model = result.model
    if model is None:
        raise DataError(tr("this result has no model to predict with"))
    inputs = preprocess.prepare(result.preprocessing, x)
    if len(inputs) == 0:
        return np.zeros((0, _num_classes(result)), dtype=np.float32)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        out = [torch.softmax(model(inputs[i:i + batch_size].to(device)).float(), dim=1).cpu()
               for i in range(0, len(inputs), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


def labels(result, x: Any, *, batch_size: int = 512) -> np.ndarray:
    """The predicted label of each input, as the data had it (`result.classes`): str, int, ..."""
    index = probabilities(result, x, batch_size=batch_size).argmax(axis=1)
    classes = result.classes or list(range(_num_classes(result)))
    values = [classes[i] for i in index.tolist()]
    if not values:
        return np.array([], dtype=np.asarray(classes).dtype if classes else np.int64)
    return np.array(values)  # str labels: a '<U' array; numbers: int or float


def _num_classes(result) -> int:
    spec = result.spec
    if spec is not None:
        return int(spec["num_classes"] if isinstance(spec, dict) else spec.num_classes)
    return len(result.classes)
