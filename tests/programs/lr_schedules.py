"""Learning-rate schedules: StepLR, cosine, OneCycle, a sequential warm-up, and plateau."""

import torch

w = torch.nn.Parameter(torch.ones(3))


def run(make_sched, steps=12, metric=None):
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    sched = make_sched(opt)
    lrs = []
    for i in range(steps):
        opt.step()
        if metric is None:
            sched.step()
        else:
            sched.step(metric(i))
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


schedules = {
    "step": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "onecycle": lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=12),
    "warmup": lambda o: torch.optim.lr_scheduler.SequentialLR(
        o,
        [
            torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, total_iters=4),
            torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
        ],
        milestones=[4],
    ),
}
for name, make in schedules.items():
    for i, lr in enumerate(run(make)):
        print(f"RESULT {name}{i} {lr:.8f}")
plateau = run(
    lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5),
    metric=lambda i: 1.0,
)
for i, lr in enumerate(plateau):
    print(f"RESULT plateau{i} {lr:.8f}")
