// The few GNU/Linux calls and macros Swift's Glibc module does not expose (it is built without
// _GNU_SOURCE). Plain prototypes and literal constants only; the definitions live in shims.c.
#ifndef CBINDER_SHIMS_H
#define CBINDER_SHIMS_H
#include <stdint.h>
#include <sys/types.h>
#include <spawn.h>

/// Socket constants with literal values (the Glibc overlay imports them differently per build mode).
enum {
    CBINDER_AF_UNIX = 1,
    CBINDER_SOCK_SEQPACKET = 5,
    CBINDER_SOCK_CLOEXEC = 02000000,
    CBINDER_MSG_TRUNC = 0x20,
    CBINDER_MSG_CTRUNC = 0x08,
    CBINDER_MSG_NOSIGNAL = 0x4000,
    CBINDER_SHUT_RDWR = 2,
};
/// socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0). Returns the fd or -errno.
int cbinder_seqpacket_socket(void);

/// SO_PEERCRED: pid, uid, gid of a connected AF_UNIX peer. Returns 0 or -errno.
int cbinder_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
/// SO_PEERPIDFD (Linux 6.5+): a pidfd for the peer. Returns the fd or -errno.
int cbinder_peer_pidfd(int fd);
/// Blocks SIGINT and SIGTERM in the calling thread (and threads it creates later) and returns a
/// signalfd that reads them, close-on-exec. Returns the fd or -errno.
int cbinder_signalfd_term(void);
/// Size of struct signalfd_siginfo, and the signal number at its start.
enum { CBINDER_SIGNALFD_SIGINFO_SIZE = 128 };
/// Pins the thread/process `pid` (0 = caller) to one CPU. Returns 0 or -errno.
int cbinder_pin_to_cpu(pid_t pid, int cpu);
/// Reads the affinity of `pid` as a bit mask of the first 64 CPUs (0 on error).
uint64_t cbinder_get_affinity(pid_t pid);
/// Sets the affinity of `pid` from a bit mask of the first 64 CPUs. Returns 0 or -errno.
int cbinder_set_affinity(pid_t pid, uint64_t mask);
/// accept4 with SOCK_CLOEXEC. Returns the fd or -errno.
int cbinder_accept_cloexec(int fd);
/// sendmsg of up to three iovecs plus optional SCM_RIGHTS fds. Returns bytes sent or -errno.
ssize_t cbinder_send3(int fd, const void *a, size_t alen, const void *b, size_t blen, const void *c,
                      size_t clen, const int *fds, int nfds, int flags);
/// recvmsg scattered over two buffers (a frame header, then the body; `blen` 0 for one buffer),
/// collecting up to `maxfds` SCM_RIGHTS fds (close-on-exec) into `fds`. Returns the message length
/// or -errno; `*msg_flags` gets the kernel's flags (MSG_TRUNC, MSG_CTRUNC). `dont_wait`: MSG_DONTWAIT
/// (-EAGAIN when nothing is queued).
ssize_t cbinder_recv2_fds(int fd, void *a, size_t alen, void *b, size_t blen, int *fds, int maxfds, int *nfds, int *msg_flags,
                          int dont_wait);
/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). Returns 0 or -errno.
int cbinder_seqpacket_pair(int sv[2]);
/// pthread_setname_np.
int cbinder_set_thread_name(unsigned long thread, const char *name);
/// pipe2(O_CLOEXEC). Returns 0 or -errno.
int cbinder_pipe_cloexec(int fds[2]);
/// Initializes `attr` so a spawned child starts with no blocked signals and default dispositions
/// (a parent may block or ignore signals, e.g. a test runner). Returns 0 or an errno.
int cbinder_spawnattr_init_clean(posix_spawnattr_t *attr);
/// memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), sized to `size` with ftruncate, then sealed
/// against shrinking, growing and further sealing. Returns the fd or -errno.
int cbinder_memfd_sealed(const char *name, uint64_t size);
/// Whether `fd` is sealed against shrinking (F_SEAL_SHRINK): 1 yes, 0 no, -errno on error.
int cbinder_memfd_is_shrink_sealed(int fd);
/// FUTEX_WAIT (shared, not private: the word may be in memory mapped by another process) while
/// `*addr == expected`, for at most `timeout_ns` (negative: no time-out). Returns 0 or -errno
/// (EAGAIN: the value differed; ETIMEDOUT; EINTR).
int cbinder_futex_wait(uint32_t *addr, uint32_t expected, int64_t timeout_ns);
/// FUTEX_WAKE (shared): wakes up to `count` waiters. Returns the number woken or -errno.
int cbinder_futex_wake(uint32_t *addr, int count);
/// poll(fd, POLLRDHUP) until the peer hangs up or the socket fails (data arriving does not end it).
void cbinder_wait_hangup(int fd);

/// dup3(fd, target, O_CLOEXEC): glibc declares it only under _GNU_SOURCE. -1 with errno on failure.
int cbinder_dup3_cloexec(int fd, int target);
/// The process's number of CPUs available.
int cbinder_cpu_count(void);

// MARK: Containers (fork → unshare → exec, done in C because only async-signal-safe calls may run
// between fork and exec in a multithreaded process, and namespaces belong to a thread, not a process)

/// The namespaces a container has of its own: mount, UTS, IPC, network, PID.
enum { CBINDER_CONTAINER_NAMESPACES = 0x20000 | 0x04000000 | 0x08000000 | 0x40000000 | 0x20000000 };

/// Steps of container set-up, reported by `cbinder_container_spawn` in `*failed_step`.
enum {
    CBINDER_STEP_CLONE = 1, CBINDER_STEP_MOUNT_PRIVATE, CBINDER_STEP_MOUNT_PROC, CBINDER_STEP_MKDIR_RUN,
    CBINDER_STEP_BIND_ENDPOINT, CBINDER_STEP_HOSTNAME, CBINDER_STEP_LOOPBACK, CBINDER_STEP_STDIO,
    CBINDER_STEP_EXEC, CBINDER_STEP_SETNS, CBINDER_STEP_FORK, CBINDER_STEP_MOUNT_SYS,
};

/// Starts a container: clone3 into new mount/UTS/IPC/network/PID namespaces (the child is PID 1),
/// then in the child: mounts private, a fresh /proc and (read-only) /sys, `endpoint_dir` bound onto `/run/binder`,
/// hostname, loopback up, stdio on /dev/null, every other fd close-on-exec, and exec of
/// `init_path` (argv: "binder-init", hostname). Returns the pid (in the caller's PID namespace) with
/// a pidfd in `*pidfd`, or -errno with the step that failed in `*failed_step`.
int cbinder_container_spawn(const char *hostname, const char *endpoint_dir, const char *init_path, int *pidfd,
                            int *failed_step);

/// Runs `argv` (PATH searched) inside the container whose PID 1 is `pidfd`: forks, joins all of
/// its namespaces, forks again (to enter the PID namespace), changes to `cwd` (or / when it does not
/// exist there) and execs with `envp`. Waits for it. Returns its wait status (>= 0), or -errno with
/// the step that failed (set-up or exec, e.g. ENOENT for a command not found) in `*failed_step`.
int cbinder_container_exec(int pidfd, char *const argv[], char *const envp[], const char *cwd, int *failed_step);

/// pidfd_open(pid, 0). Returns the fd (close-on-exec) or -errno.
int cbinder_pidfd_open(pid_t pid);
/// pidfd_send_signal(pidfd, sig). Returns 0 or -errno.
int cbinder_pidfd_signal(int pidfd, int sig);
/// Reaps the exited process behind `pidfd` if it is the caller's child (waitid P_PIDFD, WNOHANG).
void cbinder_pidfd_reap(int pidfd);
/// The inode of the network namespace of the process behind `pidfd` (PIDFD_GET_NET_NAMESPACE),
/// or 0 with errno set.
uint64_t cbinder_pidfd_netns_inode(int pidfd);
/// The inode of `path` (stat, following links), or 0.
uint64_t cbinder_inode(const char *path);

/// One pointer per thread for the client runtime (the calls a thread is serving, on its stack):
/// C11 `_Thread_local`, which Swift cannot declare.
void *cbinder_thread_slot_get(void);
void cbinder_thread_slot_set(void *value);

// MARK: Network (netd): rtnetlink and IP sockets

/// Address families and socket types with literal values (kernel ABI), as above.
enum {
    CBINDER_AF_INET = 2,
    CBINDER_AF_INET6 = 10,
    CBINDER_SOCK_STREAM = 1,
    CBINDER_SOCK_DGRAM = 2,
};
/// socket(domain, type | SOCK_CLOEXEC, protocol). Returns the fd or -errno.
int cbinder_socket_cloexec(int domain, int type, int protocol);
/// A NETLINK_ROUTE socket, close-on-exec, bound to a port id the kernel picks (returned in
/// `*port_id`), with extended acknowledgements (the kernel's error text) and capped ones (an error
/// does not echo the whole request) where the kernel has them. Returns the fd or -errno.
int cbinder_rtnetlink_socket(uint32_t *port_id);
/// Sends one netlink message to the kernel (port 0). Returns the byte count or -errno (EINTR retried).
ssize_t cbinder_netlink_send(int fd, const void *buf, size_t len);
/// Receives one netlink datagram into `buf`. Returns its full length (more than `len` when it was
/// truncated: MSG_TRUNC) or -errno (EINTR retried); `*sender_port` is the sender's port id (0: the kernel).
ssize_t cbinder_netlink_receive(int fd, void *buf, size_t len, uint32_t *sender_port);
/// Moves the calling thread (only) into the network namespace at `path` (/run/netns/NAME,
/// /proc/PID/ns/net): open + setns(CLONE_NEWNET). Returns 0 or -errno.
int cbinder_join_network_namespace(const char *path);
#endif
