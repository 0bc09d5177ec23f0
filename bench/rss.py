"""`python -I -S bench/rss.py CMD...`: run CMD and print its wall seconds, peak RSS (KiB) and
exit code.

A child's max RSS from wait4 is at least its parent's RSS at the moment it was spawned: Linux
records the old address space's high-water mark at exec, and a vfork/posix_spawn child starts
with its parent's. Spawned straight from the bench process (which holds the benchmark data,
gigabytes by the 10M-event rows), every job would report the bench's own size. This small
process (no site, no imports beyond os and time) spawns the job instead, so the figure is the
job's own.
"""

import os
import sys
import time

t = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - t, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
