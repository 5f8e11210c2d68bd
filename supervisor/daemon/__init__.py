"""The long-running daemon: supervises instances, watches their folders, answers the control socket."""
