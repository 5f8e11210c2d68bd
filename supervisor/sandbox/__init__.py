"""`discord-supervisor sandbox`: the emulator, the supervisor and a terminal chat in one process."""
