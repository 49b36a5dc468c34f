// liburing for Swift. Include order matters:
// <features.h> first avoids an fd_set clash with SwiftGlibc; <linux/io_uring.h> before <liburing.h>
// keeps one copy of the uapi types for modules that also import swift-system.
#ifndef CURING_SHIM_H
#define CURING_SHIM_H
#include <features.h>
#include <linux/io_uring.h>
#include <liburing.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

// CMSG_* are macros Swift cannot import: walk the control data of a multishot recvmsg
// buffer and copy out SCM_RIGHTS fds. Returns the number of fds copied (extra fds are closed).
static inline int curing_recvmsg_fds(struct io_uring_recvmsg_out *out, struct msghdr *msgh, int *fds, int max) {
    int n = 0;
    struct cmsghdr *cmsg = io_uring_recvmsg_cmsg_firsthdr(out, msgh);
    for (; cmsg != NULL; cmsg = io_uring_recvmsg_cmsg_nexthdr(out, msgh, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *data = (int *)CMSG_DATA(cmsg);
        for (int i = 0; i < count; i++) {
            if (n < max) fds[n++] = data[i];
            else close(data[i]);
        }
    }
    return n;
}

// IOSQE_* are macros over enum bits; give Swift plain constants.
static const unsigned char CURING_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;
static const unsigned int CURING_CQE_F_BUFFER = IORING_CQE_F_BUFFER;
static const unsigned int CURING_CQE_F_MORE = IORING_CQE_F_MORE;
static const unsigned int CURING_CQE_BUFFER_SHIFT = IORING_CQE_BUFFER_SHIFT;
static const unsigned int CURING_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
static const unsigned int CURING_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;
static const unsigned int CURING_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;

static inline unsigned int curing_cmsg_space(unsigned int bytes) { return CMSG_SPACE(bytes); }

// Points `msgh` at one iovec and, when nfds > 0, an SCM_RIGHTS control message in `control`
// (which must hold CMSG_SPACE(nfds * sizeof(int)) bytes).
static inline void curing_fill_message(struct msghdr *msgh, struct iovec *iov, const void *buf, size_t len,
                                       void *control, const int *fds, int nfds) {
    memset(msgh, 0, sizeof *msgh);
    iov->iov_base = (void *)buf;
    iov->iov_len = len;
    msgh->msg_iov = iov;
    msgh->msg_iovlen = 1;
    if (nfds <= 0) return;
    memset(control, 0, CMSG_SPACE(sizeof(int) * nfds));
    msgh->msg_control = control;
    msgh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(msgh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

static const int CURING_MSG_CMSG_CLOEXEC = MSG_CMSG_CLOEXEC;
#endif
