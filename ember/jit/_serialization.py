"""``torch.jit.save`` and ``load`` read and write compiled TorchScript programs, which ember does
not produce or run; they say what to use instead."""


def save(m, f, _extra_files=None):
    raise NotImplementedError(
        "torch.jit.save: ember does not compile TorchScript programs. Save the weights with "
        "ember.save(model.state_dict(), path) and rebuild the model in Python to load them."
    )


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError(
        f"torch.jit.load({f!r}): ember cannot run TorchScript archives. Load a state_dict saved "
        "with torch.save(model.state_dict(), path) into the model's Python class instead "
        "(model.load_state_dict(ember.load(path)))."
    )
