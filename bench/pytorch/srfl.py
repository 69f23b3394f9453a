"""PyTorch side of `npm run bench -- srfl`: one epoch of the seed's sRFL written as a PyTorch user
would (teacher = deepcopy, layer1/layer2 trainable, teacher logits per batch under no_grad, roll,
KL - cosine + KL), on Fashion-MNIST with ResNet-20, forgetting class 3, batch 128; once per
--variants entry (memory format of models and batches; forwards and loss under torch.autocast)."""
import copy
import json
import time

import torch
import torch.nn.functional as F

from common import ResNetCifar, autocast, setup, sync, variants
from data import load_fmnist

args = setup({"--images": {"type": int, "default": 60000}, "--forget-class": {"type": int, "default": 3}})
x, y = load_fmnist(args.images)
device = args.device
forget = y == args.forget_class
ds = torch.utils.data.TensorDataset


def kl(student, target):
    return F.kl_div(F.log_softmax(student, 1), F.softmax(target, 1), reduction="batchmean")


out = {}
for name, precision, memory_format in variants(args):
    torch.manual_seed(0)
    model = ResNetCifar(20, in_channels=1, num_classes=10).to(device, memory_format=memory_format)
    teacher = copy.deepcopy(model).eval()
    for pname, p in model.named_parameters():
        p.requires_grad = pname.startswith("layer1.") or pname.startswith("layer2.")
    model.eval()  # Lethe's srfl default: batch-norm running statistics frozen
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9, weight_decay=5e-4)
    scaler = torch.cuda.amp.GradScaler(enabled=precision == "fp16-mixed")
    retain_loader = torch.utils.data.DataLoader(ds(x[~forget], y[~forget]), batch_size=128, shuffle=True)
    forget_loader = torch.utils.data.DataLoader(ds(x[forget], y[forget]), batch_size=128, shuffle=True)

    def batch(xb):
        return xb.to(device).contiguous(memory_format=memory_format)

    t0 = time.perf_counter()
    forget_iter = iter(forget_loader)
    for xr, _ in retain_loader:
        try:
            xf, _ = next(forget_iter)
        except StopIteration:
            forget_iter = iter(forget_loader)
            xf, _ = next(forget_iter)
        xr, xf = batch(xr), batch(xf)
        with autocast(device, precision):
            with torch.no_grad():
                tf = teacher(xf).float()
                tr = teacher(xr).float()
            rolled = torch.roll(tf, [-1, 1][torch.randint(0, 2, ()).item()], 1)
            # float32 logits for softmax/KL/cosine, as Lethe does under mixed precision
            sf = model(xf).float()
            sr = model(xr).float()
            loss = kl(sf, rolled) - F.cosine_similarity(rolled, sf, dim=1).mean() + kl(sr, tr)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    sync(device)
    out[f"epoch:{name}"] = (time.perf_counter() - t0) * 1000
    if name == "fp32/contiguous":
        out["epoch"] = out[f"epoch:{name}"]
print(json.dumps(out))
