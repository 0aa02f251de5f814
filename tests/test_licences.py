"""Everything a plain install brings fits the project's Apache-2.0 licence."""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement

PROJECT = "medgemma-slack-bot"
# Copyleft terms that would bind a redistributed Apache-2.0 bot (LGPL is dynamic-link safe).
COPYLEFT = ("GPL", "AGPL", "SSPL", "EUPL")


def runtime_closure() -> dict[str, metadata.Distribution]:
    """The installed distributions a plain install of the bot needs (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = [PROJECT]
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def licence_terms(dist: metadata.Distribution) -> str:
    """What a distribution declares: its SPDX expression, licence field and classifiers."""
    meta = dist.metadata
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    fields = [meta.get("License-Expression") or "", meta.get("License") or "", *classifiers]
    return " | ".join(f.splitlines()[0] for f in fields if f.strip())


def copyleft(terms: str) -> bool:
    """Whether licence terms name a strong copyleft licence (LGPL aside)."""
    words = terms.upper().replace("LGPL", "").replace("LESSER GENERAL", "")
    return any(term in words for term in COPYLEFT) or "GENERAL PUBLIC" in words


def test_the_check_recognises_copyleft() -> None:
    assert copyleft("GPL-3.0-or-later")
    assert copyleft("License :: OSI Approved :: GNU General Public License v3 (GPLv3)")
    assert not copyleft("LGPL-2.1-only")
    assert not copyleft("BSD-3-Clause | MIT")


def test_runtime_dependencies_are_permissive_and_declared() -> None:
    closure = runtime_closure()
    assert "imagecodecs" in closure and "torch" in closure  # the walk reaches real deps
    unknown = sorted(name for name, dist in closure.items() if not licence_terms(dist))
    bound = sorted(
        f"{name}: {licence_terms(dist)}"
        for name, dist in closure.items()
        if copyleft(licence_terms(dist))
    )
    assert not bound, bound
    assert not unknown, f"no licence declared: {unknown}"
    assert "pylibjpeg-libjpeg" not in closure  # GPL-3.0: replaced by imagecodecs
