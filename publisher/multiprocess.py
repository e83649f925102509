"""``publisher serve --workers N``: N server processes, each with its own listening socket on
the same port (SO_REUSEPORT), so the kernel spreads connections evenly over them.

uvicorn's own ``workers=N`` shares one listening socket, and each process's event loop
accepts every pending connection when it wakes: a burst of connections (a load balancer, a
benchmark) lands on one process and the other idles (bench/RESULTS.md measured 1.0x with two
workers). Its shared socket also has ``proto`` 0, which makes asyncio leave Nagle's algorithm
on: ~40 ms per answer. Here every socket is a TCP socket of its own. Each process builds the
app with app.create_app_from_env (settings from the environment, the store read-only);
SIGTERM or SIGINT to this process is passed on and the workers shut down gracefully.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from typing import Any


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn  # noqa: PLC0415

    config = uvicorn.Config("publisher.app:create_app_from_env", factory=True, **options)
    uvicorn.Server(config).run(sockets=[_listen(host, port)])


def serve(workers: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Run ``workers`` uvicorn servers on host:port until they stop; 0 if all ended well."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(host, port, options),
                                 name=f"publisher-worker-{i}") for i in range(workers)]
    for process in processes:
        process.start()

    def stop(signum: int, frame: Any) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes what is in flight

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if all(p.exitcode == 0 for p in processes) else 1
