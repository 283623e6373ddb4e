r"""PyTorch CPU reference of the MixMatch WRN-28-2 train step (issue 8 §7), beside shared/torchref/bench.py.

shared/torchref has FixMatch and SimCLR steps only; this is the same harness for MixMatch, on torchref's own
WideResNet(28, 2) and FLOP counter, so benchmarks/train_step.py can put ssljax's MixMatch step beside it:

  env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 /tmp/venv-torch/bin/python \
      benchmarks/torch_mixmatch.py --batch 64 --k 2 --steps 5 [--compile] [--shared DIR]

One step, as ssljax/methods/mixmatch.py (and the paper's reference code): a no-grad forward of the K·B unlabelled
views for the label guess (average, sharpen T=0.5), MixUp (α=0.75, λ' = max(λ, 1−λ)) of the B labelled + K·B
unlabelled rows with a shuffled copy, one forward + backward of the (1+K)·B mixed rows (cross-entropy on the
labelled part, squared error on the unlabelled part, λu=75), Adam lr 0.002 with decoupled weight decay 0.02·lr on
weights, EMA 0.999. images_per_s counts every image forwarded, B·(1+2K), as ssljax's task.images_per_step.
The last line printed is one JSON object with bench.py's keys.
"""

import argparse
import copy
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

DEFAULT_SHARED = os.environ.get("SSLJAX_SHARED") or os.path.join(
  os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared"
)


def torchref(shared):
  """shared/torchref's modules: (WideResNet, count_params, forward_flops_per_image)."""
  sys.path.insert(0, os.path.join(shared, "torchref"))
  from flops import forward_flops_per_image
  from models import WideResNet, count_params

  return WideResNet, count_params, forward_flops_per_image


def build_mixmatch(WideResNet, batch, k, do_compile):
  torch.manual_seed(0)
  model = WideResNet(28, 2, 10)
  ema_model = copy.deepcopy(model)
  for p in ema_model.parameters():
    p.requires_grad_(False)
  lr, wd, t, alpha, lambda_u, ema_decay = 0.002, 0.02, 0.5, 0.75, 75.0, 0.999
  opt = torch.optim.Adam(model.parameters(), lr=lr)
  decay = [p for n, p in model.named_parameters() if not ("bias" in n or "bn" in n)]
  beta = torch.distributions.Beta(torch.tensor(alpha), torch.tensor(alpha))

  def loss_fn(x_l, y_l, u):  # u: [K*B, 3, 32, 32]
    with torch.no_grad():
      p = torch.softmax(model(u), dim=1).view(k, batch, -1).mean(0)
      q = p ** (1 / t)
      q = q / q.sum(1, keepdim=True)
    x = torch.cat([x_l, u])
    y = torch.cat([F.one_hot(y_l, 10).float(), q.repeat(k, 1)])
    lam = beta.sample((x.shape[0],))
    lam = torch.maximum(lam, 1 - lam)
    perm = torch.randperm(x.shape[0])
    mx = lam.view(-1, 1, 1, 1) * x + (1 - lam.view(-1, 1, 1, 1)) * x[perm]
    my = lam.view(-1, 1) * y + (1 - lam.view(-1, 1)) * y[perm]
    logits = model(mx)  # one forward, BatchNorm statistics over all mixed rows (as ssljax)
    l_x = -(my[:batch] * F.log_softmax(logits[:batch], 1)).sum(1).mean()
    l_u = ((torch.softmax(logits[batch:], 1) - my[batch:]) ** 2).mean()
    return l_x + lambda_u * l_u

  fwd = torch.compile(loss_fn) if do_compile else loss_fn
  m_params, e_params = list(model.parameters()), list(ema_model.parameters())
  m_bufs, e_bufs = list(model.buffers()), list(ema_model.buffers())
  g = torch.Generator().manual_seed(1)
  x_l = torch.randn(batch, 3, 32, 32, generator=g)
  y_l = torch.randint(0, 10, (batch,), generator=g)
  u = torch.randn(k * batch, 3, 32, 32, generator=g)

  def step():
    opt.zero_grad(set_to_none=True)
    loss = fwd(x_l, y_l, u)
    loss.backward()
    opt.step()
    with torch.no_grad():
      torch._foreach_mul_(decay, 1 - wd * lr)
      torch._foreach_lerp_(e_params, m_params, 1.0 - ema_decay)
      for eb, b in zip(e_bufs, m_bufs):
        eb.copy_(b)
    return loss

  return model, step, batch * (1 + 2 * k)


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--batch", type=int, default=64)
  ap.add_argument("--k", type=int, default=2)
  ap.add_argument("--warmup", type=int, default=3)
  ap.add_argument("--steps", type=int, default=5)
  ap.add_argument("--threads", type=int, default=2)
  ap.add_argument("--compile", action="store_true")
  ap.add_argument("--shared", default=DEFAULT_SHARED, help="the shared/ directory holding torchref/")
  args = ap.parse_args()
  WideResNet, count_params, forward_flops_per_image = torchref(args.shared)
  torch.set_num_threads(args.threads)
  load0 = os.getloadavg()
  model, step, n_img = build_mixmatch(WideResNet, args.batch, args.k, args.compile)
  fwd_flops = forward_flops_per_image(WideResNet(28, 2, 10))
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
  step_gflop = 3.0 * fwd_flops * n_img / 1e9
  print(
    json.dumps(
      {
        "name": f"mixmatch_wrn28-2_B{args.batch}_K{args.k}",
        "mode": "compiled" if args.compile else "eager",
        "threads": args.threads,
        "params": count_params(model),
        "fwd_gflop_per_img": fwd_flops / 1e9,
        "images_per_step": n_img,
        "train_gflop_per_step_3x": step_gflop,
        "median_step_s": med,
        "min_step_s": min(timed),
        "max_step_s": max(timed),
        "images_per_s": n_img / med,
        "achieved_gflop_s": step_gflop / med,
        "first_step_s": times[0],
        "warmup": args.warmup,
        "timed_steps": len(timed),
        "all_step_s": [round(x, 4) for x in times],
        "cpu_per_wall": [round(c, 2) for c in cpus],
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "torch": torch.__version__,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
      }
    ),
    flush=True,
  )


if __name__ == "__main__":
  main()
