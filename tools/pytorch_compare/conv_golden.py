#!/usr/bin/env python3
"""Golden data for the convolution reference (kernels/conv_ref, runner conv_ref): PyTorch's F.conv2d / F.conv3d in
float64 on float32-representable inputs, with the gradients from autograd for a given upstream gradient grad_y
(loss = sum(y * grad_y)). One folder per case under tests/data/conv_golden/, read by
tests/conv_ref_should_match_pytorch_golden.c (the tests do not need torch).

Rerun, from the repository root (needs Debian's python3-torch, `apt-get install -y python3-torch`):

  /usr/bin/python3 tools/pytorch_compare/conv_golden.py --out tests/data/conv_golden

Each case folder holds
  x (mb, ic, [id,] ih, iw), w (oc, ic/g, [kd,] kh, kw), b (oc), grad_y (mb, oc, [od,] oh, ow):
      float32 .npy, drawn from numpy's PCG64 with the case's seed (x, grad_y standard normal; w, b uniform in
      +-1/sqrt(fan_in), PyTorch's Conv default bound); no b for a case without bias;
  y, dx, dw, db: float64 .npy, the float64 results (not rounded to float32, so a test sees its own rounding);
  meta.json: the problem in benchdnn's terms (dilation 0 = dense; PyTorch's dilation is d + 1), its descriptor,
      the seed and the torch version.
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

# name: benchdnn descriptor fields (missing ones: benchdnn's defaults: g1, 2-D, kw = kh, sw = sh, pw = ph, dw = dh,
# d = 0 dense, s = 1, p = 0); output sizes are deduced here as PyTorch does (symmetric padding, floor).
CASES = {
    "odd_nonsquare": dict(mb=2, ic=3, ih=7, iw=9, oc=4, kh=3, kw=5, ph=1, pw=2),
    "groups2": dict(g=2, mb=2, ic=4, ih=6, iw=5, oc=6, kh=3, kw=3, ph=1, pw=1),
    "depthwise_s2": dict(g=4, mb=2, ic=4, ih=9, iw=8, oc=4, kh=3, kw=3, sh=2, sw=2, ph=1, pw=1),
    "depthwise_mult2": dict(g=3, mb=1, ic=3, ih=8, iw=8, oc=6, kh=5, kw=5, ph=2, pw=2),
    "stride2_pad1": dict(mb=2, ic=3, ih=11, iw=10, oc=5, kh=3, kw=3, sh=2, sw=2, ph=1, pw=1),
    "stride3_pad2": dict(mb=1, ic=2, ih=8, iw=9, oc=3, kh=3, kw=3, sh=3, sw=3, ph=2, pw=2),
    "dilated": dict(mb=2, ic=2, ih=9, iw=11, oc=3, kh=3, kw=3, dh=1, dw=2, ph=2, pw=3),
    "mixed_g2_s2_d1": dict(g=2, mb=1, ic=4, ih=10, iw=7, oc=4, kh=3, kw=2, sh=2, sw=1, ph=1, pw=0, dh=1, dw=0),
    "pointwise": dict(mb=2, ic=8, ih=5, iw=6, oc=4, kh=1, kw=1),
    "pointwise_s2_nobias": dict(mb=2, ic=6, ih=7, iw=7, oc=5, kh=1, kw=1, sh=2, sw=2, bias=0),
    "conv3d_s2": dict(mb=1, ic=2, id=5, ih=6, iw=4, oc=3, kd=3, kh=3, kw=3, sd=2, pd=1, ph=1, pw=1),
    "conv3d_g2_dilated": dict(g=2, mb=1, ic=4, id=4, ih=5, iw=5, oc=2, kd=2, kh=3, kw=3, dd=1, ph=1, pw=1),
}


def problem(fields):
    """Every benchdnn field of a case, defaults filled in and output sizes deduced."""
    p = dict(g=1, bias=1, id=1, kd=1, sd=1, pd=0, dd=0, sh=1, sw=1, ph=0, pw=0, dh=0, dw=0)
    p.update(fields)
    p["ndims"] = 5 if "kd" in fields or "id" in fields else 4
    for a in "dhw":
        ext = (p["k" + a] - 1) * (p["d" + a] + 1) + 1
        p["o" + a] = (p["i" + a] + 2 * p["p" + a] - ext) // p["s" + a] + 1
    return p


def descriptor(name, p):
    """The benchdnn-style descriptor of a problem, every field spelt out."""
    keys = ["g", "mb", "ic"] + (["id"] if p["ndims"] == 5 else []) + ["ih", "iw", "oc"]
    keys += (["od"] if p["ndims"] == 5 else []) + ["oh", "ow"]
    for k in "kspd":
        keys += ([k + "d"] if p["ndims"] == 5 else []) + [k + "h", k + "w"]
    return "".join("%s%d" % (k, p[k]) for k in keys) + 'n"%s"' % name


def make_case(name, fields, seed, out):
    p = problem(fields)
    rng = np.random.default_rng(seed)
    spatial = lambda pre: [p[pre + a] for a in ("dhw" if p["ndims"] == 5 else "hw")]
    fan_in = p["ic"] // p["g"] * p["kd"] * p["kh"] * p["kw"]
    bound = 1.0 / np.sqrt(fan_in)
    arrays = {
        "x": rng.standard_normal([p["mb"], p["ic"]] + spatial("i")).astype(np.float32),
        "w": rng.uniform(-bound, bound, [p["oc"], p["ic"] // p["g"]] + spatial("k")).astype(np.float32),
        "b": rng.uniform(-bound, bound, [p["oc"]]).astype(np.float32),
        "grad_y": rng.standard_normal([p["mb"], p["oc"]] + spatial("o")).astype(np.float32),
    }
    if not p["bias"]:
        del arrays["b"]
    t = {k: torch.from_numpy(v.astype(np.float64)).requires_grad_(k != "grad_y") for k, v in arrays.items()}
    conv = F.conv3d if p["ndims"] == 5 else F.conv2d
    dims = "dhw" if p["ndims"] == 5 else "hw"
    y = conv(t["x"], t["w"], t.get("b"), stride=[p["s" + a] for a in dims], padding=[p["p" + a] for a in dims],
             dilation=[p["d" + a] + 1 for a in dims], groups=p["g"])
    assert list(y.shape) == list(arrays["grad_y"].shape), (name, y.shape)
    (y * t["grad_y"]).sum().backward()
    results = {"y": y, "dx": t["x"].grad, "dw": t["w"].grad}
    if p["bias"]:
        results["db"] = t["b"].grad
    os.makedirs(out, exist_ok=True)
    for k, v in arrays.items():
        np.save(os.path.join(out, k + ".npy"), v)
    for k, v in results.items():
        np.save(os.path.join(out, k + ".npy"), v.detach().numpy().astype(np.float64))
    meta = dict(p, name=name, desc=descriptor(name, p), seed=seed, torch=torch.__version__,
                pytorch_dilation="benchdnn d + 1", generator="tools/pytorch_compare/conv_golden.py")
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the folder of case folders (tests/data/conv_golden)")
    ap.add_argument("--seed", type=int, default=21, help="base seed; case k uses seed + k")
    a = ap.parse_args()
    for k, (name, fields) in enumerate(CASES.items()):
        make_case(name, fields, a.seed + k, os.path.join(a.out, name))
        print(name, descriptor(name, problem(fields)))


if __name__ == "__main__":
    main()
