"""Exports a GPT-2-like causal LM of over 100 MB with torch.onnx.export, and its inputs, to
measure the peak memory of `scaledot inspect MODEL.onnx` (docs/inspect.md, "Memory").
The model is random (nothing is learnt); only its size and shapes matter here.

    python3 tools/onnx-fixtures/export_large.py OUT_DIR [LAYERS] [WIDTH] [VOCAB] [LENGTH]
    # defaults: 8 layers, width 512 (8 heads of 64), vocabulary 32000, 1024 tokens, batch 1
    /usr/bin/time -v npx tsx src/cli/main.ts inspect OUT_DIR/gpt-large.onnx \\
        --input input_ids=OUT_DIR/input_ids.npy --input attention_mask=OUT_DIR/attention_mask.npy --json OUT_DIR/heads.json

Writes OUT_DIR/gpt-large.onnx, input_ids.npy (int64 [1, LENGTH]) and attention_mask.npy
(int64, the last eighth of the tokens padded). The files are not committed (the model is large).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = sys.argv[1]
GIVEN = [int(a) for a in sys.argv[2:6]]
LAYERS, WIDTH, VOCAB, LENGTH = GIVEN + [8, 512, 32000, 1024][len(GIVEN):]
HEADS = WIDTH // 64
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.c_attn = nn.Linear(WIDTH, 3 * WIDTH)  # GPT-2's fused q|k|v projection
        self.c_proj = nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH))
        self.register_buffer("tril", torch.tril(torch.ones(LENGTH, LENGTH, dtype=torch.bool))[None, None])

    def forward(self, x, pad):
        b, t, e = x.shape
        q, k, v = self.c_attn(self.ln1(x)).split(WIDTH, dim=2)
        q, k, v = (y.view(b, t, HEADS, 64).transpose(1, 2) for y in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(64)
        scores = scores.masked_fill(~self.tril[:, :, :t, :t], torch.finfo(scores.dtype).min) + pad
        x = x + self.c_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, e))
        return x + self.mlp(self.ln2(x))


class Lm(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, WIDTH), nn.Embedding(LENGTH, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(WIDTH)
        self.lm_head = nn.Linear(WIDTH, VOCAB, bias=False)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t)[None])
        pad = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for block in self.blocks:
            x = block(x, pad)
        return self.lm_head(self.ln_f(x))


model = Lm().eval()
ids = torch.randint(0, VOCAB, (1, LENGTH), dtype=torch.int64)
mask = torch.ones(1, LENGTH, dtype=torch.int64)
mask[:, LENGTH - LENGTH // 8:] = 0
path = os.path.join(OUT, "gpt-large.onnx")
torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"], output_names=["logits"],
                  dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}, opset_version=14)
np.save(os.path.join(OUT, "input_ids.npy"), ids.numpy())
np.save(os.path.join(OUT, "attention_mask.npy"), mask.numpy())
print(f"{path}: {os.path.getsize(path) / 2**20:.1f} MiB, {LAYERS} layers x {HEADS} heads, {LENGTH} tokens")
