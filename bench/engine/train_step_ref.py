#!/usr/bin/env python3
"""PyTorch side of bench/engine/train-step.ts: the same plain U-Net training step, timed per step.
Network (as bench/engine/plain-unet.ts): stages of (conv 3x3[x3], InstanceNorm(affine), LeakyReLU 0.01) x 2, strided conv
down, transposed conv up, skip concatenation, 1x1 head on the top output; cross-entropy; SGD(lr 1e-2, momentum 0.99,
Nesterov, weight decay 3e-5).
usage: train_step_ref.py --dims 3 --size 64 --batch 2 --steps 5 --threads 2
prints one JSON line: {"torch": version, "threads": n, "step_ms": [...]} (the warm-up step is not included)."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURES = [16, 32, 64, 128]
IN_CHANNELS, NUM_CLASSES = 1, 3


def block(conv, norm, i, o, stride):
    return nn.Sequential(conv(i, o, 3, stride, 1), norm(o, eps=1e-5, affine=True), nn.LeakyReLU(0.01),
                         conv(o, o, 3, 1, 1), norm(o, eps=1e-5, affine=True), nn.LeakyReLU(0.01))


class PlainUNet(nn.Module):
    def __init__(self, dims):
        super().__init__()
        conv, tconv, norm = (nn.Conv3d, nn.ConvTranspose3d, nn.InstanceNorm3d) if dims == 3 else (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d)
        f = FEATURES
        self.encoder = nn.ModuleList(block(conv, norm, IN_CHANNELS if i == 0 else f[i - 1], o, 1 if i == 0 else 2) for i, o in enumerate(f))
        stages = list(range(len(f) - 2, -1, -1))
        self.up = nn.ModuleList(tconv(f[s + 1], f[s], 2, 2) for s in stages)
        self.decoder = nn.ModuleList(block(conv, norm, 2 * f[s], f[s], 1) for s in stages)
        self.head = conv(f[0], NUM_CLASSES, 1)
        for m in self.modules():
            if isinstance(m, (conv, tconv)):
                nn.init.kaiming_normal_(m.weight, a=1e-2)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.decoder):
            x = dec(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--dims', type=int, choices=(2, 3), required=True)
    p.add_argument('--size', type=int, required=True)
    p.add_argument('--batch', type=int, required=True)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = PlainUNet(a.dims)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    shape = [a.size] * a.dims
    x = torch.randn(a.batch, IN_CHANNELS, *shape)
    y = torch.randint(0, NUM_CLASSES, (a.batch, *shape))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up: allocator and kernel caches
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'step_ms': times}))


if __name__ == '__main__':
    main()
