"""Meta-CPO: MAML whose inner step is the CPO program, differentiated exactly through its closed
form (``../shared/papers/meta_cpo.md``)."""
