"""Listen with an aiohttp application, as every HTTP device of the simulator does."""

from aiohttp import web


async def listen(runner: web.AppRunner, host: str, port: int) -> int:
    """Set the runner up and listen on host:port (0: any free port); return the port.

    A port that cannot be bound leaves nothing running behind: the runner is
    cleaned up before the error goes on.
    """
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return int(runner.addresses[0][1])
