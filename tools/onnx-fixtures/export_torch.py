"""Exports small attention models with PyTorch's own ONNX exporter (torch.onnx.export,
a toolchain independent of scaledot's test graph builder) and, beside each, its inputs
(.npy) and the per-head figures computed here from PyTorch's own logits (reference.json).

    python3 tools/onnx-fixtures/export_torch.py OUT_DIR     # needs python3-torch, python3-numpy
    npx tsx tools/onnx-fixtures/check.ts OUT_DIR           # inspect each model, compare

Models: GPT-2-like (causal masked_fill with finfo.min, padding mask added, scale dividing the
scores), BERT-like (padding mask, q multiplied by the scale), ViT-like (one fused qkv Linear).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class Attention(nn.Module):
    def __init__(self, width, heads, causal, fused, scale_on_q):
        super().__init__()
        self.h, self.d = heads, width // heads
        self.causal, self.fused, self.scale_on_q = causal, fused, scale_on_q
        if fused:
            self.qkv = nn.Linear(width, 3 * width)
        else:
            self.q, self.k, self.v = (nn.Linear(width, width) for _ in range(3))
        self.o = nn.Linear(width, width)
        self.captured = None

    def forward(self, x, mask):
        b, t, e = x.shape
        if self.fused:
            q, k, v = self.qkv(x).reshape(b, t, 3, self.h, self.d).permute(2, 0, 3, 1, 4)
        else:
            q, k, v = (f(x).view(b, t, self.h, self.d).transpose(1, 2) for f in (self.q, self.k, self.v))
        raw = q @ k.transpose(-1, -2)
        if self.scale_on_q:
            scores = (q * self.d ** -0.5) @ k.transpose(-1, -2)
        else:
            scores = raw / math.sqrt(self.d)
        keep = torch.ones(b, 1, t, t, dtype=torch.bool)
        if self.causal:
            tril = torch.tril(torch.ones(t, t, dtype=torch.bool))
            scores = scores.masked_fill(~tril, torch.finfo(scores.dtype).min)
            keep = keep & tril
        if mask is not None:
            scores = scores + (1.0 - mask[:, None, None, :]) * -10000.0
            keep = keep & (mask[:, None, None, :] > 0)
        self.captured = (raw.detach(), scores.detach(), keep.expand(b, self.h, t, t))
        p = scores.softmax(-1)
        return self.o((p @ v).transpose(1, 2).reshape(b, t, e))


class Model(nn.Module):
    def __init__(self, width, heads, layers, **kw):
        super().__init__()
        self.layers = nn.ModuleList(Attention(width, heads, **kw) for _ in range(layers))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = x + layer(x, mask)
        return x


def figures(raw, logits, keep):
    """Per head, from PyTorch's own logits over the kept keys (the definitions in docs/inspect.md)."""
    out = []
    b, h, t, s = logits.shape
    for head in range(h):
        kept, ent, mp, first, rows, rawmax = [], 0.0, 0.0, 0.0, 0, 0.0
        for bb in range(b):
            for i in range(t):
                m = keep[bb, head, i].numpy()
                row = logits[bb, head, i].double().numpy()[m]
                kept.extend(row.tolist())
                if m.any():
                    rawmax = max(rawmax, float(np.abs(raw[bb, head, i].double().numpy()[m]).max()))
                if len(row) < 2:
                    continue
                p = np.exp(row - row.max())
                p /= p.sum()
                ent += float(-(p * np.log(p, where=p > 0, out=np.zeros_like(p))).sum() / math.log(len(row)))
                mp += float(p.max())
                first += float(p[0]) if m[0] else 0.0
                rows += 1
        kept = np.array(kept)
        out.append({"head": head, "logitStd": float(kept.std()), "entropyRatioMean": ent / rows, "maxProbMean": mp / rows,
                    "firstKeyMass": first / rows, "scoreMaxAbs": rawmax})
    return out


CONFIGS = {
    "gpt2-like": dict(width=32, heads=4, layers=2, causal=True, fused=False, scale_on_q=False, mask=True),
    "bert-like": dict(width=24, heads=3, layers=2, causal=False, fused=False, scale_on_q=True, mask=True),
    "vit-like": dict(width=16, heads=2, layers=2, causal=False, fused=True, scale_on_q=False, mask=False),
}
for name, cfg in CONFIGS.items():
    use_mask = cfg.pop("mask")
    model = Model(**cfg).eval()
    x = torch.randn(2, 7, cfg["width"])
    mask = torch.tensor([[1.0] * 7, [1.0] * 5 + [0.0] * 2]) if use_mask else None
    with torch.no_grad():
        model(x, mask)
    reference = {"layers": [figures(*layer.captured) for layer in model.layers]}
    path = os.path.join(OUT, name)
    os.makedirs(path, exist_ok=True)
    args = (x, mask) if use_mask else (x,)
    names = ["x", "attention_mask"] if use_mask else ["x"]
    torch.onnx.export(model, args, os.path.join(path, "model.onnx"), input_names=names, output_names=["y"], opset_version=14,
                      dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names})
    np.save(os.path.join(path, "x.npy"), x.numpy())
    if use_mask:
        np.save(os.path.join(path, "attention_mask.npy"), mask.numpy())
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump(reference, f)
    print(f"{name}: wrote {path}/model.onnx")
