#!/usr/bin/env python3
"""PyTorch's own time for the train-mode step nnbench measures, for side-by-side
ratios (not used by any test). Needs Debian's python3-torch and python3-torchvision.

  /usr/bin/python3 tools/pytorch_compare/train_step.py resnet18 --batch 32 --size 224 --threads 2
  /usr/bin/python3 tools/pytorch_compare/train_step.py lstm --threads 2

Prints the median forward and backward milliseconds over --nloops iterations
after --warmup, timed as nnbench times them (forward; backward from a fixed
upstream gradient; gradients zeroed outside the timed region).
"""
import argparse
import statistics
import time

import torch


def resnet_step(name, batch, size, input_grad):
    import torchvision
    model = getattr(torchvision.models, name)(num_classes=1000).train()
    x = torch.randn(batch, 3, size, size, requires_grad=input_grad)
    grad = torch.randn(batch, 1000)
    return model, (lambda: model(x)), grad


def lstm_step(seq, batch, inp, hidden, layers):
    model = torch.nn.LSTM(inp, hidden, layers)
    x = torch.randn(seq, batch, inp, requires_grad=True)
    h0 = torch.randn(layers, batch, hidden, requires_grad=True)
    c0 = torch.randn(layers, batch, hidden, requires_grad=True)
    grad = torch.randn(seq, batch, hidden)
    return model, (lambda: model(x, (h0, c0))[0]), grad


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model", choices=["resnet18", "resnet50", "lstm"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--nloops", type=int, default=5)
    p.add_argument("--input-grad", action="store_true",
                   help="ResNets: also compute the gradient of the input image, as nnbench's runners do "
                        "(a plain training step does not)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "lstm":
        model, forward, grad = lstm_step(100, 64, 512, 512, 1)
    else:
        model, forward, grad = resnet_step(a.model, a.batch, a.size, a.input_grad)
    fwd, bwd = [], []
    for it in range(a.warmup + a.nloops):
        t0 = time.perf_counter()
        out = forward()
        t1 = time.perf_counter()
        out.backward(grad)
        t2 = time.perf_counter()
        model.zero_grad(set_to_none=False)
        if it >= a.warmup:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
    what = " with input gradient" if a.input_grad and a.model != "lstm" else ""
    print(f"pytorch {torch.__version__} {a.model}{what} threads {a.threads}: "
          f"median forward {statistics.median(fwd):.1f} ms, backward {statistics.median(bwd):.1f} ms, "
          f"total {statistics.median([f + b for f, b in zip(fwd, bwd)]):.1f} ms")


if __name__ == "__main__":
    main()
