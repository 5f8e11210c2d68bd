"""A feature package whose import fails, as a third party's bug would."""

raise RuntimeError("broken_feature cannot start: its author left a bug here")
