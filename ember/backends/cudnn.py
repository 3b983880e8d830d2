"""cuDNN flags: stored and readable; ember's kernels do not consult them."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    from ember.cuda import is_available as cuda_available

    return cuda_available()


def version():
    return None
