"""`medgemma-bot bench`: the in-process backend's speed, beside `generate()`."""
