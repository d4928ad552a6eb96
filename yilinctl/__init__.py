"""yilinctl: the operators' application — the `yilin` command, the laptop supervisor and the
event-contract generator. It may import services; the kit (`yilin`) never does."""
