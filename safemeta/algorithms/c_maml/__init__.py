"""C-MAML (Constrained Model-Agnostic Meta-Learning): first-order constrained MAML with a meta cost
critic (``../shared/papers/c_maml.md``)."""
