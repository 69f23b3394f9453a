"""PyTorch side of `npm run bench -- engine`: a ResNet-20 training step and inference pass at
batch 128 on 1x28x28 inputs, and a small op's per-call cost. With --variants, the step and the
pass are measured for each (precision, memory format): the model and input in that memory format,
forward and loss under torch.autocast, fp16 with torch.cuda.amp.GradScaler."""
import json

import torch
import torch.nn.functional as F

from common import ResNetCifar, autocast, median_ms, setup, sync, variants

args = setup({"--repeats": {"type": int, "default": 10}, "--warmup": {"type": int, "default": 20}})
device = args.device
out = {}
for name, precision, memory_format in variants(args):
    torch.manual_seed(0)
    model = ResNetCifar(20, in_channels=1, num_classes=10).to(device, memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    scaler = torch.cuda.amp.GradScaler(enabled=precision == "fp16-mixed")
    x = torch.randn(128, 1, 28, 28, device=device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (128,), device=device)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sync(device)

    def infer():
        with torch.no_grad(), autocast(device, precision):
            model(x)
        sync(device)

    model.train()
    out[f"train_step:{name}"] = median_ms(train_step, args.repeats, args.warmup)
    model.eval()
    out[f"inference:{name}"] = median_ms(infer, args.repeats, args.warmup)
    if name == "fp32/contiguous":
        out["train_step"] = out[f"train_step:{name}"]
        out["inference"] = out[f"inference:{name}"]
a = torch.ones(1)
n = 100000
out["small_op"] = median_ms(lambda: [torch.add(a, a) for _ in range(n)], 3, 1) / n
print(json.dumps(out))
