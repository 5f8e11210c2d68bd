"""docs/sdk.md is the kit's own reference: generated from supervisor.sdk, and kept equal to it."""

from __future__ import annotations

from supervisor.commands import sdk_reference
from tests.support import REPO


def test_docs_sdk_md_is_generated_from_the_kit() -> None:
    document = (REPO / "docs" / "sdk.md").read_text(encoding="utf-8")
    assert sdk_reference.generated_section(document) == sdk_reference.reference(), (
        "docs/sdk.md is out of date: run `python -m supervisor.commands.sdk_reference docs/sdk.md`"
    )


def test_every_export_is_documented_with_its_own_words() -> None:
    import supervisor.sdk as sdk

    text = sdk_reference.reference()
    for name in sdk.__all__:
        assert f"`{name}" in text or f"`async {name}" in text, name
    assert "Initialize self" not in text and "|coro|" not in text  # nothing inherited from object or discord.py
