"""Mixed use of NumPy and tensors: from_numpy shares memory, numpy() round trips."""

import numpy as np
import torch

a = np.arange(12, dtype=np.float32).reshape(3, 4)
t = torch.from_numpy(a)
a[0, 0] = 100.0
print("RESULT shared", t[0, 0].item())
t.mul_(2)
print("RESULT back_in_numpy", a[1, 1])
u = torch.tensor(a)
a[2, 2] = -1
print("RESULT copied", u[2, 2].item())
v = (t @ t.T).numpy()
print("RESULT gram_trace", float(np.trace(v)))
w = torch.as_tensor(np.linspace(0, 1, 5))
print("RESULT as_tensor_dtype_is_f64", int(w.dtype == torch.float64))
x = torch.randn(3, 3).numpy().dtype
print("RESULT randn_dtype_is_f32", int(x == np.float32))
s = np.sum(np.asarray(torch.ones(4) * 3))
print("RESULT np_sum", float(s))
print("RESULT tolist", sum(torch.arange(5).tolist()))
