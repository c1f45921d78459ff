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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* The channel socket is always descriptor 3 in a worker. */
#define WORKER_CHANNEL_FD 3

/* RLIMIT_NPROC counts every task of the user, threads included, across all workers. */
#define WORKER_USER_TASKS 32768

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
 * The credential switch with raw system calls. glibc's setuid/setgid/setgroups change every thread
 * of the process through a broadcast over its thread list; after a raw clone that list still names
 * the supervisor's threads (and its locks may be held by them), so the wrappers can wait forever.
 * The child has one thread, so the plain system calls are exactly right.
 */
static int drop_privileges(int uid, int gid)
{
    if (syscall(SYS_setgroups, 0, NULL) != 0)
        return -1;
    if (syscall(SYS_setresgid, gid, gid, gid) != 0)
        return -1;
    if (syscall(SYS_setresuid, uid, uid, uid) != 0)
        return -1;
    return 0;
}

/*
 * A mount table of the worker's own: nothing it does propagates back to the host, and /proc is a
 * fresh instance for its PID namespace, so it lists the worker alone. Best effort: where the
 * kernel refuses, the worker still has its PID namespace and its seccomp filter.
 */
static void own_mount_table(int own_pid_namespace)
{
    if (unshare(CLONE_NEWNS) != 0)
        return;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return;
    if (own_pid_namespace)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/*
 * Starts `exe` with `argv` and `envp`; `channel_fd` becomes descriptor 3 in the child and every
 * other descriptor above 2 is closed. When the supervisor runs as root and `uid` is not -1, the
 * child is process 1 of a new PID namespace with its own mount table and /proc, enters new
 * network, IPC and UTS namespaces (each where the kernel allows), and leaves root for uid/gid.
 * Returns the child's pid, or -errno on failure to fork.
 */
int blueboat_spawn_worker(const char *exe, char *const argv[], char *const envp[], int channel_fd, int uid, int gid)
{
    pid_t parent = getpid();
    int privileged = uid >= 0 && geteuid() == 0;
    int own_pid_namespace = 0;
    pid_t pid = -1;
    if (privileged) {
        /* a fork whose child is process 1 of a new PID namespace: it can see and signal no other
           process. Raw clone, so nothing in the child may rely on glibc's fork bookkeeping. */
        pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWPID | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
        own_pid_namespace = pid >= 0;
    }
    if (pid < 0)
        pid = fork();
    if (pid != 0)
        return pid < 0 ? -errno : pid;

    /* child: only async-signal-safe calls and raw system calls from here to execve */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);

    /* die with the supervisor; if it is already gone, do not start at all (in its own PID
       namespace the child sees its parent as 0: a lost parent shows there as a closed channel) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!own_pid_namespace && getppid() != parent)
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

    if (privileged) {
        /* no network at all, and no view of the host's IPC objects, host name or mounts */
        unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS);
        own_mount_table(own_pid_namespace);
        /* the unprivileged user's tasks, all workers' threads together: a bound on what a
           worker could start if anything got past the filter that refuses fork */
        limit(RLIMIT_NPROC, WORKER_USER_TASKS);
        if (drop_privileges(uid, gid) != 0)
            _exit(124);
    }

    execve(exe, argv, envp);
    _exit(127);
}
