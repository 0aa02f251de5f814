"""Start-up check: does a full CT/MR series fit the model's context and image limit?"""

from __future__ import annotations

import pytest

from bot.backends.base import Capabilities
from bot.pipeline.limits import series_problem
from bot.settings import Settings

# (case id, context, image cap, words the problem must contain or None: it fits)
CASES: list[tuple[str, int, int | None, list[str] | None]] = [
    ("in-process 4B: 131k context, no cap", 131_072, None, None),
    ("vLLM with the shipped flags", 40_960, 128, None),
    ("vLLM with Google's flags: 16 images", 32_768, 16, ["16 images", "limit-mm-per-prompt"]),
    ("the old 8k context", 8192, None, ["8,192", "--max-model-len"]),
]


@pytest.mark.parametrize(("name", "context", "cap", "words"), CASES, ids=[c[0] for c in CASES])
def test_series_fit(name: str, context: int, cap: int | None, words: list[str] | None) -> None:
    capabilities = Capabilities(context_tokens=context, tokens_per_image=256, max_images=cap)
    problem = series_problem(Settings(max_slices=85, max_new_tokens=1024), capabilities)
    if words is None:
        assert problem is None
        return
    assert problem is not None and "\n" not in problem
    assert all(w in problem for w in words), problem
