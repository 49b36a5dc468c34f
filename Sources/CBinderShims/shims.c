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

ssize_t cbinder_recv2_fds(int fd, void *a, size_t alen, void *b, size_t blen, int *fds, int maxfds, int *nfds, int *msg_flags) {
    struct iovec iov[2] = {{a, alen}, {b, blen}};
    char control[CMSG_SPACE(sizeof(int) * 64)];
    struct msghdr msg = {0};
    msg.msg_iov = iov;
    msg.msg_iovlen = blen ? 2 : 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
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
