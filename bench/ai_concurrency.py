"""Per-endpoint concurrency: 200 instances' provider clients share one endpoint and key.

Each instance's `[ai]` table is validated as the config loader does and gets its own Router (its own view of
its config and `.env`), all on one process-wide ProviderClients (one httpx pool), as in the daemon. Every
instance asks at once; the local OpenAI-compatible stand-in answers after a delay and records how many requests
were ever in flight. Printed side by side: max_concurrent = 4 and a limit of 1000 (effectively none). Usage:

    .venv/bin/python bench/ai_concurrency.py [--instances 200] [--requests 2] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tomllib

from _harness import ChatStandIn

from supervisor.ai.client import SHARED_KEY, ProviderClients
from supervisor.ai.config import validate_ai
from supervisor.ai.router import Router
from supervisor.sdk.shared import SharedServices


def ai_table(url: str, max_concurrent: int) -> dict:
    return tomllib.loads(f"""
[ai.providers.shared]
url = "{url}"
model = "bench"
api_key_env = "SHARED_KEY"
max_tokens = 64
max_concurrent = {max_concurrent}
[ai.routing]
chat = "shared"
""")["ai"]


async def run(instances: int, requests: int, delay: float, max_concurrent: int) -> tuple[int, int, float]:
    server = await ChatStandIn(delay).start()
    shared = SharedServices()
    try:
        routers = []
        for index in range(instances):
            config, errors, _warnings = validate_ai(ai_table(server.url, max_concurrent))
            assert not errors, errors
            secrets = {"SHARED_KEY": "sk-bench"}  # the same key: one limit for all
            clients = await shared.get(SHARED_KEY, ProviderClients)
            routers.append(Router(config, secrets.get, clients, None))
            del index

        async def ask(router: Router) -> None:
            provider = router.route("chat")
            assert provider is not None
            await router.complete(provider, [{"role": "user", "content": "hi"}], max_tokens=8)

        started = time.perf_counter()
        await asyncio.gather(*(ask(router) for router in routers for _ in range(requests)))
        elapsed = time.perf_counter() - started
        return server.peak, server.requests, elapsed
    finally:
        await shared.close()
        await server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--requests", type=int, default=2, help="requests per instance, all at once")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the stand-in takes per answer")
    args = parser.parse_args()
    print(f"{args.instances} instances x {args.requests} requests on one endpoint and key, "
          f"stand-in answers in {args.delay * 1000:.0f} ms")
    print(f"{'max_concurrent':>15}  {'peak in flight':>14}  {'requests':>8}  {'wall s':>7}")
    for limit in (4, 1000):
        peak, total, elapsed = await run(args.instances, args.requests, args.delay, limit)
        print(f"{limit:>15}  {peak:>14}  {total:>8}  {elapsed:>7.2f}")


if __name__ == "__main__":
    asyncio.run(main())
