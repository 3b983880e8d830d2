"""SyncBatchNorm on every rank's share of a batch against PyTorch's BatchNorm2d on the whole.

Outputs, input gradients, running statistics and the summed weight and bias gradients must
match. Run under mpiexec."""

import numpy as np
import torch as real_torch

import ember as torch
import ember.distributed as dist

dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
per = 3
x_all = rng.standard_normal((n * per, 4, 5, 5)).astype(np.float32) * 2 + 1
dy_all = rng.standard_normal((n * per, 4, 5, 5)).astype(np.float32)
w = rng.standard_normal(4).astype(np.float32)
b = rng.standard_normal(4).astype(np.float32)

ref = real_torch.nn.BatchNorm2d(4)
with real_torch.no_grad():
    ref.weight.copy_(real_torch.tensor(w))
    ref.bias.copy_(real_torch.tensor(b))
xr = real_torch.tensor(x_all, requires_grad=True)
ref(xr).backward(real_torch.tensor(dy_all))

model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(torch.nn.BatchNorm2d(4)))
bn = model[0]
assert type(bn).__name__ == "SyncBatchNorm"
with torch.no_grad():
    bn.weight.copy_(torch.tensor(w))
    bn.bias.copy_(torch.tensor(b))
mine = slice(rank * per, (rank + 1) * per)
x = torch.tensor(x_all[mine], requires_grad=True)
out = model(x)
out.backward(torch.tensor(dy_all[mine]))
expected = ref(real_torch.tensor(x_all)).detach().numpy()  # a second call: same batch stats
np.testing.assert_allclose(out.detach().numpy(), expected[mine], rtol=1e-4, atol=1e-4)
np.testing.assert_allclose(x.grad.numpy(), xr.grad.numpy()[mine], rtol=1e-4, atol=1e-4)
for got, want in [(bn.weight.grad, ref.weight.grad), (bn.bias.grad, ref.bias.grad)]:
    total = got.clone()
    dist.all_reduce(total)
    np.testing.assert_allclose(total.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)
ref_once = real_torch.nn.BatchNorm2d(4)
ref_once(real_torch.tensor(x_all))
np.testing.assert_allclose(bn.running_mean.numpy(), ref_once.running_mean.numpy(), rtol=1e-5)
np.testing.assert_allclose(bn.running_var.numpy(), ref_once.running_var.numpy(), rtol=1e-5)
assert bn.num_batches_tracked.item() == 1
print(f"rank {rank}: SyncBatchNorm matches BatchNorm2d on the whole batch", flush=True)
dist.destroy_process_group()
