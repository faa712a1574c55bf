"""Framework adapters; each imports its framework lazily and is installed as an extra."""
