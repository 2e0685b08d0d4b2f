#!/usr/bin/env python3
"""Golden logits for the ResNet inference tests: torchvision's ResNet in eval() mode, float64 math, on the
weights and input an nnbench ResNet runner creates from a seed (read from its --dump), with every BatchNorm's
weight, bias and running statistics replaced by a fixed transform. Writes only the expected logits and what
they were made from (tests/data/resnet_infer/<case>/logits.npy, meta.json: a few KB); no weights are
committed, since the runners recreate them from the seed. Used by tests/resnet_infer_should_match_torchvision_eval.c.

Rerun, from the repository root after a build (needs Debian's python3-torch and python3-torchvision,
`apt-get install -y python3-torch python3-torchvision`; the tests do not need torch):

  for d in 18 50; do
    build/bin/nnbench --cnns resnet${d}_ref --cnn-batch 2 --image-size 64 --seed 5 --warmup 0 --nloops 1 \
        --threads 2 --dump /tmp/rn_dump
    /usr/bin/python3 tools/pytorch_compare/resnet_infer_golden.py /tmp/rn_dump/resnet${d}_ref --depth $d \
        --seed 5 --out tests/data/resnet_infer/resnet${d}_n2_s64
  done

The dump's parameters are the seeded initial ones (the benchmark has no optimizer step), whatever the dumped
iteration did to the running statistics, which the transform replaces anyway. The transform, with k the
channel's index over all BatchNorm channels in state_dict order (bn1 first), computed in float64 and rounded to
float32 (tests/resnet_infer_support.h applies the same through load_param):

  weight = 1 + 0.2 cos(k)   bias = 0.1 sin(2k)   running_mean = 0.1 sin(k)   running_var = 1 + 0.5 cos(k)^2

meta.json also records sums of a few dumped tensors, so the test can tell when the seeded initialisation
changed and this needs rerunning.
"""
import argparse
import json
import os

import numpy as np
import torch
import torchvision

TRANSFORM = {
    "k": "the channel's index over all BatchNorm channels in state_dict order, from 0 (bn1 first)",
    "weight": "1 + 0.2 cos(k)",
    "bias": "0.1 sin(2k)",
    "running_mean": "0.1 sin(k)",
    "running_var": "1 + 0.5 cos(k)^2",
    "rounding": "computed in float64, rounded to float32",
}
CHECKSUM_TENSORS = ["x", "conv1.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"]


def bn_transform(k):
    """The four BatchNorm tensors for global channel indices k (float64), rounded to float32."""
    return {
        "weight": (1.0 + 0.2 * np.cos(k)).astype(np.float32),
        "bias": (0.1 * np.sin(2.0 * k)).astype(np.float32),
        "running_mean": (0.1 * np.sin(k)).astype(np.float32),
        "running_var": (1.0 + 0.5 * np.cos(k) ** 2).astype(np.float32),
    }


def load(dump, name):
    return np.load(os.path.join(dump, name + ".npy"))


def state_dict_from_dump(model, dump):
    """torchvision's state_dict with the dumped weights and the transformed BatchNorm tensors."""
    state = {}
    bn_values = {}
    k0 = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            k = np.arange(k0, k0 + module.num_features, dtype=np.float64)
            for key, value in bn_transform(k).items():
                bn_values[f"{name}.{key}"] = value
            k0 += module.num_features
    for key, ref in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = ref
            continue
        value = bn_values[key] if key in bn_values else load(dump, key)
        if tuple(value.shape) != tuple(ref.shape) or value.dtype != np.float32:
            raise SystemExit(f"{key}: dump has {value.dtype} {value.shape}, torchvision wants {tuple(ref.shape)}")
        state[key] = torch.from_numpy(value.astype(np.float64))
    return state


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dump", help="DIR/<runner> written by nnbench --dump DIR")
    p.add_argument("--depth", type=int, choices=[18, 50], required=True)
    p.add_argument("--seed", type=int, required=True, help="the --seed the dump was made with (recorded)")
    p.add_argument("--out", required=True, help="the case folder to write (logits.npy, meta.json)")
    a = p.parse_args()

    model = getattr(torchvision.models, f"resnet{a.depth}")(num_classes=1000).double()
    model.load_state_dict(state_dict_from_dump(model, a.dump))
    model.eval()
    x = load(a.dump, "x")
    with torch.no_grad():
        logits = model(torch.from_numpy(x.astype(np.float64))).numpy()

    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "logits.npy"), logits.astype(np.float32))
    checksums = {}
    for name in CHECKSUM_TENSORS:
        v = load(a.dump, name).astype(np.float64)
        checksums[name] = {"sum": float(v.sum()), "sum_squares": float((v * v).sum())}
    meta = {
        "generated_by": "tools/pytorch_compare/resnet_infer_golden.py (see its header to rerun)",
        "depth": a.depth,
        "batch": int(x.shape[0]),
        "image_size": int(x.shape[2]),
        "seed": a.seed,
        "mode": "eval() in float64 on the dumped float32 x and weights; logits rounded to float32",
        "bn_transform": TRANSFORM,
        "checksums": checksums,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{a.out}: logits {logits.shape}, max |logit| {np.abs(logits).max():.4g}")


if __name__ == "__main__":
    main()
