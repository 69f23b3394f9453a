"""PyTorch side of `npm run bench -- srfl`: one epoch of the seed's sRFL written as a PyTorch user
would (teacher = deepcopy, layer1/layer2 trainable, teacher logits per batch under no_grad, roll,
KL - cosine + KL), on Fashion-MNIST with ResNet-20, forgetting class 3, batch 128."""
import copy
import json
import time

import torch
import torch.nn.functional as F

from common import ResNetCifar, setup
from data import load_fmnist

args = setup({"--images": {"type": int, "default": 60000}, "--forget-class": {"type": int, "default": 3}})
x, y = load_fmnist(args.images)
forget = y == args.forget_class
model = ResNetCifar(20, in_channels=1, num_classes=10)
teacher = copy.deepcopy(model).eval()
for name, p in model.named_parameters():
    p.requires_grad = name.startswith("layer1.") or name.startswith("layer2.")
model.eval()  # Lethe's srfl default: batch-norm running statistics frozen
opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9, weight_decay=5e-4)
ds = torch.utils.data.TensorDataset
retain_loader = torch.utils.data.DataLoader(ds(x[~forget], y[~forget]), batch_size=128, shuffle=True)
forget_loader = torch.utils.data.DataLoader(ds(x[forget], y[forget]), batch_size=128, shuffle=True)


def kl(student, target):
    return F.kl_div(F.log_softmax(student, 1), F.softmax(target, 1), reduction="batchmean")


t0 = time.perf_counter()
forget_iter = iter(forget_loader)
for xr, _ in retain_loader:
    try:
        xf, _ = next(forget_iter)
    except StopIteration:
        forget_iter = iter(forget_loader)
        xf, _ = next(forget_iter)
    with torch.no_grad():
        tf = teacher(xf)
        tr = teacher(xr)
    rolled = torch.roll(tf, [-1, 1][torch.randint(0, 2, ()).item()], 1)
    sf = model(xf)
    sr = model(xr)
    loss = kl(sf, rolled) - F.cosine_similarity(rolled, sf, dim=1).mean() + kl(sr, tr)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
print(json.dumps({"epoch": (time.perf_counter() - t0) * 1000}))
