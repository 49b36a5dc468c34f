#define _GNU_SOURCE
#include "CBinderShims.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <poll.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int cbinder_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -errno;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int cbinder_peer_pidfd(int fd) {
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) return -errno;
    return pidfd;
}

int cbinder_signalfd_term(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -errno;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int cbinder_pin_to_cpu(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof set, &set) == 0 ? 0 : -errno;
}

uint64_t cbinder_get_affinity(pid_t pid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(pid, sizeof set, &set) != 0) return 0;
    uint64_t mask = 0;
    for (int i = 0; i < 64; i++)
        if (CPU_ISSET(i, &set)) mask |= (uint64_t)1 << i;
    return mask;
}

int cbinder_set_affinity(pid_t pid, uint64_t mask) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < 64; i++)
        if (mask & ((uint64_t)1 << i)) CPU_SET(i, &set);
    return sched_setaffinity(pid, sizeof set, &set) == 0 ? 0 : -errno;
}

int cbinder_accept_cloexec(int fd) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    return c < 0 ? -errno : c;
}

ssize_t cbinder_send3(int fd, const void *a, size_t alen, const void *b, size_t blen, const void *c,
                      size_t clen, const int *fds, int nfds, int flags) {
    struct iovec iov[3] = {{(void *)a, alen}, {(void *)b, blen}, {(void *)c, clen}};
    int iovcnt = clen ? 3 : (blen ? 2 : 1);
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = iovcnt;
    char control[CMSG_SPACE(sizeof(int) * 64)];
    if (nfds > 0) {
        if (nfds > 64) return -EINVAL;
        memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t cbinder_recv2_fds(int fd, void *a, size_t alen, void *b, size_t blen, int *fds, int maxfds, int *nfds, int *msg_flags,
                          int dont_wait) {
    struct iovec iov[2] = {{a, alen}, {b, blen}};
    char control[CMSG_SPACE(sizeof(int) * 64)];
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = blen ? 2 : 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (dont_wait ? MSG_DONTWAIT : 0)); while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *nfds = 0;
    *msg_flags = msg.msg_flags;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(cm);
        for (int i = 0; i < count; i++) {
            if (*nfds < maxfds) fds[(*nfds)++] = data[i];
            else close(data[i]);
        }
    }
    return n;
}

int cbinder_cpu_count(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }

int cbinder_set_thread_name(unsigned long thread, const char *name) { return pthread_setname_np((pthread_t)thread, name); }

int cbinder_seqpacket_socket(void) {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}


int cbinder_seqpacket_pair(int sv[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0 ? 0 : -errno;
}

int cbinder_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

int cbinder_spawnattr_init_clean(posix_spawnattr_t *attr) {
    int r = posix_spawnattr_init(attr);
    if (r != 0) return r;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(attr, &none);
    posix_spawnattr_setsigdefault(attr, &all);
    return posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

// MARK: Containers

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#define CBINDER_PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4)

/// The kernel's struct clone_args (linux/sched.h clashes with glibc's sched.h).
struct cbinder_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/// In a child between fork and exec: report the failed step and errno through the close-on-exec
/// pipe, then exit. Async-signal-safe.
static void child_fail(int errfd, int step, int err) {
    int msg[2] = {step, err};
    (void)!write(errfd, msg, sizeof msg);
    _exit(127);
}

/// Default dispositions and an empty signal mask (a parent may block or ignore signals: binderd
/// blocks SIGINT/SIGTERM for its signalfd and ignores SIGPIPE; both would survive exec).
static void reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) (void)sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/// Reads a child's {step, errno} report: 0 when the pipe closed empty (exec succeeded).
static int read_child_report(int fd, int *step) {
    int msg[2] = {0, 0};
    ssize_t n;
    do { n = read(fd, msg, sizeof msg); } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof msg) {
        *step = msg[0];
        return -msg[1];
    }
    return 0;
}

static void loopback_up(int errfd) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) child_fail(errfd, CBINDER_STEP_LOOPBACK, errno);
    struct ifreq req;
    memset(&req, 0, sizeof req);
    strcpy(req.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &req) != 0) child_fail(errfd, CBINDER_STEP_LOOPBACK, errno);
    req.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &req) != 0) child_fail(errfd, CBINDER_STEP_LOOPBACK, errno);
    close(s);
}

int cbinder_container_spawn(const char *hostname, const char *endpoint_dir, const char *init_path, int *pidfd,
                            int *failed_step) {
    int pipefd[2];
    *failed_step = 0;
    if (pipe2(pipefd, O_CLOEXEC) != 0) return *failed_step = CBINDER_STEP_CLONE, -errno;
    int child_pidfd = -1;
    struct cbinder_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CBINDER_CONTAINER_NAMESPACES | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&child_pidfd;
    args.exit_signal = SIGCHLD;
    // No stack given: like fork, the child runs on a copy of this stack.
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        *failed_step = CBINDER_STEP_CLONE;
        return -e;
    }
    if (pid == 0) {
        int errfd = pipefd[1];
        reset_signals();
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) child_fail(errfd, CBINDER_STEP_MOUNT_PRIVATE, errno);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            child_fail(errfd, CBINDER_STEP_MOUNT_PROC, errno);
        // sysfs shows the network devices of the namespace that mounts it: a fresh one shows only lo.
        if (mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0)
            child_fail(errfd, CBINDER_STEP_MOUNT_SYS, errno);
        if (mkdir("/run/binder", 0755) != 0 && errno != EEXIST) child_fail(errfd, CBINDER_STEP_MKDIR_RUN, errno);
        if (mount(endpoint_dir, "/run/binder", NULL, MS_BIND, NULL) != 0)
            child_fail(errfd, CBINDER_STEP_BIND_ENDPOINT, errno);
        if (sethostname(hostname, strlen(hostname)) != 0) child_fail(errfd, CBINDER_STEP_HOSTNAME, errno);
        loopback_up(errfd);
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            child_fail(errfd, CBINDER_STEP_STDIO, errno);
        if (null > 2) close(null);
        // Nothing of the broker's leaks into the container (the report pipe closes on exec too).
        (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
        char *const argv[] = {(char *)"binder-init", (char *)hostname, NULL};
        char *const envp[] = {(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        execve(init_path, argv, envp);
        child_fail(errfd, CBINDER_STEP_EXEC, errno);
    }
    close(pipefd[1]);
    int err = read_child_report(pipefd[0], failed_step);
    close(pipefd[0]);
    if (err != 0) {
        siginfo_t info;
        (void)waitid(P_PIDFD, (id_t)child_pidfd, &info, WEXITED);
        close(child_pidfd);
        return err;
    }
    *pidfd = child_pidfd;
    return (int)pid;
}

int cbinder_container_exec(int pidfd, char *const argv[], char *const envp[], const char *cwd, int *failed_step) {
    int pipefd[2];
    *failed_step = 0;
    if (pipe2(pipefd, O_CLOEXEC) != 0) return *failed_step = CBINDER_STEP_FORK, -errno;
    pid_t middle = fork();
    if (middle < 0) {
        int e = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        *failed_step = CBINDER_STEP_FORK;
        return -e;
    }
    if (middle == 0) {
        int errfd = pipefd[1];
        reset_signals();
        if (setns(pidfd, CBINDER_CONTAINER_NAMESPACES) != 0) child_fail(errfd, CBINDER_STEP_SETNS, errno);
        pid_t command = fork();  // the first child made after setns(CLONE_NEWPID) is in the namespace
        if (command < 0) child_fail(errfd, CBINDER_STEP_FORK, errno);
        if (command == 0) {
            if (chdir(cwd) != 0) (void)!chdir("/");
            execvpe(argv[0], argv, envp);
            child_fail(errfd, CBINDER_STEP_EXEC, errno);
        }
        close(errfd);
        int status = 0;
        while (waitpid(command, &status, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(status)) {
            // Die the same way, so the caller sees the command's signal.
            (void)kill(getpid(), WTERMSIG(status));
            _exit(128 + WTERMSIG(status));
        }
        _exit(WEXITSTATUS(status));
    }
    close(pipefd[1]);
    int err = read_child_report(pipefd[0], failed_step);
    close(pipefd[0]);
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {}
    return err != 0 ? err : status;
}

int cbinder_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int cbinder_pidfd_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
}

void cbinder_pidfd_reap(int pidfd) {
    siginfo_t info;
    (void)waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
}

uint64_t cbinder_pidfd_netns_inode(int pidfd) {
    int ns = ioctl(pidfd, CBINDER_PIDFD_GET_NET_NAMESPACE, 0);
    if (ns < 0) return 0;
    struct stat st;
    int r = fstat(ns, &st);
    close(ns);
    return r == 0 ? (uint64_t)st.st_ino : 0;
}

uint64_t cbinder_inode(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static _Thread_local void *thread_slot;
void *cbinder_thread_slot_get(void) { return thread_slot; }
void cbinder_thread_slot_set(void *value) { thread_slot = value; }

// MARK: Network (netd): rtnetlink and IP sockets

#include <linux/netlink.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

_Static_assert(CBINDER_AF_INET == AF_INET && CBINDER_AF_INET6 == AF_INET6, "address families");
_Static_assert(CBINDER_SOCK_STREAM == SOCK_STREAM && CBINDER_SOCK_DGRAM == SOCK_DGRAM, "socket types");

int cbinder_socket_cloexec(int domain, int type, int protocol) {
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    return fd < 0 ? -errno : fd;
}

int cbinder_rtnetlink_socket(uint32_t *port_id) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    int on = 1;
    // Best effort: kernels before 4.12 (EXT_ACK) or 4.3 (CAP_ACK) refuse these, and lose only the text.
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
    struct sockaddr_nl addr;
    memset(&addr, 0, sizeof addr);
    addr.nl_family = AF_NETLINK;  // nl_pid 0: the kernel assigns a unique port id
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *port_id = addr.nl_pid;
    return fd;
}

ssize_t cbinder_netlink_send(int fd, const void *buf, size_t len) {
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t n;
    do n = sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof kernel); while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t cbinder_netlink_receive(int fd, void *buf, size_t len, uint32_t *sender_port) {
    struct sockaddr_nl from;
    socklen_t from_len;
    ssize_t n;
    do {
        memset(&from, 0, sizeof from);
        from_len = sizeof from;
        n = recvfrom(fd, buf, len, MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    *sender_port = from.nl_pid;
    return n;
}

int cbinder_join_network_namespace(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    return r == 0 ? 0 : -e;
}

int cbinder_memfd_sealed(const char *name, uint64_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int cbinder_memfd_is_shrink_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return -errno;
    return (seals & F_SEAL_SHRINK) ? 1 : 0;
}

int cbinder_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, timeout_ns < 0 ? NULL : &ts, NULL, 0);
    return r < 0 ? -errno : 0;
}

int cbinder_futex_wake(uint32_t *addr, int count) {
    long r = syscall(SYS_futex, addr, FUTEX_WAKE, count, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

void cbinder_wait_hangup(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    for (;;) {
        p.revents = 0;
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) return;
    }
}

int cbinder_dup3_cloexec(int fd, int target) { return dup3(fd, target, O_CLOEXEC); }
