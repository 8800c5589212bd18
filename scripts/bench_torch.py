"""PyTorch reference loop for `npm run bench` (scripts/bench.ts): the seed's MNIST MLP GAN and the
reference 28x28 DCGAN of ../shared/ANCHORS.md, trained on random "images" in [-1, 1], one step =
one D update on a real batch and G(z) (detached) + one G update (non-saturating loss, Adam 2e-4,
betas (0.5, 0.999)), both losses read back with .item() as the seed's loop does.

    python3 scripts/bench_torch.py --model mlp --steps 50 --runs 3 --warmup 10 [--threads N] [--device cpu|cuda]

Prints one JSON line: {"model", "device", "threads", "torch", "runs": [steps/s...], "median"}.
Only for benchmarking: nothing in the library or its tests needs Python.
"""
import argparse
import json
import os
import statistics
import time

import torch
from torch import nn


def mlp_gan():
    g = nn.Sequential(
        nn.Linear(64, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 784), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Linear(784, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    )
    return g, d, 100, 64, (784,)


class Reshape(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.shape[0], *self.shape)


def dcgan():
    g = nn.Sequential(
        nn.Linear(100, 7 * 7 * 128, bias=False), nn.BatchNorm1d(7 * 7 * 128), nn.ReLU(),
        Reshape(128, 7, 7),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 128, 1),
    )
    return g, d, 64, 100, (1, 28, 28)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', choices=['mlp', 'dcgan'], default='mlp')
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: all cores)')
    p.add_argument('--device', default='cpu')
    a = p.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
    torch.manual_seed(0)
    dev = torch.device(a.device)
    g, d, batch, latent, shape = mlp_gan() if a.model == 'mlp' else dcgan()
    g, d = g.to(dev), d.to(dev)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    data = torch.rand((batch * 10, *shape), device=dev) * 2 - 1
    ones = torch.ones(batch, 1, device=dev)
    zeros = torch.zeros(batch, 1, device=dev)

    def step(i):
        real = data[(i % 10) * batch:(i % 10 + 1) * batch]
        fake = g(torch.randn(batch, latent, device=dev)).detach()
        d_loss = bce(d(real), ones) + bce(d(fake), zeros)
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_loss = bce(d(g(torch.randn(batch, latent, device=dev))), ones)
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        return d_loss.item(), g_loss.item()

    for i in range(a.warmup):
        step(i)
    rates = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        for i in range(a.steps):
            step(i)
        rates.append(a.steps / (time.perf_counter() - t0))
    print(json.dumps({
        'model': a.model, 'device': a.device, 'threads': torch.get_num_threads(), 'torch': torch.__version__,
        'runs': rates, 'median': statistics.median(rates),
    }))


if __name__ == '__main__':
    main()
