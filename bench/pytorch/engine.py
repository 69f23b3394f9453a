"""PyTorch side of `npm run bench -- engine`: a ResNet-20 training step and inference pass at
batch 128 on 1x28x28 inputs, and a small op's per-call cost."""
import json

import torch
import torch.nn.functional as F

from common import ResNetCifar, median_ms, setup

args = setup({"--repeats": {"type": int, "default": 10}})
model = ResNetCifar(20, in_channels=1, num_classes=10)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.randn(128, 1, 28, 28)
y = torch.randint(0, 10, (128,))


def train_step():
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    opt.step()


def infer():
    with torch.no_grad():
        model(x)


model.train()
train_ms = median_ms(train_step, args.repeats)
model.eval()
infer_ms = median_ms(infer, args.repeats)
a = torch.ones(1)
n = 100000
small = median_ms(lambda: [torch.add(a, a) for _ in range(n)], 3, 1) / n
print(json.dumps({"train_step": train_ms, "inference": infer_ms, "small_op": small}))
