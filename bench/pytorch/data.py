"""Fashion-MNIST for the PyTorch side of the benchmarks, normalised as Lethe's loader does
(synthetic data of the same shape when Debian's dataset-fashion-mnist is not installed)."""
import gzip
import os

import numpy as np
import torch

DIR = "/usr/share/datasets/fashion-mnist"


def _read(name, offset):
    with gzip.open(os.path.join(DIR, name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_fmnist(n):
    if os.path.exists(os.path.join(DIR, "train-images-idx3-ubyte.gz")):
        images = _read("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)[:n]
        labels = _read("train-labels-idx1-ubyte.gz", 8)[:n]
        x = (torch.from_numpy(images.copy()).float() / 255 - 0.2860) / 0.3530
        return x, torch.from_numpy(labels.astype(np.int64))
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
