namespace Blueboat.Worker.Sandbox;

/// <summary>Syscall numbers by name (x86_64), for the names a policy may use.</summary>
public static class SyscallTable
{
    public const uint AuditArchX64 = 0xC000003E;

    public static readonly IReadOnlyDictionary<string, int> X64 = new Dictionary<string, int>
    {
        ["read"] = 0, ["write"] = 1, ["open"] = 2, ["close"] = 3, ["fstat"] = 5, ["poll"] = 7, ["lseek"] = 8, ["mmap"] = 9,
        ["mprotect"] = 10, ["munmap"] = 11, ["brk"] = 12, ["rt_sigaction"] = 13, ["rt_sigprocmask"] = 14,
        ["rt_sigreturn"] = 15, ["ioctl"] = 16, ["pread64"] = 17, ["sched_yield"] = 24, ["mremap"] = 25,
        ["madvise"] = 28, ["dup"] = 32, ["nanosleep"] = 35, ["getpid"] = 39, ["socket"] = 41, ["connect"] = 42,
        ["accept"] = 43, ["sendto"] = 44, ["recvfrom"] = 45, ["sendmsg"] = 46, ["recvmsg"] = 47, ["bind"] = 49,
        ["listen"] = 50, ["clone"] = 56, ["fork"] = 57, ["vfork"] = 58, ["execve"] = 59, ["exit"] = 60,
        ["kill"] = 62, ["uname"] = 63, ["fcntl"] = 72, ["getrusage"] = 98, ["sysinfo"] = 99, ["ptrace"] = 101,
        ["getuid"] = 102, ["sigaltstack"] = 131, ["sched_getparam"] = 143, ["sched_getscheduler"] = 145,
        ["prctl"] = 157, ["mount"] = 165, ["gettid"] = 186, ["tkill"] = 200, ["futex"] = 202,
        ["sched_getaffinity"] = 204, ["epoll_wait"] = 232, ["epoll_ctl"] = 233, ["tgkill"] = 234,
        ["clock_gettime"] = 228, ["clock_nanosleep"] = 230, ["exit_group"] = 231, ["restart_syscall"] = 219,
        ["openat"] = 257, ["newfstatat"] = 262, ["unshare"] = 272, ["set_robust_list"] = 273,
        ["epoll_pwait"] = 281, ["accept4"] = 288, ["prlimit64"] = 302, ["setns"] = 308, ["getrandom"] = 318,
        ["execveat"] = 322, ["membarrier"] = 324, ["rseq"] = 334, ["clone3"] = 435, ["seccomp"] = 317,
    };
}
