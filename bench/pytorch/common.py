"""PyTorch sides of Lethe's benchmarks share these: thread setup, timing, the CIFAR ResNet."""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "fixtures"))
from models import ResNetCifar  # noqa: E402,F401  (Lethe's resnet20 layout)


def setup(extra=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    # Comma-separated "precision/memoryFormat" names, Lethe's spelling (bf16-mixed/channelsLast).
    parser.add_argument("--variants", default="fp32/contiguous")
    for name, kwargs in (extra or {}).items():
        parser.add_argument(name, **kwargs)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def median_ms(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def variants(args):
    """The --variants list as (name, precision, memory format) triples."""
    out = []
    for name in args.variants.split(","):
        precision, fmt = name.split("/")
        memory_format = torch.channels_last if fmt == "channelsLast" else torch.contiguous_format
        out.append((name, precision, memory_format))
    return out


def autocast(device, precision):
    """torch.autocast for a Lethe precision name (disabled for fp32)."""
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    dtype = torch.float16 if precision == "fp16-mixed" else torch.bfloat16
    return torch.autocast(device_type, dtype=dtype, enabled=precision != "fp32")


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
