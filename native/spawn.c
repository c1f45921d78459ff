/*
 * Worker process start: fork, then execve of our own binary, with nothing but async-signal-safe
 * libc calls in the child. This lives in C because the .NET runtime cannot run managed code in a
 * child after a bare fork (it hangs at the first garbage collection), and the child must set up
 * its descriptors and signals before it becomes a fresh process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* The channel socket is always descriptor 3 in a worker. */
#define WORKER_CHANNEL_FD 3

static void close_from(int first)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) == 0)
        return;
#endif
    for (int fd = first; fd < 65536; fd++)
        close(fd);
}

static void limit(int resource, rlim_t value)
{
    struct rlimit rl = { value, value };
    setrlimit(resource, &rl);
}

/*
 * Starts `exe` with `argv` and `envp`; `channel_fd` becomes descriptor 3 in the child and every
 * other descriptor above 2 is closed. When the supervisor runs as root and `uid` is not -1, the
 * child leaves root for uid/gid and enters new network, IPC and UTS namespaces (where the kernel
 * allows) first. Returns the child's pid, or -errno on failure to fork.
 */
int blueboat_spawn_worker(const char *exe, char *const argv[], char *const envp[], int channel_fd, int uid, int gid)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid < 0 ? -errno : pid;

    /* child: only async-signal-safe calls from here to execve */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);

    /* die with the supervisor; if it is already gone, do not start at all */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);

    if (channel_fd == WORKER_CHANNEL_FD) {
        fcntl(WORKER_CHANNEL_FD, F_SETFD, 0); /* clear close-on-exec */
    } else if (dup2(channel_fd, WORKER_CHANNEL_FD) < 0) {
        _exit(125);
    }
    close_from(WORKER_CHANNEL_FD + 1);

    /* stdin from nowhere; stdout and stderr stay, so a crash message reaches the supervisor's log */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0 && null_fd != 0) {
        dup2(null_fd, 0);
        close(null_fd);
    }

    limit(RLIMIT_CORE, 0);      /* no core dumps of tenant memory */
    limit(RLIMIT_NOFILE, 1024); /* a worker needs a handful of descriptors */

    if (uid >= 0 && geteuid() == 0) {
        /* no network at all, and no view of the host's IPC objects or host name */
        unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS);
        if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0)
            _exit(124);
    }

    execve(exe, argv, envp);
    _exit(127);
}
