"""Default timeouts of process groups, as ``torch.distributed.constants`` names them."""

import datetime

__all__ = ["default_pg_nccl_timeout", "default_pg_timeout"]

default_pg_timeout = datetime.timedelta(minutes=30)
# ember has no NCCL; the name exists for code that reads it, with the same default.
default_pg_nccl_timeout = default_pg_timeout
