"""A rank that joins the job and dies at once (as a crashed node would), started by the tests
with the environment torchrun gives its workers."""

import os
from datetime import timedelta

import torch.distributed as dist

dist.init_process_group("gloo", timeout=timedelta(seconds=20))
os._exit(1)
