"""``publisher serve --workers N``: N server processes, each with its own listening socket on
the same port (SO_REUSEPORT), so the kernel spreads connections evenly over them.

uvicorn's own ``workers=N`` shares one listening socket, and each process's event loop
accepts every pending connection when it wakes: a burst of connections (a load balancer, a
benchmark) lands on one process and the other idles (bench/RESULTS.md measured 1.0x with two
workers). Its shared socket also has ``proto`` 0, which makes asyncio leave Nagle's algorithm
on: ~40 ms per answer. Here every socket is a TCP socket of its own. Each process builds the
app with app.create_app_from_env (settings from the environment, the store read-only).

The port is ours alone. SO_REUSEPORT lets any process of the same user join a port, and the
kernel would then share the traffic with it: two versions of the data from one address. So
this process first binds the port without SO_REUSEPORT, which fails like ``--workers 1``
does (one line, exit 3) when anybody else listens there, and then at once binds the
workers' sockets itself and hands one to each worker. The kernel has no SO_REUSEPORT group
closed to others: a publisher that starts later is refused by its own check, but a program
that sets SO_REUSEPORT without one (or binds in the microseconds between our check and our
bind) can still join.

Signals to this process: SIGTERM or SIGINT is passed on as SIGTERM, the workers finish what
is in flight, and a stop that went well exits 0 (as uvicorn re-raises the signal after its
graceful shutdown, each worker turns it into exit 0, as cli._serve does). SIGHUP is passed
on: each worker's app reloads its data (reload.py) or, with an on-disk store, logs why it
does not, as a single process does. A worker that ends any other way is logged and makes
the exit status 1.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("publisher")

#: uvicorn's exit status when a server cannot start (its port taken), kept for --workers N
STARTUP_FAILURE = 3


def _socket(host: str, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT, not listeners
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def _listen(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on host:port, or OSError if another process listens there."""
    with _socket(host, reuse_port=False) as probe:
        probe.bind((host, port))  # EADDRINUSE for any listener, SO_REUSEPORT or not
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(_socket(host, reuse_port=True))
            sockets[-1].bind((host, port))
            sockets[-1].listen(2048)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def exit_cleanly(signum: int, frame: Any) -> None:
    """A signal handler: uvicorn re-raises SIGTERM (and SIGINT) after its graceful
    shutdown; this makes that an exit 0 (``cli._serve`` for one process, ``_worker``)."""
    raise SystemExit(0)


def _worker(sock: socket.socket, options: dict[str, Any]) -> None:
    """One server process. A spawned process inherits neither logging nor signal handlers,
    so it sets up both as cli._serve does for a single process."""
    signal.signal(signal.SIGTERM, exit_cleanly)
    signal.signal(signal.SIGINT, exit_cleanly)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until reload.py takes it over (see serve)
    import uvicorn  # noqa: PLC0415

    from publisher import logs  # noqa: PLC0415
    from publisher.config import load_settings  # noqa: PLC0415

    logs.setup(load_settings().log_format, options["log_level"])
    config = uvicorn.Config("publisher.app:create_app_from_env", factory=True,
                            log_config=None, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(workers: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Run ``workers`` uvicorn servers on host:port until they stop; 0 if all ended well,
    STARTUP_FAILURE if the port cannot be had, 1 if a worker failed."""
    try:
        sockets = _listen(host, port, workers)
    except OSError as exc:  # worded as asyncio words it for uvicorn with one process
        log.error("[Errno %s] error while attempting to bind on address %r: %s", exc.errno,
                  (host, port), (exc.strerror or str(exc)).lower())
        return STARTUP_FAILURE
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(sock, options),
                                 name=f"publisher-worker-{i}") for i, sock in enumerate(sockets)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes what is in flight

    def hang_up(signum: int, frame: Any) -> None:
        if not stopping:  # a worker past its shutdown has SIGHUP's default action again
            for process in processes:
                if process.is_alive() and process.pid is not None:
                    os.kill(process.pid, signal.SIGHUP)

    # SIGHUP is ignored while the workers start, by them too (an ignored signal stays
    # ignored in a child): they are about to load the current data anyway
    handlers: dict[int, Any] = {signal.SIGTERM: stop, signal.SIGINT: stop,
                                signal.SIGHUP: signal.SIG_IGN}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        for process, sock in zip(processes, sockets, strict=True):
            if not stopping:
                process.start()
            sock.close()  # the worker has its own copy; a dead worker's must not take connections
        if stopping:  # a signal while a worker was being started
            stop(signal.SIGTERM, None)
        signal.signal(signal.SIGHUP, hang_up)
        failed = _wait(processes, lambda: stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sock in sockets:
            sock.close()
        for process in processes:  # never leave a worker behind, whatever ended this
            if process.is_alive():
                process.terminate()
                process.join()
    return 1 if failed else 0


def _wait(processes: Sequence[BaseProcess], stopping: Callable[[], bool]) -> int:
    """Wait for every started worker to end; the number that did not end well, each logged
    as it ends. A worker that our SIGTERM reached before it had set up its handler ends by
    that signal: a stop, not a failure."""
    running: dict[Any, BaseProcess] = {p.sentinel: p for p in processes if p.pid is not None}
    failed = 0
    while running:
        for sentinel in multiprocessing.connection.wait(list(running)):
            process = running.pop(sentinel)
            process.join()
            if process.exitcode == 0 or (stopping() and process.exitcode == -signal.SIGTERM):
                continue
            failed += 1
            log.error("%s (pid %d) ended with exit code %s", process.name, process.pid,
                      process.exitcode)
    return failed
