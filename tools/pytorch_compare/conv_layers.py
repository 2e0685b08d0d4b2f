#!/usr/bin/env python3
"""PyTorch's own times for single convolution layers, beside nnbench's `convs` group (not used by any test).
Needs Debian's python3-torch (`apt-get install -y python3-torch`; run it with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch_compare/conv_layers.py SHAPES_FILE --threads 2
  /usr/bin/python3 tools/pytorch_compare/conv_layers.py --conv mb32ic64ih56oc64oh56kh3ph1n"res2a_branch2b"

SHAPES_FILE holds benchdnn convolution descriptors, one per line (text after '#' is a comment; a line may start
with --conv= or --conv; blank lines are skipped), e.g. mb32ic64ih56oc64oh56kh3ph1n"resnet_50:res2a_branch2b".
Keys g mb ic id ih iw oc od oh ow kd kh kw sd sh sw pd ph pw dd dh dw and n"name", with benchdnn's defaults
(g 1, mb 2, stride 1, padding 0, dilation 0 = dense), w taken from h (and h from d in 3-D) when missing, and
the output size deduced when missing. --mb overrides every descriptor's mb.

Per layer, median milliseconds over --nloops after --warmup, timed as nnbench times the `conv` runner:
  fwd          F.conv2d / F.conv3d with bias (without it under --no-bias)
  bwd_data     aten.convolution_backward for the input gradient only
  bwd_weights  aten.convolution_backward for the weight and bias gradients only
  bwd          both in one call (what autograd runs)
printed as CSV: name,descriptor,dtype,threads,fwd_ms,bwd_data_ms,bwd_weights_ms,bwd_ms (wall time; with
--cpu-time the process's CPU time, steadier with --threads 1 on a busy machine).
Back padding that differs from the front (benchdnn allows it) is applied by padding x beforehand (untimed).
"""
import argparse
import csv
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

KEYS = ["g", "mb", "ic", "id", "ih", "iw", "oc", "od", "oh", "ow", "kd", "kh", "kw",
        "sd", "sh", "sw", "pd", "ph", "pw", "dd", "dh", "dw"]
TOKEN = re.compile(r'(mb|ic|oc|id|ih|iw|od|oh|ow|kd|kh|kw|sd|sh|sw|pd|ph|pw|dd|dh|dw|g)(\d+)|n"([^"]*)"|_')


def parse(desc):
    """benchdnn descriptor -> dict of the 22 sizes plus name and ndims; ValueError naming the position."""
    v, name, pos = {}, None, 0
    while pos < len(desc):
        m = TOKEN.match(desc, pos)
        if not m:
            raise ValueError(f"descriptor {desc!r}: cannot read at position {pos + 1} ({desc[pos:pos + 8]!r})")
        if m.group(1):
            v[m.group(1)] = int(m.group(2))
        elif m.group(3) is not None:
            name = m.group(3)
        pos = m.end()
    for k in ("ic", "oc"):
        if k not in v:
            raise ValueError(f"descriptor {desc!r}: {k} is required")
    three = any(k in v for k in ("id", "od", "kd", "sd", "pd", "dd"))
    for p, dflt in (("i", None), ("o", None), ("k", None), ("s", 1), ("p", 0), ("d", 0)):
        if three and p + "d" in v:
            v.setdefault(p + "h", v[p + "d"])
        if p + "h" in v:
            v.setdefault(p + "w", v[p + "h"])
        elif p + "w" in v:
            v[p + "h"] = v[p + "w"]
        if dflt is not None:
            for ax in "dhw":
                v.setdefault(p + ax, dflt)
    if "ih" not in v or "kh" not in v:
        raise ValueError(f"descriptor {desc!r}: the input size (ih) and kernel size (kh) are required")
    if not three:
        v.update(id=1, od=1, kd=1, sd=1, pd=0, dd=0)
    v.setdefault("id", v.get("ih"))
    v.setdefault("kd", v.get("kh"))
    for ax in "dhw":
        ext = (v["k" + ax] - 1) * (v["d" + ax] + 1) + 1
        out = (v["i" + ax] - ext + 2 * v["p" + ax]) // v["s" + ax] + 1
        v.setdefault("o" + ax, out)
    v.setdefault("g", 1)
    v.setdefault("mb", 2)
    v["ndims"] = 5 if three else 4
    v["name"] = name or desc
    return v


def back_pad(v, ax):
    return (v["o" + ax] - 1) * v["s" + ax] + (v["k" + ax] - 1) * (v["d" + ax] + 1) + 1 - v["i" + ax] - v["p" + ax]


CLOCK = time.perf_counter


def median_ms(fn, warmup, nloops):
    times = []
    for it in range(warmup + nloops):
        t0 = CLOCK()
        fn()
        t1 = CLOCK()
        if it >= warmup:
            times.append((t1 - t0) * 1e3)
    return statistics.median(times)


def time_layer(v, dtype, warmup, nloops, bias=True):
    axes = "dhw" if v["ndims"] == 5 else "hw"
    x = torch.randn([v["mb"], v["ic"]] + [v["i" + a] for a in axes]).to(dtype)
    w = (torch.rand([v["oc"], v["ic"] // v["g"]] + [v["k" + a] for a in axes]) - 0.5).to(dtype)
    b = (torch.rand(v["oc"]) - 0.5).to(dtype) if bias else None
    stride = [v["s" + a] for a in axes]
    dilation = [v["d" + a] + 1 for a in axes]
    front = [v["p" + a] for a in axes]
    back = [back_pad(v, a) for a in axes]
    padding = front
    if front != back:  # pad x once (untimed); the convolution then pads nothing
        pads = []
        for f, r in zip(reversed(front), reversed(back)):
            pads += [f, r]
        x = F.pad(x, pads)
        padding = [0] * len(axes)
    conv = F.conv3d if v["ndims"] == 5 else F.conv2d
    with torch.no_grad():
        y = conv(x, w, b, stride, padding, dilation, v["g"])
    gy = torch.randn(y.shape).to(dtype)

    def backward(mask):
        return torch.ops.aten.convolution_backward(gy, x, w, [v["oc"]] if bias else None, stride, padding, dilation, False,
                                                   [0] * len(axes), v["g"], mask)

    with torch.no_grad():
        fwd = median_ms(lambda: conv(x, w, b, stride, padding, dilation, v["g"]), warmup, nloops)
        bwd_d = median_ms(lambda: backward([True, False, False]), warmup, nloops)
        bwd_w = median_ms(lambda: backward([False, True, bias]), warmup, nloops)
        bwd = median_ms(lambda: backward([True, True, bias]), warmup, nloops)
    return fwd, bwd_d, bwd_w, bwd


def read_descriptors(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("--conv"):
                line = line[len("--conv"):].lstrip("= ")
            if line:
                out.append(line.split()[0])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("shapes", nargs="?", help="file of benchdnn descriptors, one per line")
    p.add_argument("--conv", action="append", default=[], help="a descriptor (repeatable)")
    p.add_argument("--mb", type=int, help="batch for every descriptor (e.g. 32)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bias", action="store_true",
                   help="convolutions without bias (as nnbench's --conv-no-bias; ResNet's have none)")
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--nloops", type=int, default=5)
    p.add_argument("--cpu-time", action="store_true",
                   help="time with the process's CPU time (all threads) instead of wall time: steadier with "
                        "--threads 1 on a busy machine, as nnbench's NNB_CPUTIME=1")
    a = p.parse_args()
    global CLOCK
    if a.cpu_time:
        CLOCK = time.process_time
    descs = (read_descriptors(a.shapes) if a.shapes else []) + a.conv
    if not descs:
        p.error("give a shapes file or --conv DESC")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["name", "descriptor", "dtype", "threads", "fwd_ms", "bwd_data_ms", "bwd_weights_ms", "bwd_ms"])
    for d in descs:
        try:
            v = parse(d)
        except ValueError as e:
            sys.exit(f"conv_layers.py: {e}")
        if a.mb:
            v["mb"] = a.mb
        fwd, bwd_d, bwd_w, bwd = time_layer(v, dtype, a.warmup, a.nloops, bias=not a.no_bias)
        out.writerow([v["name"], d, a.dtype, a.threads] + [f"{t:.3f}" for t in (fwd, bwd_d, bwd_w, bwd)])
        sys.stdout.flush()


if __name__ == "__main__":
    main()
