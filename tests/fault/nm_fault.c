/* nm_fault.c: a fault injector for the tests, loaded with LD_PRELOAD.
 *
 * Counts the calls that write to the file named NM_FAULT_MATCH (a base
 * name: also NAME.tmp.PID and NAME.lock)
 * (write, pwrite, writev, pwritev and their 64-bit names: what HDF5's
 * sec2 driver and Open MPI's MPI-IO use), and at call NM_FAULT_AT does
 * NM_FAULT_ACTION:
 *   kill    SIGKILL to the process before the write (kill -9 at that write)
 *   enospc  this write and every later one fails with ENOSPC (a full disk)
 *   eio     the same with EIO
 * With NM_FAULT_COUNT=FILE, a process that ends normally appends its count
 * ("PID COUNT") to FILE, so a test learns how many writes a run makes.
 * Test code only: never linked into neuromic. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static long fault_at = -1, calls;
static int fault_errno; /* 0: kill */
static const char *match;

__attribute__((constructor)) static void fault_init(void)
{
    match = getenv("NM_FAULT_MATCH");
    const char *at = getenv("NM_FAULT_AT"), *act = getenv("NM_FAULT_ACTION");
    if (at)
        fault_at = atol(at);
    if (act && !strcmp(act, "enospc"))
        fault_errno = ENOSPC;
    else if (act && !strcmp(act, "eio"))
        fault_errno = EIO;
}

__attribute__((destructor)) static void fault_fini(void)
{
    const char *out = getenv("NM_FAULT_COUNT");
    if (!out || !match)
        return;
    int fd = open(out, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %ld\n", (long)getpid(), calls);
    ssize_t w = write(fd, line, (size_t)n); /* FILE does not match: not counted */
    (void)w;
    close(fd);
}

/* 0: go on with the write; else the errno it fails with. */
static int fault_hit(int fd)
{
    if (!match)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    /* The file itself, its temporary twin (NAME.tmp.PID) or its lock; not
     * files that only contain the name (Open MPI's /dev/shm/sem.OMPIO_NAME). */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t m = strlen(match);
    if (strncmp(base, match, m) != 0 ||
        (base[m] && strncmp(base + m, ".tmp.", 5) != 0 && strcmp(base + m, ".lock") != 0))
        return 0;
    long c = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    if (fault_at <= 0 || c < fault_at)
        return 0;
    if (!fault_errno) {
        if (c == fault_at)
            raise(SIGKILL);
        return 0;
    }
    return fault_errno;
}

/* Each wrapper: count (and maybe fail) the call, else pass it on. */
#define WRAP(name, params, args)                                                                 \
    ssize_t name params                                                                          \
    {                                                                                            \
        static __typeof__(name) *real;                                                           \
        if (!real)                                                                               \
            real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);                                  \
        int e = fault_hit(fd);                                                                   \
        if (e) {                                                                                 \
            errno = e;                                                                           \
            return -1;                                                                           \
        }                                                                                        \
        return real args;                                                                        \
    }

WRAP(write, (int fd, const void *buf, size_t n), (fd, buf, n))
WRAP(pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off))
WRAP(pwrite64, (int fd, const void *buf, size_t n, off64_t off), (fd, buf, n, off))
WRAP(writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))
WRAP(pwritev, (int fd, const struct iovec *iov, int cnt, off_t off), (fd, iov, cnt, off))
WRAP(pwritev64, (int fd, const struct iovec *iov, int cnt, off64_t off), (fd, iov, cnt, off))
