r"""PyTorch reference train steps for `benchmarks/train_step.py`: the same models and steps, timed in the same run.

  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch numpy
  env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 /tmp/venv-torch/bin/python \
      benchmarks/torch_reference.py {fixmatch,mixmatch,simclr,byol} [--batch B] [--mu 7] [--k 2] [--compile]

glibc's mmap threshold off nearly doubles PyTorch eager on these CPUs (it does nothing for JAX). Synthetic random data,
no downloads. The last line printed is one JSON object: images_per_s counts every image forwarded (64 + 2·μ·64 for
FixMatch; B + 2·K·B for MixMatch, the guesses forward-only; 2 views × B for SimCLR and for BYOL, as ssljax's
Task.images_per_step counts them), achieved_gflop_s counts 3× the forward FLOPs of trained images and 1× of
forward-only passes (MixMatch's guesses, BYOL's target forward of both views; torch.utils.flop_counter).

Models: WRN-28-2 as FixMatch/MixMatch's CIFAR network (pre-activation units, leaky ReLU 0.1, BN momentum 0.001 in
PyTorch's convention, i.e. running ← 0.999·running + 0.001·batch, convs without bias, final BN + leaky ReLU + global
pool + linear) and the CIFAR ResNet-18 (3×3 stride-1 stem, no max-pool, basic blocks [2, 2, 2, 2], 512-d features),
as ssljax/models/wrn.py and ssljax/models/resnet.py.
"""

import argparse
import copy
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

LEAKY = 0.1


class WRNBlock(nn.Module):
  def __init__(self, cin, cout, stride, activate_before_residual=False):
    super().__init__()
    self.bn1 = nn.BatchNorm2d(cin, momentum=0.001)
    self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(cout, momentum=0.001)
    self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
    self.activate_before_residual = activate_before_residual
    self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False) if (cin != cout or stride != 1) else None

  def forward(self, x0):
    x = F.leaky_relu(self.bn1(x0), LEAKY)
    if self.activate_before_residual:
      x0 = x
    out = self.conv2(F.leaky_relu(self.bn2(self.conv1(x)), LEAKY))
    return (x0 if self.shortcut is None else self.shortcut(x0)) + out


class WideResNet(nn.Module):
  def __init__(self, depth=28, widen=2, num_classes=10):
    super().__init__()
    n = (depth - 4) // 6
    ch = [16, 16 * widen, 32 * widen, 64 * widen]
    self.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
    blocks = []
    for g, stride in enumerate([1, 2, 2]):
      for i in range(n):
        blocks.append(WRNBlock(ch[g] if i == 0 else ch[g + 1], ch[g + 1], stride if i == 0 else 1, g == 0 and i == 0))
    self.blocks = nn.Sequential(*blocks)
    self.bn = nn.BatchNorm2d(ch[3], momentum=0.001)
    self.fc = nn.Linear(ch[3], num_classes)
    for m in self.modules():
      if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
      elif isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
        nn.init.zeros_(m.bias)

  def forward(self, x):
    x = F.leaky_relu(self.bn(self.blocks(self.conv1(x))), LEAKY)
    return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class BasicBlock(nn.Module):
  def __init__(self, cin, cout, stride):
    super().__init__()
    self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(cout)
    self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(cout)
    self.shortcut = None
    if stride != 1 or cin != cout:
      self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

  def forward(self, x):
    out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
    return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class ResNet18Cifar(nn.Module):
  """Backbone only: 512-d pooled features."""

  def __init__(self):
    super().__init__()
    self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(64)
    layers, cin = [], 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
      layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
      cin = cout
    self.layers = nn.Sequential(*layers)

  def forward(self, x):
    return F.adaptive_avg_pool2d(self.layers(F.relu(self.bn1(self.conv1(x)))), 1).flatten(1)


def mlp(cin, hidden, out, last_bn):
  """Linear → BN → ReLU → Linear [→ BN]: the projector/predictor of SimCLR and BYOL (ssljax.models.heads.MLPHead)."""
  layers = [nn.Linear(cin, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
  layers += [nn.Linear(hidden, out, bias=not last_bn)] + ([nn.BatchNorm1d(out, affine=False)] if last_bn else [])
  return nn.Sequential(*layers)


class Encoder(nn.Module):
  def __init__(self, head):
    super().__init__()
    self.backbone, self.head = ResNet18Cifar(), head

  def forward(self, x):
    return self.head(self.backbone(x))


def count_params(m):
  return sum(p.numel() for p in m.parameters())


def forward_flops_per_image(model, n=2):
  """FlopCounterMode forward FLOPs per 32×32×3 image (eval mode, batch n, divided by n)."""
  model = copy.deepcopy(model).eval()
  with torch.no_grad(), FlopCounterMode(display=False) as fc:
    model(torch.randn(n, 3, 32, 32))
  return fc.get_total_flops() / n


def images(g, n):
  return torch.randn(n, 3, 32, 32, generator=g)


def ema_updater(model, decay):
  """The evaluation EMA of weights (buffers copied), as ssljax's ema_decay."""
  ema = copy.deepcopy(model)
  for p in ema.parameters():
    p.requires_grad_(False)
  m_params, e_params = list(model.parameters()), list(ema.parameters())
  m_bufs, e_bufs = list(model.buffers()), list(ema.buffers())

  def update():
    with torch.no_grad():
      torch._foreach_lerp_(e_params, m_params, 1.0 - decay)
      for eb, b in zip(e_bufs, m_bufs):
        eb.copy_(b)

  return update


def sgd_with_decay_on_weights(model, lr, wd, nesterov=True):
  decay = [p for n, p in model.named_parameters() if p.ndim > 1]
  rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
  groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
  return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=nesterov)


def build_fixmatch(args, g):
  model = WideResNet(28, 2, 10)
  opt, ema = sgd_with_decay_on_weights(model, 0.03, 5e-4), ema_updater(model, 0.999)
  b, mu = args.batch or 64, args.mu
  x_l, u_w, u_s, y = images(g, b), images(g, mu * b), images(g, mu * b), torch.randint(0, 10, (b,), generator=g)

  def loss_fn(x_l, u_w, u_s, y):
    logits = model(torch.cat([x_l, u_w, u_s]))
    logits_w, logits_s = logits[b:].chunk(2)
    max_p, pseudo = torch.softmax(logits_w.detach(), -1).max(-1)
    loss_u = (F.cross_entropy(logits_s, pseudo, reduction="none") * (max_p >= 0.95).float()).mean()
    return F.cross_entropy(logits[:b], y) + loss_u

  fwd = torch.compile(loss_fn) if args.compile else loss_fn

  def step():
    opt.zero_grad(set_to_none=True)
    loss = fwd(x_l, u_w, u_s, y)
    loss.backward()
    opt.step()
    ema()
    return loss

  flops = forward_flops_per_image(model)
  return model, step, b * (1 + 2 * mu), 3 * flops * b * (1 + 2 * mu), f"fixmatch_wrn28-2_B{b}_mu{mu}"


def build_mixmatch(args, g):
  model = WideResNet(28, 2, 10)
  b, k, lr, wd, t, lambda_u = args.batch or 64, args.k, 0.002, 0.02, 0.5, 75.0
  opt, ema = torch.optim.Adam(model.parameters(), lr=lr), ema_updater(model, 0.999)
  decay = [p for p in model.parameters() if p.ndim > 1]
  beta = torch.distributions.Beta(torch.tensor(0.75), torch.tensor(0.75))
  x_l, y_l, u = images(g, b), torch.randint(0, 10, (b,), generator=g), images(g, k * b)

  def loss_fn(x_l, y_l, u):
    with torch.no_grad():  # the label guess: forward only
      p = torch.softmax(model(u), 1).view(k, b, -1).mean(0)
      q = p ** (1 / t)
      q = q / q.sum(1, keepdim=True)
    x = torch.cat([x_l, u])
    y = torch.cat([F.one_hot(y_l, 10).float(), q.repeat(k, 1)])
    lam = beta.sample((x.shape[0],))
    lam = torch.maximum(lam, 1 - lam)
    perm = torch.randperm(x.shape[0])
    mx = lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[perm]
    my = lam.view(-1, 1) * y + (1 - lam.view(-1, 1)) * y[perm]
    logits = model(mx)  # one forward over all mixed rows, as ssljax
    l_x = -(my[:b] * F.log_softmax(logits[:b], 1)).sum(1).mean()
    return l_x + lambda_u * ((torch.softmax(logits[b:], 1) - my[b:]) ** 2).mean()

  fwd = torch.compile(loss_fn) if args.compile else loss_fn

  def step():
    opt.zero_grad(set_to_none=True)
    loss = fwd(x_l, y_l, u)
    loss.backward()
    opt.step()
    with torch.no_grad():
      torch._foreach_mul_(decay, 1 - wd * lr)
    ema()
    return loss

  flops = forward_flops_per_image(model)
  trained, guessed = b * (1 + k), b * k
  return model, step, trained + guessed, flops * (3 * trained + guessed), f"mixmatch_wrn28-2_B{b}_K{k}"


def nt_xent(z1, z2, temperature=0.5):
  n = z1.shape[0]
  z = F.normalize(torch.cat([z1, z2]), dim=1)
  sim = (z @ z.t() / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
  return F.cross_entropy(sim, torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]))


def build_simclr(args, g):
  b = args.batch or 256
  model = Encoder(mlp(512, 512, 128, last_bn=True))
  opt = sgd_with_decay_on_weights(model, 0.3 * b / 256, 1e-6, nesterov=False)
  v1, v2 = images(g, b), images(g, b)

  def loss_fn(v1, v2):
    z1, z2 = model(torch.cat([v1, v2])).chunk(2)  # one forward over both views: BN statistics over 2B
    return nt_xent(z1, z2)

  fwd = torch.compile(loss_fn) if args.compile else loss_fn

  def step():
    opt.zero_grad(set_to_none=True)
    loss = fwd(v1, v2)
    loss.backward()
    opt.step()
    return loss

  return model, step, 2 * b, 3 * forward_flops_per_image(model) * 2 * b, f"simclr_r18_B{b}x2"


def build_byol(args, g):
  """BYOL: online = backbone + projector 512→4096→256 + predictor 256→4096→256; target = momentum copy of backbone
  and projector, forward only; loss 2 − 2·cos, symmetric; target ← τ·target + (1−τ)·online after the step."""
  b, tau = args.batch or 256, 0.99
  online = Encoder(mlp(512, 4096, 256, last_bn=False))
  predictor = mlp(256, 4096, 256, last_bn=False)
  target = copy.deepcopy(online)
  for p in target.parameters():
    p.requires_grad_(False)
  params = list(online.parameters()) + list(predictor.parameters())
  opt = torch.optim.SGD(params, lr=1.0, momentum=0.9, weight_decay=1e-5)
  o_params, t_params = list(online.parameters()), list(target.parameters())
  o_bufs, t_bufs = list(online.buffers()), list(target.buffers())
  v1, v2 = images(g, b), images(g, b)

  def loss_fn(v1, v2):
    x = torch.cat([v1, v2])
    p1, p2 = predictor(online(x)).chunk(2)
    with torch.no_grad():
      z1, z2 = target(x).chunk(2)
    cos = lambda p, z: F.cosine_similarity(p, z, dim=-1).mean()
    return 4 - 2 * cos(p1, z2) - 2 * cos(p2, z1)

  fwd = torch.compile(loss_fn) if args.compile else loss_fn

  def step():
    opt.zero_grad(set_to_none=True)
    loss = fwd(v1, v2)
    loss.backward()
    opt.step()
    with torch.no_grad():
      torch._foreach_lerp_(t_params, o_params, 1.0 - tau)
      for tb, ob in zip(t_bufs, o_bufs):
        tb.lerp_(ob, 1.0 - tau) if tb.is_floating_point() else tb.copy_(ob)
    return loss

  online_flops = forward_flops_per_image(nn.Sequential(online, predictor))
  target_flops = forward_flops_per_image(target)
  return online, step, 2 * b, 2 * b * (3 * online_flops + target_flops), f"byol_r18_B{b}x2"


BUILDERS = {"fixmatch": build_fixmatch, "mixmatch": build_mixmatch, "simclr": build_simclr, "byol": build_byol}


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("task", choices=sorted(BUILDERS))
  ap.add_argument("--batch", type=int, default=None, help="labelled batch (fixmatch, mixmatch: 64) or images per view")
  ap.add_argument("--mu", type=int, default=7)
  ap.add_argument("--k", type=int, default=2)
  ap.add_argument("--warmup", type=int, default=3)
  ap.add_argument("--steps", type=int, default=5)
  ap.add_argument("--threads", type=int, default=os.cpu_count())
  ap.add_argument("--compile", action="store_true")
  args = ap.parse_args()
  torch.set_num_threads(args.threads)
  torch.manual_seed(0)
  load0 = os.getloadavg()
  model, step, n_img, step_flops, name = BUILDERS[args.task](args, torch.Generator().manual_seed(1))
  times, cpus = [], []
  for i in range(args.warmup + args.steps):
    o0, t0 = os.times(), time.perf_counter()
    loss = step()
    t1, o1 = time.perf_counter(), os.times()
    times.append(t1 - t0)
    cpus.append(((o1.user - o0.user) + (o1.system - o0.system)) / (t1 - t0))
    print(
      f"  step {i:2d} {'warm' if i < args.warmup else 'timed'} {t1 - t0:8.3f}s cpu/wall={cpus[-1]:.2f} "
      f"loss={loss.item():.4f}",
      flush=True,
    )
  timed = times[args.warmup :]
  med = statistics.median(timed)
  print(
    json.dumps(
      {
        "name": name,
        "mode": "compiled" if args.compile else "eager",
        "threads": args.threads,
        "params": count_params(model),
        "images_per_step": n_img,
        "train_gflop_per_step": step_flops / 1e9,
        "median_step_s": med,
        "min_step_s": min(timed),
        "max_step_s": max(timed),
        "images_per_s": n_img / med,
        "achieved_gflop_s": step_flops / 1e9 / med,
        "first_step_s": times[0],
        "all_step_s": [round(t, 4) for t in times],
        "cpu_per_wall": [round(c, 2) for c in cpus],
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "torch": torch.__version__,
      }
    ),
    flush=True,
  )


if __name__ == "__main__":
  main()
