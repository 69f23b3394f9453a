"""PyTorch's side of the engine benchmark's step, for opprof (see lethe-step.ts):
    OPPROF_OUT=/tmp/torch.tsv LD_PRELOAD=/tmp/opprof.so \
      /usr/bin/python3 scripts/opprof/pytorch-step.py bf16-mixed channelsLast [steps]"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench", "pytorch"))
from common import ResNetCifar, autocast  # noqa: E402

precision = sys.argv[1] if len(sys.argv) > 1 else "fp32"
fmt = sys.argv[2] if len(sys.argv) > 2 else "contiguous"
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 6
torch.set_num_threads(2)
memory_format = torch.channels_last if fmt == "channelsLast" else torch.contiguous_format
torch.manual_seed(0)
model = ResNetCifar(20, in_channels=1, num_classes=10).to("cpu", memory_format=memory_format)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.randn(128, 1, 28, 28).contiguous(memory_format=memory_format)
y = torch.randint(0, 10, (128,))
model.train()
for _ in range(steps):
    opt.zero_grad(set_to_none=True)
    with autocast("cpu", precision):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
model.eval()
for _ in range(3):
    with torch.no_grad(), autocast("cpu", precision):
        model(x)
