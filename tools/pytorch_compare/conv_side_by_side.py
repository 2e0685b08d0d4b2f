#!/usr/bin/env python3
"""nnbench's `conv` runner and PyTorch side by side, layer by layer, interleaved (not used by any test).
Needs Debian's python3-torch (run with /usr/bin/python3) and a built nnbench.

  /usr/bin/python3 tools/pytorch_compare/conv_side_by_side.py tools/sweep/shapes/resnet50_convs.shapes \\
      --mb 32 --threads 2 --no-bias --rounds 3 > results/resnet50-convs-vs-pytorch.csv

SHAPES is an nnbench convs shape set (lines `model=M count=C name=N conv=DESC`, docs/convs.md) or a file of
benchdnn descriptors one per line. For every layer, --rounds times in turn: one nnbench run of the layer
(`nnbench --convs conv --conv mbMB<DESC>`, --warmup/--nloops, its medians from --json-out), then PyTorch's
F.conv2d / aten.convolution_backward on the same layer (conv_layers.py, same warmup and loops, same threads), so
both see the same machine state. Per layer and phase it prints the median over rounds of each side's median
(ms) and their ratio nnbench/PyTorch (below 1: nnbench faster), then the count-weighted sums per model: the
model's convolution time at that batch, fwd + bwd_data + bwd_weights.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conv_layers  # noqa: E402  (the PyTorch timing and the descriptor parser)

PHASES = ("forward", "bwd_data", "bwd_weights")


def read_layers(path):
    layers = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = dict(t.split("=", 1) for t in line.split() if "=" in t)
            desc = fields.get("conv", line.split()[0])
            layers.append({"model": fields.get("model", "-"), "count": int(fields.get("count", 1)),
                           "name": fields.get("name", desc), "desc": desc})
    return layers


def nnbench_ms(a, desc):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [a.nnbench, "--convs", "conv", "--conv", f"mb{a.mb}{desc}", "--threads", str(a.threads),
               "--warmup", str(a.warmup), "--nloops", str(a.nloops), "--dtype", a.dtype, "--progress", "never",
               "--json-out", out] + (["--conv-no-bias"] if a.no_bias else [])
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = json.load(open(out))["groups"]["convs"][0]
        return [r[p]["median_ms"] for p in PHASES]


def pytorch_ms(a, desc):
    v = conv_layers.parse(f"mb{a.mb}{desc}")
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    fwd, bwd_d, bwd_w, _ = conv_layers.time_layer(v, dtype, a.warmup, a.nloops, bias=not a.no_bias)
    return [fwd, bwd_d, bwd_w]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("shapes")
    p.add_argument("--mb", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--nloops", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-bias", action="store_true")
    p.add_argument("--nnbench", default="build/bin/nnbench")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["model", "name", "count", "descriptor"] +
                 [f"{side}_{ph}_ms" for ph in PHASES for side in ("nnbench", "pytorch")] +
                 [f"ratio_{ph}" for ph in PHASES])
    totals = {}
    for layer in read_layers(a.shapes):
        ours, theirs = [], []
        for _ in range(a.rounds):
            ours.append(nnbench_ms(a, layer["desc"]))
            theirs.append(pytorch_ms(a, layer["desc"]))
        o = [statistics.median(r[i] for r in ours) for i in range(3)]
        t = [statistics.median(r[i] for r in theirs) for i in range(3)]
        cells = [f"{x:.3f}" for pair in zip(o, t) for x in pair] + [f"{o[i] / t[i]:.3f}" for i in range(3)]
        out.writerow([layer["model"], layer["name"], layer["count"], f"mb{a.mb}{layer['desc']}"] + cells)
        sys.stdout.flush()
        m = totals.setdefault(layer["model"], [[0.0] * 3, [0.0] * 3])
        for i in range(3):
            m[0][i] += layer["count"] * o[i]
            m[1][i] += layer["count"] * t[i]
    for model, (o, t) in totals.items():
        cells = [f"{x:.3f}" for pair in zip(o, t) for x in pair] + [f"{o[i] / t[i]:.3f}" for i in range(3)]
        out.writerow([model, "total (count-weighted)", "", ""] + cells)


if __name__ == "__main__":
    main()
