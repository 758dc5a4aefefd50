"""`google.colab.patches.cv2_imshow`: show an OpenCV image (BGR or BGRA) inline, where cv2.imshow
would open a window that a notebook cannot have."""

from __future__ import annotations


def cv2_imshow(a) -> None:
    """Display A, an OpenCV image: HxW (gray), HxWx3 (BGR) or HxWx4 (BGRA), any numeric type
    (clipped to 0..255 as Colab's does)."""
    import numpy as np
    from IPython.display import display
    from PIL import Image

    a = np.asarray(a).clip(0, 255).astype("uint8")
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]   # BGRA -> RGBA
    elif a.ndim == 3 and a.shape[2] == 3:
        a = a[..., ::-1]           # BGR -> RGB
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    display(Image.fromarray(np.ascontiguousarray(a)))
