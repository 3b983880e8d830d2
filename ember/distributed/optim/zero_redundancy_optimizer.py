"""ZeroRedundancyOptimizer: each rank keeps optimizer state for its share of the parameters.

The parameters of each group are dealt out to the ranks, largest first, each to the rank
holding the fewest elements so far. A rank steps a local optimizer over its own share only
(so Adam's moments exist once across the group, not on every rank), then every parameter is
broadcast from the rank that owns it. Hyperparameters set on ``param_groups`` (by a learning
rate scheduler, say) are copied to the local optimizer before each step.
"""

from ember import distributed as dist
from ember.autograd.grad_mode import no_grad
from ember.optim.optimizer import Optimizer

__all__ = ["ZeroRedundancyOptimizer"]


class ZeroRedundancyOptimizer(Optimizer):
    def __init__(
        self,
        params,
        optimizer_class,
        process_group=None,
        parameters_as_bucket_view=False,
        overlap_with_ddp=False,
        **defaults,
    ):
        if overlap_with_ddp:
            raise NotImplementedError(
                "ZeroRedundancyOptimizer: overlap_with_ddp=True is not supported by ember"
            )
        super().__init__(params, defaults)
        self.process_group = process_group
        self.world_size = dist.get_world_size(process_group)
        self.rank = dist.get_rank(process_group)
        self.global_rank = dist.get_rank()
        self._global_ranks = dist.get_process_group_ranks(process_group or dist.group.WORLD)
        self._optim_class = optimizer_class
        self._owner = {}
        self._partition()
        self.optim = optimizer_class(self._local_groups(), **defaults)
        self._sync_hyperparameters()

    def _partition(self):
        sizes = [0] * self.world_size
        for group in self.param_groups:
            for p in sorted(group["params"], key=lambda t: t.numel(), reverse=True):
                if id(p) in self._owner:
                    continue
                rank = min(range(self.world_size), key=sizes.__getitem__)
                self._owner[id(p)] = rank
                sizes[rank] += p.numel()

    def _local_groups(self):
        groups = []
        for group in self.param_groups:
            mine = [p for p in group["params"] if self._owner[id(p)] == self.rank]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": mine})
        return groups

    def _sync_hyperparameters(self):
        for full, local in zip(self.param_groups, self.optim.param_groups):
            for key, value in full.items():
                if key != "params":
                    local[key] = value

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if hasattr(self, "optim"):  # after construction: the new group's params are dealt too
            self._partition()
            self.optim.add_param_group(self._local_groups()[-1])

    def step(self, closure=None):
        """Step this rank's share, then give every rank every updated parameter."""
        self._sync_hyperparameters()
        loss = self.optim.step(closure) if closure is not None else self.optim.step()
        self._sync_hyperparameters_back()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    owner = self._global_ranks[self._owner[id(p)]]
                    dist.broadcast(p.detach(), src=owner, group=self.process_group)
        return loss

    def _sync_hyperparameters_back(self):
        for full, local in zip(self.param_groups, self.optim.param_groups):
            for key, value in local.items():
                if key != "params":
                    full[key] = value

    def consolidate_state_dict(self, to=0):
        """Gather every rank's optimizer state onto rank ``to`` (for ``state_dict()``)."""
        gathered = [None] * self.world_size if self.global_rank == to else None
        dist.gather_object(self.optim.state_dict(), gathered, dst=to, group=self.process_group)
        self._all_state_dicts = gathered

    def state_dict(self):
        """The whole optimizer's state in the wrapped optimizer's format (after consolidation)."""
        gathered = getattr(self, "_all_state_dicts", None)
        if gathered is None:
            raise RuntimeError(
                "Optimizer state has not been consolidated on this rank. Please call "
                "`consolidate_state_dict(to)` on all ranks beforehand and call "
                "`state_dict()` on the destination rank"
            )
        index_of = {}
        for group in self.param_groups:
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
        state, groups = {}, []
        for g, group in enumerate(self.param_groups):
            ids = [index_of[id(p)] for p in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
            for rank in range(self.world_size):
                local = [p for p in group["params"] if self._owner[id(p)] == rank]
                local_ids = gathered[rank]["param_groups"][g]["params"]
                for p, local_id in zip(local, local_ids):
                    if local_id in gathered[rank]["state"]:
                        state[index_of[id(p)]] = gathered[rank]["state"][local_id]
        return {"state": state, "param_groups": groups}
