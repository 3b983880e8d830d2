"""``torch.distributed._composable``: composable parallelism APIs (see ``fsdp``)."""
