"""PyTorch side of `npm run bench -- epoch`: one training epoch of ResNet-20 over Fashion-MNIST-
sized data (1x28x28, batch 128, shuffled, SGD with momentum), timed end to end."""
import json
import time

import torch
import torch.nn.functional as F

from common import ResNetCifar, setup
from data import load_fmnist

args = setup({"--images": {"type": int, "default": 60000}})
x, y = load_fmnist(args.images)
model = ResNetCifar(20, in_channels=1, num_classes=10)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)
model.train()
t0 = time.perf_counter()
for xb, yb in loader:
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(xb), yb).backward()
    opt.step()
print(json.dumps({"epoch": (time.perf_counter() - t0) * 1000}))
