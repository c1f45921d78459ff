/*
 * A minimal io_uring: ring setup and mmap, SQE preparation, submit/wait, CQE reaping, and one
 * registered buffer ring of provided receive buffers. Written by hand with raw syscalls because
 * liburing is an apt package we do not want to need at build time, and the HTTP transport uses
 * only this small part of it. Only the ring thread of the transport calls into a ring.
 * <linux/io_uring.h> comes from linux-libc-dev, which libc6-dev already pulls in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The managed side (Transport/IoUring/UringNative.cs) spells these numbers out; keep them in step. */
_Static_assert(IORING_OP_SENDMSG == 9 && IORING_OP_ACCEPT == 13 && IORING_OP_ASYNC_CANCEL == 14 &&
               IORING_OP_READ == 22 && IORING_OP_SEND == 26 && IORING_OP_RECV == 27, "io_uring opcodes");
_Static_assert(IOSQE_BUFFER_SELECT == 32 && IORING_ACCEPT_MULTISHOT == 1 && IORING_RECV_MULTISHOT == 2 &&
               IORING_CQE_F_BUFFER == 1 && IORING_CQE_F_MORE == 2 && IORING_CQE_BUFFER_SHIFT == 16, "io_uring flags");

struct bb_ring {
    int fd;
    unsigned features;
    /* submission queue */
    void *sq_map;
    size_t sq_map_len;
    _Atomic unsigned *sq_head;
    _Atomic unsigned *sq_tail;
    unsigned sq_mask;
    unsigned sq_entries;
    _Atomic unsigned *sq_flags;
    unsigned *sq_array;
    struct io_uring_sqe *sqes;
    size_t sqes_len;
    unsigned sqe_tail;   /* prepared, not yet published */
    unsigned to_submit;  /* published, not yet handed to the kernel */
    /* completion queue */
    void *cq_map;
    size_t cq_map_len;
    _Atomic unsigned *cq_head;
    _Atomic unsigned *cq_tail;
    unsigned cq_mask;
    struct io_uring_cqe *cqes;
    /* provided receive buffers */
    struct io_uring_buf_ring *buf_ring;
    size_t buf_ring_len;
    unsigned buf_entries;
    unsigned buf_size;
    unsigned short buf_group;
    unsigned short buf_tail;
    unsigned char *buf_base;
    size_t buf_base_len;
};

/* What a completion says, copied out so managed code never reads the shared ring. */
struct bb_cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};

static int sys_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags)
{
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, NULL, 0);
}

static int sys_register(int fd, unsigned op, void *arg, unsigned nr)
{
    return (int)syscall(__NR_io_uring_register, fd, op, arg, nr);
}

void bb_uring_close(struct bb_ring *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd); /* also drops the buffer ring registration */
    if (r->buf_ring != NULL)
        munmap(r->buf_ring, r->buf_ring_len);
    if (r->buf_base != NULL)
        munmap(r->buf_base, r->buf_base_len);
    if (r->sqes != NULL)
        munmap(r->sqes, r->sqes_len);
    if (r->cq_map != NULL && r->cq_map != r->sq_map)
        munmap(r->cq_map, r->cq_map_len);
    if (r->sq_map != NULL)
        munmap(r->sq_map, r->sq_map_len);
    free(r);
}

static int setup_with(unsigned entries, unsigned flags, struct io_uring_params *p)
{
    memset(p, 0, sizeof(*p));
    p->flags = flags | IORING_SETUP_CQSIZE;
    p->cq_entries = entries * 4; /* multishot recv can post many completions per submission */
    return sys_setup(entries, p);
}

/*
 * Creates a ring of `entries` SQEs with a registered buffer ring of `buf_count` (a power of two)
 * buffers of `buf_size` bytes in group `buf_group`. Returns 0, or -errno with *stage set to what
 * failed: 1 io_uring_setup, 2 mmap, 3 buffer memory, 4 buffer ring registration.
 */
int bb_uring_open(unsigned entries, unsigned buf_count, unsigned buf_size, unsigned short buf_group,
                  struct bb_ring **out, int *stage)
{
    *out = NULL;
    *stage = 1;
    struct bb_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->fd = -1;

    struct io_uring_params p;
    /* One thread submits and reaps, so the kernel may defer its task work until we wait. */
    int fd = setup_with(entries, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, &p);
    if (fd < 0 && errno == EINVAL)
        fd = setup_with(entries, IORING_SETUP_SUBMIT_ALL, &p);
    if (fd < 0) {
        int e = errno;
        free(r);
        return -e;
    }
    r->fd = fd;
    r->features = p.features;

    *stage = 2;
    r->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    r->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        if (r->cq_map_len > r->sq_map_len)
            r->sq_map_len = r->cq_map_len;
        r->cq_map_len = r->sq_map_len;
    }
    r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (r->sq_map == MAP_FAILED) {
        int e = errno;
        r->sq_map = NULL;
        bb_uring_close(r);
        return -e;
    }
    if (p.features & IORING_FEAT_SINGLE_MMAP) {
        r->cq_map = r->sq_map;
    } else {
        r->cq_map = mmap(NULL, r->cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (r->cq_map == MAP_FAILED) {
            int e = errno;
            r->cq_map = NULL;
            bb_uring_close(r);
            return -e;
        }
    }
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) {
        int e = errno;
        r->sqes = NULL;
        bb_uring_close(r);
        return -e;
    }
    unsigned char *sq = r->sq_map, *cq = r->cq_map;
    r->sq_head = (_Atomic unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_entries = p.sq_entries;
    r->sq_flags = (_Atomic unsigned *)(sq + p.sq_off.flags);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; i++)
        r->sq_array[i] = i; /* SQE slots are used in ring order */
    r->sqe_tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
    r->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

    *stage = 3;
    r->buf_entries = buf_count;
    r->buf_size = buf_size;
    r->buf_group = buf_group;
    r->buf_ring_len = buf_count * sizeof(struct io_uring_buf);
    r->buf_ring = mmap(NULL, r->buf_ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r->buf_base_len = (size_t)buf_count * buf_size;
    r->buf_base = mmap(NULL, r->buf_base_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->buf_ring == MAP_FAILED || r->buf_base == MAP_FAILED) {
        int e = errno;
        if (r->buf_ring == MAP_FAILED) r->buf_ring = NULL;
        if (r->buf_base == MAP_FAILED) r->buf_base = NULL;
        bb_uring_close(r);
        return -e;
    }

    *stage = 4;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)r->buf_ring;
    reg.ring_entries = buf_count;
    reg.bgid = buf_group;
    if (sys_register(fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) {
        int e = errno;
        bb_uring_close(r);
        return -e;
    }
    for (unsigned bid = 0; bid < buf_count; bid++) {
        struct io_uring_buf *b = &r->buf_ring->bufs[bid];
        b->addr = (uint64_t)(uintptr_t)(r->buf_base + (size_t)bid * buf_size);
        b->len = buf_size;
        b->bid = (unsigned short)bid;
    }
    r->buf_tail = (unsigned short)buf_count;
    atomic_store_explicit((_Atomic unsigned short *)&r->buf_ring->tail, r->buf_tail, memory_order_release);
    *stage = 0;
    *out = r;
    return 0;
}

/* Publishes prepared SQEs to the kernel's view of the queue. */
static void publish(struct bb_ring *r)
{
    unsigned tail = atomic_load_explicit(r->sq_tail, memory_order_relaxed);
    if (tail != r->sqe_tail) {
        r->to_submit += r->sqe_tail - tail;
        atomic_store_explicit(r->sq_tail, r->sqe_tail, memory_order_release);
    }
}

/*
 * Submits what is prepared and, when min_complete > 0, waits for that many completions.
 * Returns the number submitted or -errno (EINTR is retried; EBUSY/EAGAIN mean "reap first").
 */
int bb_uring_enter(struct bb_ring *r, unsigned min_complete)
{
    publish(r);
    /* GETEVENTS even without waiting: with DEFER_TASKRUN that is when completions get posted. */
    unsigned flags = IORING_ENTER_GETEVENTS;
    for (;;) {
        int n = sys_enter(r->fd, r->to_submit, min_complete, flags);
        if (n >= 0) {
            r->to_submit -= (unsigned)n < r->to_submit ? (unsigned)n : r->to_submit;
            return n;
        }
        if (errno != EINTR)
            return -errno;
        if (min_complete > 0)
            return 0; /* a signal woke us: let the caller look at its queues */
    }
}

/*
 * Prepares one SQE. When the queue is full, what is queued is submitted first. Returns 0 or -errno.
 */
int bb_uring_prep(struct bb_ring *r, unsigned char opcode, int fd, uint64_t addr, uint32_t len, uint64_t off,
                  uint32_t op_flags, uint16_t ioprio, unsigned char sqe_flags, uint16_t buf_group, uint64_t user_data)
{
    unsigned head = atomic_load_explicit(r->sq_head, memory_order_acquire);
    if (r->sqe_tail - head >= r->sq_entries) {
        int n = bb_uring_enter(r, 0);
        if (n < 0)
            return n;
        head = atomic_load_explicit(r->sq_head, memory_order_acquire);
        if (r->sqe_tail - head >= r->sq_entries)
            return -EBUSY;
    }
    struct io_uring_sqe *sqe = &r->sqes[r->sqe_tail & r->sq_mask];
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = opcode;
    sqe->flags = sqe_flags;
    sqe->ioprio = ioprio;
    sqe->fd = fd;
    sqe->off = off;
    sqe->addr = addr;
    sqe->len = len;
    sqe->rw_flags = (int)op_flags;
    sqe->buf_group = buf_group;
    sqe->user_data = user_data;
    r->sqe_tail++;
    return 0;
}

/* Copies up to `max` completions out and frees their slots. Returns how many. */
int bb_uring_reap(struct bb_ring *r, struct bb_cqe *out, int max)
{
    unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
    unsigned tail = atomic_load_explicit(r->cq_tail, memory_order_acquire);
    int n = 0;
    while (head != tail && n < max) {
        struct io_uring_cqe *c = &r->cqes[head & r->cq_mask];
        out[n].user_data = c->user_data;
        out[n].res = c->res;
        out[n].flags = c->flags;
        n++;
        head++;
    }
    atomic_store_explicit(r->cq_head, head, memory_order_release);
    return n;
}

/* Whether the kernel has dropped completions it could not post (the CQ overflowed). */
int bb_uring_cq_overflowed(struct bb_ring *r)
{
    return (atomic_load_explicit(r->sq_flags, memory_order_relaxed) & IORING_SQ_CQ_OVERFLOW) != 0;
}

unsigned char *bb_uring_buffers(struct bb_ring *r)
{
    return r->buf_base;
}

/* Hands a provided buffer back to the kernel; visible after bb_uring_buf_publish. */
void bb_uring_buf_recycle(struct bb_ring *r, unsigned short bid)
{
    struct io_uring_buf *b = &r->buf_ring->bufs[r->buf_tail & (r->buf_entries - 1)];
    b->addr = (uint64_t)(uintptr_t)(r->buf_base + (size_t)bid * r->buf_size);
    b->len = r->buf_size;
    b->bid = bid;
    r->buf_tail++;
}

void bb_uring_buf_publish(struct bb_ring *r)
{
    atomic_store_explicit((_Atomic unsigned short *)&r->buf_ring->tail, r->buf_tail, memory_order_release);
}
