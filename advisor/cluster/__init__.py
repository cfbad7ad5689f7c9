"""`advisor cluster`: the check on every node of a torch.distributed job, compared, plus the
bandwidth of the collectives between them."""
