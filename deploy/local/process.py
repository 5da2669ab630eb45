"""Tie a local emulator's life to whoever started it (honcho for `make run`, the test session)."""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux; kept across exec).

    Without it an emulator outlives a killed `make run` or test session and holds its port. The
    flag survives `execve` (prctl(2)), so a launcher can set it and then exec the JVM.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent:  # the parent died before the flag was set
        os.kill(os.getpid(), sig)
