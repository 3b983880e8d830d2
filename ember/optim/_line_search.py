"""Strong-Wolfe line search with cubic interpolation (Nocedal and Wright, algorithms 3.5-3.6).

Used by LBFGS. ``evaluate(t)`` returns the loss and the flat gradient at ``x + t * d``; the
search returns the accepted step, its loss and gradient, and the number of evaluations.
"""

import math


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through two points with their slopes, clamped to bounds."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)


class _Point:
    """A trial step with its loss, gradient and slope along the search direction."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(evaluate, d, t, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    d_norm = d.abs().max().item()
    start = _Point(0, f, g.clone(), gtd)

    def probe(step):
        f_new, g_new = evaluate(step)
        return _Point(step, f_new, g_new, g_new.dot(d).item())

    def sufficient_decrease(p):
        return p.f <= f + c1 * p.t * gtd

    def curvature(p):
        return abs(p.gtd) <= -c2 * gtd

    # Phase 1: grow the step until an interval is known to hold an acceptable point.
    prev, new = start, probe(t)
    evals, iters = 1, 0
    bracket, done = None, False
    while iters < max_ls:
        if not sufficient_decrease(new) or (iters > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if curvature(new):
            bracket, done = [new], True
            break
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        step = cubic_minimum(
            prev.t,
            prev.f,
            prev.gtd,
            new.t,
            new.f,
            new.gtd,
            bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10),
        )
        prev, new = new, probe(step)
        evals += 1
        iters += 1
    if iters == max_ls:
        bracket = [_Point(0, f, g, None), new]

    # Phase 2 (zoom): shrink the interval until a point meets both conditions.
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    insufficient = False
    while not done and iters < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        step = cubic_minimum(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        left, right = min(a.t, b.t), max(a.t, b.t)
        margin = 0.1 * (right - left)
        if min(right - step, step - left) < margin:
            # too close to an end: move away from it, unless the last try was fine
            if insufficient or step >= right or step <= left:
                step = right - margin if abs(step - right) < abs(step - left) else left + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        new = probe(step)
        evals += 1
        iters += 1
        if not sufficient_decrease(new) or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if curvature(new):
                done = True
            elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evals
