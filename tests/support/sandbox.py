"""The sandbox as a separate process, read and typed into as a person at the terminal would."""

from __future__ import annotations

import asyncio


class SandboxSession:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.output = ""

    async def read_until(self, text: str, timeout: float = 120.0, since: int = 0) -> str:
        """Wait for `text` (generously: a sandbox starting on a loaded machine, or on a shared database server
        full of other clients' sessions, waits for its turn before it shows anything)."""
        assert self.process.stdout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in self.output[since:]:
            remaining = deadline - loop.time()
            assert remaining > 0, f"{text!r} not shown; output so far:\n{self.output}"
            try:
                chunk = await asyncio.wait_for(self.process.stdout.read(4096), remaining)
            except TimeoutError:
                continue
            assert chunk, f"sandbox exited before showing {text!r}:\n{self.output}"
            self.output += chunk.decode()
        return self.output

    async def type(self, line: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
