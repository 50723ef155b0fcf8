"""Keep freed memory in the process during training (glibc's malloc on Linux).

A training step frees and re-allocates the same tensors every step. By default glibc gives the top of its heap
back to the kernel once more than M_TRIM_THRESHOLD bytes there are free, and the next step asks for it again:
every page comes back as a fresh page fault, zero-filled by the kernel. Whether that happens depends on where
long-lived allocations (Python objects, logged values) happen to land, so an identical step can cost 3-15%
more in one process than another: `python benchmarks/bench.py` measured 7,000 minor faults per step in
gan_lab's DCGAN on MNIST against 2 in the plain loop, and gan_lab/plain 0.92 (benchmarks/README.md, "the gap
at the defaults"). A trim threshold above anything a step frees keeps those pages; the heap then stays at its
high-water mark, which a training process reaches in its first steps anyway.
"""

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap (and so are kept), larger ones from mmap: glibc's own ceiling
# for its adaptive threshold (32 MiB on 64-bit), fixed here so that it does not start low again.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2**31 - 1  # the largest mallopt takes (an int): 2 GiB free at the top before a trim


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed heap memory instead of returning it; False where there is no glibc
    (macOS, Windows, musl), which have their own allocators and nothing to set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, _ = libc.mallopt, libc.gnu_get_libc_version  # glibc only
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    mapped = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(trim and mapped)
