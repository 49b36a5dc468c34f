/*
 * relay_uring.c: the "C relay" baseline (relay.c) with the relay's event loop
 * on io_uring, i.e. what a minimal one-thread io_uring broker costs. Same three
 * processes, same SOCK_SEQPACKET socketpairs, same client and server:
 *
 *   client <--a--> relay <--b--> server
 *
 * The client sends one SIZE-byte request and waits for the reply; the server
 * echoes. The relay is one thread with one ring: a multishot recv with
 * provided buffers (a registered buffer ring, one BENCH_MAX_SIZE buffer per
 * message) is armed on each socket, and every received message is sent on to
 * the other socket straight from its buffer, which goes back to the buffer
 * ring when the send completes. The sends of one wake-up (every completion
 * reaped from one io_uring_submit_and_wait) go out in one submit, with the
 * next wait. relay.c instead does one recv and one blocking send per
 * readable socket from a level-triggered epoll loop.
 *
 *   cc -O2 relay_uring.c -luring
 *   relay_uring --size 32 --seconds 3 --pin same|cross|any [--inflight N]
 *
 * With --inflight N (2..256) the client keeps N requests outstanding (one
 * more sent for every reply) and the result, named c_relay_uring_inflightN,
 * reports the calls per second that window sustains and each request's
 * latency; with one in flight it is named c_relay_uring.
 *
 * Why: the broker under test, binderd, is an io_uring program (multishot
 * receives into a provided buffer ring, sends through the ring, one thread,
 * SINGLE_ISSUER | DEFER_TASKRUN), so this is its like-for-like C floor;
 * relay.c is the classic epoll floor. Like binderd, the relay keeps only a
 * few buffers posted in the ring and reposts the most recently freed ones
 * first, so messages land in cache-warm buffers rather than cycling through
 * every buffer (the kernel takes them in FIFO order), and it waits for one
 * completion at a time. There are twice the window's buffers (at least 16),
 * of BENCH_MAX_SIZE (1 MiB) each, in address space reserved with
 * MAP_NORESERVE: only the bytes messages fill are ever touched.
 *
 * Order: messages go out to each socket in the order they came in. A
 * socket's next batch of sends goes out only once its previous batch has
 * completed, and within a batch a send may not overtake an earlier one that
 * has to wait for socket space: when the destination's send buffer provably
 * has room for the whole batch (SIOCOUTQ, one ioctl per batch of two or
 * more; the relay is that socket's only writer, so the room only grows) the
 * sends go unlinked, otherwise they are linked (IOSQE_IO_LINK; each linked
 * send then runs from task work after the previous one, which measured
 * ~10-20% of pipelined throughput here, hence not always). A send completing
 * out of order would end the run with an error.
 *
 * Placement: same = all three on CPU 0; cross = client and server on CPU 0,
 * relay on CPU 1 (every hop crosses CPUs).
 */
#include "relay_common.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <liburing.h>
#include <linux/sockios.h> /* SIOCOUTQ */

#define RING_ENTRIES 256     /* submission queue: a whole window's sends */
#define RING_CQ_ENTRIES 1024 /* completion queue: room for a whole window's receives */
#define BUF_GROUP 0
#define MIN_POSTED 8         /* buffers kept in the ring at least (as binderd) */

/*
 * user_data: bit 0 set for a send (else a multishot recv), bit 1 the side
 * (0 = client socket, 1 = server socket; for a send, the destination); for a
 * send, the buffer id in bits 2..17, the send's sequence number to that
 * socket (mod 2^14) in bits 18..31 and the length in bits 32..63, so a send's
 * completion names the buffer to give back (no table needed).
 */
#define UD_SEND 1ull
#define SEQ_MASK 0x3fffu

static inline uint64_t recv_ud(int side) { return (uint64_t)side << 1; }

static inline uint64_t send_ud(int side, unsigned bid, unsigned seq, unsigned len)
{
    return UD_SEND | (uint64_t)side << 1 | (uint64_t)bid << 2 |
           (uint64_t)(seq & SEQ_MASK) << 18 | (uint64_t)len << 32;
}

struct queued {
    uint16_t bid;
    uint32_t len;
};

struct relay {
    struct io_uring ring;
    int fd[2]; /* 0: client side, 1: server side */

    /* Provided buffers: nbufs of BENCH_MAX_SIZE bytes, group BUF_GROUP. */
    struct io_uring_buf_ring *br;
    char *storage;
    unsigned nbufs, mask;
    uint16_t *free_stack; /* returned buffers not in the ring, most recent last */
    unsigned nfree;
    unsigned posted; /* in the ring, not taken by the kernel yet */
    unsigned taken;  /* taken by the kernel since the last replenish */

    /* Per side. */
    int armed[2];               /* multishot recv active */
    unsigned sending[2];        /* sends to fd[i] submitted, completion not seen */
    int sndbuf[2];              /* SO_SNDBUF of fd[i] */
    unsigned sent_seq[2];       /* sends to fd[i] submitted */
    unsigned done_seq[2];       /* sends to fd[i] completed */
    struct queued *queue[2];    /* received messages waiting to go to fd[i] */
    unsigned qhead[2], qtail[2];
};

static inline void die_res(const char *what, int res)
{
    errno = res < 0 ? -res : EPROTO;
    die(what);
}

static inline char *buffer(struct relay *r, unsigned bid)
{
    return r->storage + (size_t)bid * BENCH_MAX_SIZE;
}

static struct io_uring_sqe *get_sqe(struct relay *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
        if (!sqe)
            die_res("io_uring_get_sqe", -EBUSY);
    }
    return sqe;
}

/*
 * Tops the buffer ring up, most recently freed buffers first, to twice the
 * last burst of receives (at least MIN_POSTED).
 */
static void replenish(struct relay *r)
{
    unsigned want = 2 * r->taken;
    if (want < MIN_POSTED)
        want = MIN_POSTED;
    if (want > r->nbufs)
        want = r->nbufs;
    r->taken = 0;
    int added = 0;
    while (r->posted < want && r->nfree > 0) {
        uint16_t bid = r->free_stack[--r->nfree];
        io_uring_buf_ring_add(r->br, buffer(r, bid), BENCH_MAX_SIZE, bid, (int)r->mask, added);
        added++;
        r->posted++;
    }
    if (added)
        io_uring_buf_ring_advance(r->br, added);
}

static void setup_buffers(struct relay *r, unsigned nbufs)
{
    r->nbufs = nbufs;
    r->mask = (unsigned)io_uring_buf_ring_mask(nbufs);
    size_t ring_bytes = nbufs * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap buffer ring");
    r->br = mem;
    /* Reserved address space; only the buffers in use (and only the bytes
     * messages fill) are ever touched. */
    mem = mmap(NULL, (size_t)nbufs * BENCH_MAX_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap buffers");
    r->storage = mem;

    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)r->br,
        .ring_entries = nbufs,
        .bgid = BUF_GROUP,
    };
    int ret = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (ret < 0)
        die_res("io_uring_register_buf_ring", ret);
    io_uring_buf_ring_init(r->br);

    r->free_stack = malloc(nbufs * sizeof *r->free_stack);
    r->queue[0] = malloc(nbufs * sizeof *r->queue[0]);
    r->queue[1] = malloc(nbufs * sizeof *r->queue[1]);
    if (!r->free_stack || !r->queue[0] || !r->queue[1])
        die("malloc");
    for (unsigned i = 0; i < nbufs; i++)
        r->free_stack[i] = (uint16_t)(nbufs - 1 - i); /* buffer 0 on top */
    r->nfree = nbufs;
    r->posted = r->taken = 0;
    replenish(r);
}

static void arm_recv(struct relay *r, int side)
{
    struct io_uring_sqe *sqe = get_sqe(r);
    io_uring_prep_recv_multishot(sqe, r->fd[side], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, recv_ud(side));
    r->armed[side] = 1;
}

/*
 * Whether sending n queued messages to fd[to] cannot block: a send blocks
 * only when the bytes its socket has queued (skb truesize, at most about
 * 2 * len + 4 KiB a message) reach SO_SNDBUF before it.
 */
static int batch_fits(struct relay *r, int to, unsigned n)
{
    uint64_t need = 0;
    for (unsigned i = 0; i + 1 < n; i++)
        need += 2ull * r->queue[to][(r->qhead[to] + i) & r->mask].len + 4096;
    int outq;
    if (ioctl(r->fd[to], SIOCOUTQ, &outq) != 0)
        die("SIOCOUTQ");
    return (uint64_t)outq + need < (uint64_t)r->sndbuf[to];
}

/*
 * Sends what waits for fd[to] as one batch, unless the previous batch to
 * fd[to] is still in flight (then it goes once that one has completed); the
 * batch is linked when a send in it might have to wait.
 */
static void flush_sends(struct relay *r, int to)
{
    if (r->sending[to] > 0)
        return;
    unsigned n = r->qtail[to] - r->qhead[to];
    unsigned space = io_uring_sq_space_left(&r->ring);
    if (n > space)
        n = space; /* the rest goes with the next batch */
    int link = n > 1 && !batch_fits(r, to, n);
    for (unsigned i = 0; i < n; i++) {
        struct queued q = r->queue[to][r->qhead[to]++ & r->mask];
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        io_uring_prep_send(sqe, r->fd[to], buffer(r, q.bid), q.len, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, send_ud(to, q.bid, r->sent_seq[to]++, q.len));
        if (link && i + 1 < n)
            sqe->flags |= IOSQE_IO_LINK;
    }
    r->sending[to] = n;
}

/* Handles one completion; returns 1 when a peer has closed. */
static int complete(struct relay *r, const struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    int side = (int)(ud >> 1) & 1;
    int res = cqe->res;

    if (ud & UD_SEND) {
        unsigned bid = (unsigned)(ud >> 2) & 0xffff;
        unsigned len = (unsigned)(ud >> 32);
        if (res != (int)len)
            die_res("relay send", res);
        if (((ud >> 18) & SEQ_MASK) != (r->done_seq[side]++ & SEQ_MASK)) {
            fprintf(stderr, "relay: a send to the %s completed out of order\n",
                    side ? "server" : "client");
            exit(1);
        }
        r->free_stack[r->nfree++] = (uint16_t)bid;
        r->sending[side]--;
        return 0;
    }

    if (!(cqe->flags & IORING_CQE_F_MORE))
        r->armed[side] = 0; /* re-armed after this batch */
    if (res > 0) {
        if (!(cqe->flags & IORING_CQE_F_BUFFER))
            die_res("relay recv without a buffer", -EPROTO);
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        r->posted--;
        r->taken++;
        int to = !side;
        r->queue[to][r->qtail[to]++ & r->mask] = (struct queued){.bid = (uint16_t)bid, .len = (uint32_t)res};
        return 0;
    }
    if (res == 0)
        return 1; /* peer closed */
    if (res == -ENOBUFS)
        return 0; /* every posted buffer taken: re-armed once some are back */
    die_res("relay recv", res);
    return 1;
}

/*
 * Relay: forward each message from one socket to the other. Returns when
 * either side hangs up (the client closing ends the run).
 */
static void relay_loop(int client_fd, int server_fd, char *buf, int inflight)
{
    (void)buf; /* messages land in the provided buffer ring */
    struct relay *r = calloc(1, sizeof *r);
    if (!r)
        die("calloc");
    r->fd[0] = client_fd;
    r->fd[1] = server_fd;
    for (int i = 0; i < 2; i++) {
        socklen_t len = sizeof r->sndbuf[i];
        if (getsockopt(r->fd[i], SOL_SOCKET, SO_SNDBUF, &r->sndbuf[i], &len) != 0)
            die("SO_SNDBUF");
    }

    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = RING_CQ_ENTRIES;
    int ret = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
    if (ret == -EINVAL) { /* kernel before 6.1 */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = RING_CQ_ENTRIES;
        ret = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
    }
    if (ret < 0)
        die_res("io_uring_queue_init_params", ret);

    /* Every message in the window may sit in a buffer, plus those whose
     * send has completed but whose completion is not reaped yet. */
    unsigned nbufs = 16;
    while (nbufs < 2u * (unsigned)inflight)
        nbufs *= 2;
    setup_buffers(r, nbufs);

    arm_recv(r, 0);
    arm_recv(r, 1);
    for (;;) {
        ret = io_uring_submit_and_wait(&r->ring, 1);
        if (ret < 0) {
            if (ret == -EINTR)
                continue;
            die_res("io_uring_submit_and_wait", ret);
        }
        unsigned head, seen = 0;
        int closed = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&r->ring, head, cqe) {
            seen++;
            if (complete(r, cqe)) {
                closed = 1;
                break;
            }
        }
        io_uring_cq_advance(&r->ring, seen);
        if (closed)
            break;
        replenish(r);
        for (int s = 0; s < 2; s++)
            if (!r->armed[s] && r->posted > 0)
                arm_recv(r, s);
        flush_sends(r, 0);
        flush_sends(r, 1);
    }
    /* The ring's armed receives hold references to the sockets; shutting
     * them down tells the server now rather than when the ring is torn down. */
    shutdown(client_fd, SHUT_RDWR);
    shutdown(server_fd, SHUT_RDWR);
    io_uring_queue_exit(&r->ring);
}

/* ---- client and server: as relay.c ---- */

int main(int argc, char **argv)
{
    return run_relay(argc, argv, "c_relay_uring", relay_loop);
}
