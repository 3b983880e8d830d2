"""Chi-squared distribution: Gamma(df / 2, 1 / 2)."""

from ember.distributions import constraints
from ember.distributions.gamma import Gamma
from ember.distributions.utils import broadcast_all

__all__ = ["Chi2"]


class Chi2(Gamma):
    """The sum of squares of ``df`` standard normals."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, df.new_full(df.shape, 0.5), validate_args=validate_args)

    @property
    def df(self):
        return self.concentration * 2

    def __repr__(self):
        df = self.df
        return f"Chi2(df: {df if df.numel() == 1 else df.size()})"
