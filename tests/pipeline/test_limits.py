"""bot.pipeline.limits: the file-size cap, and whether a full CT/MR series fits the model."""

from __future__ import annotations

import pytest

from bot.backends.base import Capabilities
from bot.errors import FileTooLarge
from bot.pipeline.limits import SizeCap, series_problem
from bot.settings import Settings

# (case id, context, image cap, MEDGEMMA_SERVER_MAX_IMAGES, words the problem must
# contain or None: it fits)
CASES: list[tuple[str, int, int | None, int, list[str] | None]] = [
    ("in-process 4B: 131k context, no cap", 131_072, None, 128, None),
    ("vLLM with the shipped flags", 40_960, 128, 128, None),
    (
        "vLLM with Google's flags: 16 images, learnt at start-up",
        32_768,
        16,
        128,
        ["16 images", "--limit-mm-per-prompt", "thinned to 16"],
    ),
    (
        "the bot's own setting caps the series",
        32_768,
        32,
        32,
        ["MEDGEMMA_SERVER_MAX_IMAGES is 32", "--limit-mm-per-prompt", "thinned to 32"],
    ),
    ("the old 8k context", 8192, None, 128, ["8,192", "--max-model-len"]),
]


@pytest.mark.parametrize(
    ("name", "context", "cap", "setting", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_series_fit(
    name: str, context: int, cap: int | None, setting: int, words: list[str] | None
) -> None:
    capabilities = Capabilities(context_tokens=context, tokens_per_image=256, max_images=cap)
    settings = Settings(max_slices=85, max_new_tokens=1024, server_max_images=setting)
    problem = series_problem(settings, capabilities)
    if words is None:
        assert problem is None
        return
    assert problem is not None and "\n" not in problem
    assert all(w in problem for w in words), problem


MB = 2**20
# (case id, MEDGEMMA_MAX_FILE_MB, a size, whether it is refused, the limit users read)
SIZES: list[tuple[str, float, int | None, bool, str]] = [
    ("unknown size", 50, None, False, "50.0"),
    ("empty", 50, 0, False, "50.0"),
    ("at the cap", 50, 50 * MB, False, "50.0"),
    ("a byte over", 50, 50 * MB + 1, True, "50.0"),
    ("a fraction of a MB", 0.5, MB // 2 + 1, True, "0.5"),
    ("rounded to one decimal", 2.25, 3 * MB, True, "2.2"),
]


@pytest.mark.parametrize(
    ("name", "cap_mb", "size", "refused", "limit_mb"), SIZES, ids=[c[0] for c in SIZES]
)
def test_size_cap(name: str, cap_mb: float, size: int | None, refused: bool, limit_mb: str) -> None:
    cap = SizeCap.of(Settings(max_file_mb=cap_mb))
    assert cap.limit_mb == limit_mb
    if not refused:
        cap.check(size)
        return
    with pytest.raises(FileTooLarge) as caught:
        cap.check(size)
    assert caught.value.params == {"limit_mb": limit_mb}
