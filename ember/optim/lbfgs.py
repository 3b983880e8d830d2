"""L-BFGS: quasi-Newton steps from a short history of gradient differences."""

import numpy as np

from ember._tensor import wrap
from ember.autograd.grad_mode import enable_grad
from ember.optim._line_search import strong_wolfe
from ember.optim.optimizer import Optimizer, hyper


class LBFGS(Optimizer):
    """Needs ``step(closure)``; the closure recomputes the loss and the gradients.

    The whole state (direction, history) lives in ``state`` of the first parameter, under
    PyTorch's keys; its arrays are ember tensors so that ``state_dict`` can be saved.
    """

    def __init__(
        self,
        params,
        lr=1,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        history_size=100,
        line_search_fn=None,
    ):
        if hyper(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        return np.concatenate(
            [
                np.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.ravel()
                for p in self._params
            ]
        )

    def _add(self, step, direction):
        offset = 0
        for p in self._params:
            n = p._data.size
            piece = direction[offset : offset + n].reshape(p._data.shape)
            p._data += (step * piece).astype(p._data.dtype, copy=False)
            p._bump_version()
            offset += n

    def _set(self, arrays):
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            p._bump_version()

    def _direction(self, g, state, history):
        """Two-loop recursion: the quasi-Newton direction from the stored pairs."""
        y = g - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float(y @ s)
        if ys > 1e-10:
            if len(state["old_dirs"]) == history:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / float(y @ y)
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        al = [0.0] * len(dirs)
        q = -g
        for i in reversed(range(len(dirs))):
            al[i] = float(stps[i] @ q) * ro[i]
            q = q - al[i] * dirs[i]
        r = q * state["H_diag"]
        for i in range(len(dirs)):
            be = float(dirs[i] @ r) * ro[i]
            r = r + (al[i] - be) * stps[i]
        state["al"] = al
        return r

    def step(self, closure):
        group = self.param_groups[0]
        lr = hyper(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search = group["line_search_fn"]

        def evaluate():
            with enable_grad():
                return closure()

        saved = self.state[self._params[0]]
        saved.setdefault("func_evals", 0)
        saved.setdefault("n_iter", 0)
        state = _unwrap(saved)

        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            saved.update(_wrap(state))
            return orig_loss

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                d = self._direction(g, state, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = g.copy(), loss
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr
            else:
                t = lr
            state["d"], state["t"] = d, t
            gtd = float(g @ d)
            if gtd > -tol_change:
                break

            ls_evals = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                start = [p._data.copy() for p in self._params]

                def along(step, start=start, d=d):
                    self._add(step, d)
                    value = float(evaluate())
                    grad = self._flat_grad()
                    self._set(start)
                    return value, grad

                loss, g, t, ls_evals = strong_wolfe(
                    along, d, t, loss, g, gtd, max_ls=max_eval - evals
                )
                state["t"] = t
                self._add(t, d)
            else:
                self._add(t, d)
                if n_iter != max_iter:
                    loss = float(evaluate())
                    g = self._flat_grad()
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval:
                break
            if np.abs(g).max() <= tol_grad:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        saved.update(_wrap(state))
        return orig_loss


_ARRAYS = ("d", "prev_flat_grad")
_LISTS = ("old_dirs", "old_stps")


def _unwrap(saved):
    """The saved state with its tensors as NumPy arrays, for the arithmetic."""
    state = dict(saved)
    for key in _ARRAYS:
        if key in state and state[key] is not None:
            state[key] = state[key]._data
    for key in _LISTS:
        if key in state:
            state[key] = [t._data for t in state[key]]
    for key in ("ro", "al"):
        if key in state:
            state[key] = list(state[key])
    return state


def _wrap(state):
    out = dict(state)
    for key in _ARRAYS:
        if key in out:
            out[key] = wrap(out[key])
    for key in _LISTS:
        if key in out:
            out[key] = [wrap(a) for a in out[key]]
    return out
