"""Device selection and the torch settings scripts make before building a model."""

import numpy as np
import torch
import torch.nn as nn

device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
torch.set_num_threads(2)
print("RESULT device", device.type)
print("RESULT cuda_count", torch.cuda.device_count())
model = nn.Linear(4, 2).to(device)
with torch.no_grad():
    model.weight.copy_(torch.arange(8.0).reshape(2, 4) / 10)
    model.bias.fill_(0.5)
x = torch.from_numpy(np.ones((3, 4), np.float32)).to(device, non_blocking=True)
out = model(x).cpu()
print("RESULT out_sum", f"{out.sum().item():.6f}")
print("RESULT param_device", next(model.parameters()).device.type)
print("RESULT is_tensor", int(torch.is_tensor(out)))
print("RESULT float_dtype", str(out.dtype).split(".")[-1])
print("RESULT finfo_eps", torch.finfo(torch.float32).eps)
print("RESULT size", list(out.size()))
