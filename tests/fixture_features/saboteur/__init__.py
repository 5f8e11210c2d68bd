"""A test feature whose code raises a BaseException where a member asks: `!trap <kind> <where>`."""

from supervisor.sdk import Feature

FEATURE = Feature(
    name="saboteur",
    summary="raises KeyboardInterrupt, SystemExit or a custom BaseException where `!trap` says",
    cog="tests.fixture_features.saboteur.cog:SaboteurCog",
)
