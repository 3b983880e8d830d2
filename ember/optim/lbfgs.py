"""L-BFGS: quasi-Newton steps from a short history of gradient differences."""

import ember
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.optim._line_search import strong_wolfe
from ember.optim.optimizer import Optimizer, hyper


class LBFGS(Optimizer):
    """Needs ``step(closure)``; the closure recomputes the loss and the gradients.

    The whole state (direction, history) lives in ``state`` of the first parameter, under
    PyTorch's keys: flat 1-d tensors for the vectors, Python floats for the scalars.
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
        return ember.cat(
            [p.new_zeros(p.numel()) if p.grad is None else p.grad.reshape(-1) for p in self._params]
        )

    def _add(self, step, direction):
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(direction[offset : offset + n].view_as(p), alpha=step)
            offset += n

    def _set(self, tensors):
        for p, t in zip(self._params, tensors):
            p.copy_(t)

    def _direction(self, g, state, history):
        """Two-loop recursion: the quasi-Newton direction from the stored pairs."""
        y = g - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = y.dot(s).item()
        if ys > 1e-10:
            if len(state["old_dirs"]) == history:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / y.dot(y).item()
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        al = [0.0] * len(dirs)
        q = g.neg()
        for i in reversed(range(len(dirs))):
            al[i] = stps[i].dot(q).item() * ro[i]
            q.add_(dirs[i], alpha=-al[i])
        r = q.mul(state["H_diag"])
        for i in range(len(dirs)):
            be = dirs[i].dot(r).item() * ro[i]
            r.add_(stps[i], alpha=al[i] - be)
        state["al"] = al
        return r

    def step(self, closure):
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr = hyper(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search = group["line_search_fn"]

        def evaluate():
            with enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if g.abs().max().item() <= tol_grad:
            return orig_loss

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = g.neg()
                state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                d = self._direction(g, state, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = g.clone(), loss
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / g.abs().sum().item()) * lr
            else:
                t = lr
            state["d"], state["t"] = d, t
            gtd = g.dot(d).item()
            if gtd > -tol_change:
                break

            ls_evals = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                start = [p.clone() for p in self._params]

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
            if g.abs().max().item() <= tol_grad:
                break
            if d.abs().max().item() * abs(t) <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        return orig_loss
