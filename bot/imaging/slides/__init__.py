"""Whole-slide TIFFs -> random tissue patches at about 10x, or an overview."""
