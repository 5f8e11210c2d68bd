"""A test feature whose background task ignores its first cancel until `release` is set (a buggy feature)."""

from supervisor.sdk import Feature

FEATURE = Feature(
    name="stubborn",
    summary="starts a task that swallows its cancel",
    cog="tests.fixture_features.stubborn.cog:StubbornCog",
)
