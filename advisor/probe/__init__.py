"""The only layer that touches the machine. One module per outside boundary."""
