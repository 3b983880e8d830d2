"""DeviceMesh: the ranks of the world arranged as an n-dimensional array, one process group per
slice along each mesh dimension (``torch.distributed.device_mesh``).

Building a mesh joins the default process group first (from the launcher's environment, as
PyTorch does) and then creates every slice's group on all ranks in the same order, because
``new_group`` is collective. A mesh must hold each rank of the world exactly once.
"""

import math

import numpy as np

from ember import distributed as dist

__all__ = ["DeviceMesh", "init_device_mesh"]


def _as_rank_array(mesh):
    if hasattr(mesh, "tolist"):
        mesh = mesh.tolist()
    array = np.array(mesh, dtype=np.int64)
    if array.ndim == 0:
        raise ValueError(f"DeviceMesh: mesh must have at least one dimension, got {mesh!r}")
    return array


class DeviceMesh:
    """``DeviceMesh(device_type, mesh, *, mesh_dim_names=None)``: ranks laid out as ``mesh``."""

    def __init__(self, device_type, mesh, *, mesh_dim_names=None, _init_backend=True):
        self.device_type = device_type
        ranks = _as_rank_array(mesh)
        if mesh_dim_names is not None:
            mesh_dim_names = tuple(mesh_dim_names)
            if len(mesh_dim_names) != ranks.ndim:
                raise ValueError(
                    f"DeviceMesh: mesh_dim_names {mesh_dim_names} must name each of the mesh's "
                    f"{ranks.ndim} dimensions"
                )
        self.mesh_dim_names = mesh_dim_names
        self._ranks = ranks
        self._groups = None
        if _init_backend:
            self._init_groups()

    def _init_groups(self):
        if not dist.is_initialized():
            dist.init_process_group()
        world = dist.get_world_size()
        if sorted(self._ranks.ravel().tolist()) != list(range(world)):
            raise NotImplementedError(
                f"ember's DeviceMesh must hold every rank of the world ({world} processes) "
                f"exactly once, got the mesh {self._ranks.tolist()}"
            )
        me = dist.get_rank()
        self._groups = []
        for dim in range(self._ranks.ndim):
            rows = np.moveaxis(self._ranks, dim, -1).reshape(-1, self._ranks.shape[dim])
            mine = None
            for row in rows.tolist():  # collective: every rank creates every slice's group
                group = dist.group.WORLD if len(row) == world else dist.new_group(row)
                if me in row:
                    mine = group
            self._groups.append(mine)

    @property
    def mesh(self):
        """The ranks as an int64 tensor of the mesh's shape."""
        from ember import tensor

        return tensor(self._ranks)

    @property
    def ndim(self):
        return self._ranks.ndim

    @property
    def shape(self):
        return tuple(self._ranks.shape)

    def size(self, mesh_dim=None):
        return self._ranks.size if mesh_dim is None else self._ranks.shape[mesh_dim]

    def _dim_index(self, mesh_dim):
        if isinstance(mesh_dim, str):
            if self.mesh_dim_names is None or mesh_dim not in self.mesh_dim_names:
                raise KeyError(
                    f"DeviceMesh: no mesh dimension named {mesh_dim!r} "
                    f"(names: {self.mesh_dim_names})"
                )
            return self.mesh_dim_names.index(mesh_dim)
        if mesh_dim is None:
            if self.ndim != 1:
                raise RuntimeError(
                    f"DeviceMesh: a {self.ndim}-D mesh needs mesh_dim to name one dimension"
                )
            return 0
        return mesh_dim

    def get_rank(self):
        return dist.get_rank()

    def get_coordinate(self):
        """This rank's index in the mesh, or None when the mesh does not hold it."""
        found = np.argwhere(self._ranks == dist.get_rank())
        return None if len(found) == 0 else [int(i) for i in found[0]]

    def get_local_rank(self, mesh_dim=None):
        return self.get_coordinate()[self._dim_index(mesh_dim)]

    def get_group(self, mesh_dim=None):
        if self._groups is None:
            raise RuntimeError("DeviceMesh.get_group: this mesh was built without process groups")
        return self._groups[self._dim_index(mesh_dim)]

    def get_all_groups(self):
        return [self.get_group(d) for d in range(self.ndim)]

    def __getitem__(self, names):
        """The sub-mesh over the named dimensions that contains this rank."""
        names = (names,) if isinstance(names, str) else tuple(names)
        dims = [self._dim_index(n) for n in names]
        if dims == list(range(self.ndim)):
            return self
        if len(dims) != 1:
            raise NotImplementedError(
                f"DeviceMesh[{names}]: ember slices one mesh dimension at a time"
            )
        coordinate = self.get_coordinate()
        index = tuple(slice(None) if d in dims else coordinate[d] for d in range(self.ndim))
        sub = DeviceMesh(
            self.device_type, self._ranks[index], mesh_dim_names=names, _init_backend=False
        )
        sub._groups = [self.get_group(dims[0])]
        return sub

    def __eq__(self, other):
        return (
            isinstance(other, DeviceMesh)
            and other.device_type == self.device_type
            and other.mesh_dim_names == self.mesh_dim_names
            and np.array_equal(other._ranks, self._ranks)
        )

    def __hash__(self):
        return hash((self.device_type, self.mesh_dim_names, self._ranks.tobytes(), self.shape))

    def __repr__(self):
        names = "" if self.mesh_dim_names is None else f", mesh_dim_names={self.mesh_dim_names}"
        return f"DeviceMesh('{self.device_type}', {self._ranks.tolist()}{names})"


def init_device_mesh(device_type, mesh_shape, *, mesh_dim_names=None, backend_override=None):
    """A mesh of ``mesh_shape`` over ranks 0..world_size-1 in row-major order."""
    mesh_shape = tuple(mesh_shape)
    if not dist.is_initialized():
        dist.init_process_group()
    world = dist.get_world_size()
    if math.prod(mesh_shape) != world:
        raise RuntimeError(
            f"init_device_mesh: mesh_shape {mesh_shape} holds {math.prod(mesh_shape)} ranks but "
            f"the world has {world}"
        )
    ranks = np.arange(world, dtype=np.int64).reshape(mesh_shape)
    return DeviceMesh(device_type, ranks, mesh_dim_names=mesh_dim_names)
