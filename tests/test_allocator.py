"""The allocator setting of the run machinery: freed heap memory stays in the process (glibc only)."""

import platform
import sys

from gan_lab.training.allocator import keep_freed_memory


def test_glibc_accepts_the_settings_and_other_platforms_are_left_alone():
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is on_glibc  # mallopt returns 0 for a value it refuses
