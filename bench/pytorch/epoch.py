"""PyTorch side of `npm run bench -- epoch`: one training epoch of ResNet-20 over Fashion-MNIST-
sized data (1x28x28, batch 128, shuffled, SGD with momentum), timed end to end, once per
--variants entry (memory format of model and batches; forward and loss under torch.autocast)."""
import json
import time

import torch
import torch.nn.functional as F

from common import ResNetCifar, autocast, setup, sync, variants
from data import load_fmnist

args = setup({"--images": {"type": int, "default": 60000}})
device = args.device
x, y = load_fmnist(args.images)
out = {}
for name, precision, memory_format in variants(args):
    torch.manual_seed(0)
    model = ResNetCifar(20, in_channels=1, num_classes=10).to(device, memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scaler = torch.cuda.amp.GradScaler(enabled=precision == "fp16-mixed")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)
    model.train()
    t0 = time.perf_counter()
    for xb, yb in loader:
        xb = xb.to(device).contiguous(memory_format=memory_format)
        yb = yb.to(device)
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = F.cross_entropy(model(xb), yb)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    sync(device)
    out[f"epoch:{name}"] = (time.perf_counter() - t0) * 1000
    if name == "fp32/contiguous":
        out["epoch"] = out[f"epoch:{name}"]
print(json.dumps(out))
