"""A test feature whose Cog fails where its settings say: in `__init__`, in `cog_load`, or nowhere."""

from supervisor.sdk import Feature, Setting, one_of

FEATURE = Feature(
    name="faulty",
    summary="answers !faulty; fails to load where `fail_in` says",
    cog="tests.fixture_features.faulty.cog:FaultyCog",
    settings={"fail_in": Setting(str, "nowhere", rule=one_of("nowhere", "init", "cog_load"),
                                 doc="where the Cog raises while loading")},
)
