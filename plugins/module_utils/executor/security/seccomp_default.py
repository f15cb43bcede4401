# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nsfleet's default seccomp profile: Docker's default semantics, as data in Docker's profile format.

Everything not allowed fails with EPERM. Allowed: the ordinary system calls
of an unprivileged program, grouped below by what they are for. Gated by a
capability the workload holds: what that capability exists to guard (mount,
namespaces and the new mount API with CAP_SYS_ADMIN, module loading with
CAP_SYS_MODULE, ...). Filtered by argument: clone without CAP_SYS_ADMIN may
not create namespaces; personality takes only the handful of personas Docker
allows; socket refuses AF_VSOCK. clone3 without CAP_SYS_ADMIN fails with
ENOSYS, so libc falls back to clone, whose flags the filter can see.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What an ordinary program does, by purpose. Names a machine does not have are skipped.
_ALLOWED = """
    brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock munlockall
    remap_file_pages membarrier memfd_create memfd_secret pkey_alloc pkey_free pkey_mprotect process_mrelease

    read readv write writev pread64 preadv preadv2 pwrite64 pwritev pwritev2 lseek _llseek sendfile sendfile64
    splice tee vmsplice copy_file_range readahead fadvise64 fadvise64_64 fallocate
    open openat openat2 creat close close_range dup dup2 dup3 fcntl fcntl64 flock ioctl
    fsync fdatasync sync syncfs sync_file_range truncate truncate64 ftruncate ftruncate64

    stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64
    access faccessat faccessat2 readlink readlinkat getdents getdents64 getcwd chdir fchdir
    mkdir mkdirat rmdir rename renameat renameat2 link linkat symlink symlinkat unlink unlinkat mknod mknodat
    chmod fchmod fchmodat chown chown32 fchown fchown32 fchownat lchown lchown32 umask
    utime utimes utimensat utimensat_time64 futimesat name_to_handle_at
    getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr
    removexattr lremovexattr fremovexattr
    inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark

    poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
    epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
    eventfd eventfd2 signalfd signalfd4 timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime
    timerfd_gettime64 pipe pipe2
    io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
    io_uring_setup io_uring_enter io_uring_register

    socketpair bind connect listen accept accept4 getsockname getpeername getsockopt setsockopt shutdown
    send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 socketcall

    fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill
    pidfd_open pidfd_send_signal restart_syscall pause
    rt_sigaction rt_sigprocmask rt_sigpending rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
    rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn sigreturn sigprocmask sigaltstack
    set_tid_address set_robust_list get_robust_list rseq futex futex_time64 futex_waitv
    get_thread_area set_thread_area prctl capget capset seccomp
    landlock_create_ruleset landlock_add_rule landlock_restrict_self

    getpid getppid gettid getpgid setpgid getpgrp getsid setsid
    getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32
    getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32
    setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32
    setgroups setgroups32

    getrlimit ugetrlimit setrlimit prlimit64 getrusage getpriority setpriority ioprio_get ioprio_set
    sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam
    sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
    sched_rr_get_interval sched_rr_get_interval_time64 getcpu

    time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep
    clock_nanosleep_time64 nanosleep adjtimex clock_adjtime clock_adjtime64 alarm getitimer setitimer times
    timer_create timer_delete timer_gettime timer_gettime64 timer_settime timer_settime64 timer_getoverrun

    uname sysinfo getrandom
    ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat shmdt shmctl
    mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64 mq_notify
    mq_getsetattr
"""

# Capability -> what it exists to guard; allowed when the workload holds it.
_BY_CAPABILITY = (
    ("CAP_SYS_ADMIN", "mount umount umount2 fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr "
                      "unshare setns clone clone3 sethostname setdomainname quotactl quotactl_fd bpf "
                      "perf_event_open fanotify_init lookup_dcookie syslog"),
    ("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    ("CAP_SYS_BOOT", "reboot"),
    ("CAP_SYS_CHROOT", "chroot"),
    ("CAP_SYS_MODULE", "init_module finit_module delete_module"),
    ("CAP_SYS_PACCT", "acct"),
    ("CAP_SYS_PTRACE", "ptrace process_vm_readv process_vm_writev process_madvise kcmp pidfd_getfd"),
    ("CAP_SYS_RAWIO", "iopl ioperm"),
    ("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"),
    ("CAP_SYS_TTY_CONFIG", "vhangup"),
    ("CAP_SYS_NICE", "mbind get_mempolicy set_mempolicy set_mempolicy_home_node"),
    ("CAP_SYSLOG", "syslog"),
    ("CAP_BPF", "bpf"),
    ("CAP_PERFMON", "perf_event_open"),
)

# Docker's machine names -> system calls only that machine has.
_BY_ARCH = (
    (("amd64", "x32"), "arch_prctl"),
    (("amd64", "x32", "386"), "modify_ldt"),
    (("arm", "arm64"), "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"),
    (("ppc64le",), "sync_file_range2 swapcontext"),
    (("s390", "s390x"), "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"),
    (("riscv64",), "riscv_flush_icache"),
)

# Namespace-creating clone flags: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
CLONE_NAMESPACE_FLAGS = 0x7E020000
# personality(2) values Docker allows: PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26, and the query.
PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
AF_VSOCK = 40
ENOSYS = 38


def _entry(names, **more):
    entry = {"names": names.split(), "action": "SCMP_ACT_ALLOW"}
    entry.update(more)
    return entry


def _no_cap(capability, **more):
    return dict(more, caps=[capability])


def profile():
    """The default profile, as a Docker-format dict (what a profile file would hold)."""
    syscalls = [_entry(_ALLOWED)]
    # Since 4.8 seccomp checks the syscall again after a tracer changed it, so ptrace cannot bypass the filter.
    syscalls.append(_entry("ptrace process_vm_readv process_vm_writev", includes={"minKernel": "4.8"}))
    syscalls.append(_entry("socket", args=[{"index": 0, "value": AF_VSOCK, "op": "SCMP_CMP_NE"}]))
    syscalls.extend(_entry("personality", args=[{"index": 0, "value": persona, "op": "SCMP_CMP_EQ"}])
                    for persona in PERSONAS)
    syscalls.extend(_entry(names, includes={"arches": list(arches)}) for arches, names in _BY_ARCH)
    syscalls.extend(_entry(names, includes={"caps": [capability]}) for capability, names in _BY_CAPABILITY)
    # s390 passes clone's flags second.
    syscalls.append(_entry("clone", args=[{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "op": "SCMP_CMP_MASKED_EQ"}],
                           excludes={"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}))
    syscalls.append(_entry("clone", args=[{"index": 1, "value": CLONE_NAMESPACE_FLAGS, "op": "SCMP_CMP_MASKED_EQ"}],
                           includes={"arches": ["s390", "s390x"]}, excludes={"caps": ["CAP_SYS_ADMIN"]}))
    syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
                     "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
            {"architecture": "SCMP_ARCH_S390X", "subArchitectures": ["SCMP_ARCH_S390"]},
            {"architecture": "SCMP_ARCH_PPC64LE", "subArchitectures": []},
            {"architecture": "SCMP_ARCH_RISCV64", "subArchitectures": []},
        ],
        "syscalls": syscalls,
    }
