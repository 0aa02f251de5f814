"""Continuous batching on transformers' modules: one generation thread, a static slot
cache, compiled decoding steps (see DESIGN: it must beat generate() on a GPU to stay)."""
