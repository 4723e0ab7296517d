"""Reference timing: the same DCGAN-64 iteration as `npm run bench` (dcgan64-bN), in PyTorch.

Not part of cellgan (which never runs Python). It exists so the wasm figures can be
read side by side with a native library on the same machine, as issue 4 asks:

    python3 bench/pytorch_dcgan.py --batch 64 --iters 5 --threads 2

Architecture mirrors src/dcgan/models.ts at 64 px (widths 64): G = dense(100 -> 4*4*512)
+ BN + ReLU, three 4x4 stride-2 transposed convs (256, 128, 64) with BN + ReLU, a last
transposed conv to 3 channels + tanh; D = four 4x4 stride-2 convs (64..512, BN from the
second, LeakyReLU 0.2) and a dense logit. One iteration = D step on real + fake, Adam,
then G step, Adam (non-saturating loss), like src/bench/cases.ts. Prints JSON.
"""
import argparse, json, os, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--batch', type=int, default=64)
p.add_argument('--iters', type=int, default=5)
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--threads', type=int, default=os.cpu_count())
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class G(nn.Module):
    def __init__(self, nz=100, w=64):
        super().__init__()
        self.fc = nn.Linear(nz, 4 * 4 * w * 8, bias=False)
        self.bn0 = nn.BatchNorm2d(w * 8)
        chans = [w * 8, w * 4, w * 2, w]
        self.ups = nn.ModuleList(nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False) for c in chans[:-1])
        self.bns = nn.ModuleList(nn.BatchNorm2d(c // 2) for c in chans[:-1])
        self.out = nn.ConvTranspose2d(w, 3, 4, 2, 1, bias=False)
        self.w = w

    def forward(self, z):
        x = F.relu(self.bn0(self.fc(z).view(-1, self.w * 8, 4, 4)))
        for up, bn in zip(self.ups, self.bns):
            x = F.relu(bn(up(x)))
        return torch.tanh(self.out(x))


class D(nn.Module):
    def __init__(self, w=64):
        super().__init__()
        chans = [3, w, w * 2, w * 4, w * 8]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1, bias=False) for i in range(4))
        self.bns = nn.ModuleList([nn.Identity()] + [nn.BatchNorm2d(c) for c in chans[2:]])
        self.fc = nn.Linear(4 * 4 * w * 8, 1)

    def forward(self, x):
        for conv, bn in zip(self.convs, self.bns):
            x = F.leaky_relu(bn(conv(x)), 0.2)
        return self.fc(x.flatten(1))


g, d = G(), D()
og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
real = torch.rand(a.batch, 3, 64, 64) * 2 - 1


def iteration():
    z = torch.randn(a.batch, 100)
    with torch.no_grad():
        fake = g(z)
    od.zero_grad()
    ld = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
    ld.backward()
    od.step()
    og.zero_grad()
    lg = F.softplus(-d(g(torch.randn(a.batch, 100)))).mean()
    lg.backward()
    og.step()


for _ in range(a.warmup):
    iteration()
times = []
for _ in range(a.iters):
    t0 = time.perf_counter()
    iteration()
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
med = times[len(times) // 2]
print(json.dumps({
    'engine': f'pytorch {torch.__version__}', 'threads': a.threads, 'batch': a.batch,
    'median_ms': round(med, 1), 'min_ms': round(times[0], 1), 'images_per_s': round(a.batch / med * 1000, 2),
    'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), 'load1': os.getloadavg()[0],
}))
