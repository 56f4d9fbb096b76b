"""Few-shot shape classifier node of the grasp stack (Yokota et al.)."""
