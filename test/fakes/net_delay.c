/* net_delay QUEUE_NUM DELAY_MS
 *
 * Holds every packet netfilter queues to QUEUE_NUM for DELAY_MS
 * milliseconds, then accepts it: a link with that much latency in one
 * direction, for measuring what round trips cost. Runs until SIGTERM or
 * SIGINT, then accepts whatever it still holds and exits 0.
 *
 *   iptables-legacy -t mangle -A OUTPUT -p tcp --sport 3306 \
 *       -j NFQUEUE --queue-num 7 --queue-bypass
 *   build/net_delay 7 5
 *
 * (--queue-bypass: while no program listens on the queue, packets pass
 * untouched instead of being dropped.)
 *
 * Every packet gets the same delay, so the order they arrive in is the
 * order they fall due: a FIFO ring of (packet id, due time) is the whole
 * schedule, and packets leave in the order they came. One thread, one poll
 * loop: it reads whatever the kernel queued, then issues the verdicts that
 * are due, and sleeps until the next is due or a packet arrives, so a held
 * packet never blocks the ones behind it. Should the ring fill (more than
 * HELD_MAX packets in flight), the oldest is accepted early rather than
 * dropped; with fail-open set on the queue, the kernel too accepts rather
 * than drops when its own queue is full. */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define HELD_MAX 65536           /* a power of two */
#define KERNEL_QUEUE_MAX 16384   /* packets the kernel may queue for us */
#define RCVBUF_BYTES (8u << 20)  /* netlink receive buffer */
#define DELAY_MS_MAX 60000

struct held {
    uint32_t id;
    int64_t due_ns;
};

struct delay {
    struct nfq_q_handle *qh;
    int64_t delay_ns;
    struct held ring[HELD_MAX];
    size_t head, len; /* head: the oldest */
    unsigned long early;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int accept_packet(struct delay *d, uint32_t id) {
    if (nfq_set_verdict(d->qh, id, NF_ACCEPT, 0, NULL) < 0) {
        perror("net_delay: nfq_set_verdict");
        return -1;
    }
    return 0;
}

static int release_oldest(struct delay *d) {
    uint32_t id = d->ring[d->head].id;
    d->head = (d->head + 1) & (HELD_MAX - 1);
    d->len--;
    return accept_packet(d, id);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
    (void)qh;
    (void)msg;
    struct delay *d = data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph)
        return 0;
    if (d->len == HELD_MAX) {
        d->early++;
        if (release_oldest(d) < 0)
            return -1;
    }
    d->ring[(d->head + d->len) & (HELD_MAX - 1)] = (struct held){ntohl(ph->packet_id), now_ns() + d->delay_ns};
    d->len++;
    return 0;
}

static int release_due(struct delay *d, int64_t now) {
    while (d->len > 0 && d->ring[d->head].due_ns <= now)
        if (release_oldest(d) < 0)
            return -1;
    return 0;
}

/* How long until the oldest held packet is due, into *ts (to the
 * nanosecond: a millisecond poll would add up to 1 ms to every delay);
 * NULL when none is held (wait for packets only). */
static const struct timespec *wait_for(const struct delay *d, int64_t now, struct timespec *ts) {
    if (d->len == 0)
        return NULL;
    int64_t left = d->ring[d->head].due_ns - now;
    if (left < 0)
        left = 0;
    ts->tv_sec = (time_t)(left / 1000000000);
    ts->tv_nsec = (long)(left % 1000000000);
    return ts;
}

/* Everything the kernel has queued for us by now, without waiting. */
static int read_queued(struct nfq_handle *h, int fd) {
    char buf[65536] __attribute__((aligned));
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            nfq_handle_packet(h, buf, (int)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        if (n < 0 && errno == ENOBUFS) { /* the kernel dropped messages: go on */
            fprintf(stderr, "net_delay: netlink receive buffer overrun\n");
            continue;
        }
        perror("net_delay: recv");
        return -1;
    }
}

static int parse_long(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int run(struct nfq_handle *h, struct delay *d) {
    int fd = nfq_fd(h);
    while (!stopping) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct timespec ts;
        int rc = ppoll(&p, 1, wait_for(d, now_ns(), &ts), NULL);
        if (rc < 0 && errno != EINTR) {
            perror("net_delay: ppoll");
            return -1;
        }
        if (rc > 0 && read_queued(h, fd) < 0)
            return -1;
        if (release_due(d, now_ns()) < 0)
            return -1;
    }
    while (d->len > 0) /* nothing held is lost on the way out */
        if (release_oldest(d) < 0)
            return -1;
    return 0;
}

int main(int argc, char **argv) {
    long queue, delay_ms;
    int status = 1;
    struct nfq_handle *h = NULL;
    struct delay *d = NULL;
    if (argc != 3 || parse_long(argv[1], 0, 65535, &queue) < 0 ||
        parse_long(argv[2], 0, DELAY_MS_MAX, &delay_ms) < 0) {
        fprintf(stderr, "usage: net_delay QUEUE_NUM DELAY_MS   (queue 0..65535, delay 0..%d ms)\n", DELAY_MS_MAX);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    d = calloc(1, sizeof(*d));
    if (!d) {
        perror("net_delay: calloc");
        goto out;
    }
    d->delay_ns = (int64_t)delay_ms * 1000000;
    h = nfq_open();
    if (!h) {
        perror("net_delay: nfq_open");
        goto out;
    }
    d->qh = nfq_create_queue(h, (uint16_t)queue, on_packet, d);
    if (!d->qh) {
        fprintf(stderr, "net_delay: cannot bind queue %ld (taken by another program, or no permission)\n", queue);
        goto out;
    }
    /* the verdict needs only the packet's id: no payload copied to us */
    if (nfq_set_mode(d->qh, NFQNL_COPY_META, 0) < 0) {
        perror("net_delay: nfq_set_mode");
        goto out;
    }
    if (nfq_set_queue_maxlen(d->qh, KERNEL_QUEUE_MAX) < 0)
        perror("net_delay: nfq_set_queue_maxlen");
    if (nfq_set_queue_flags(d->qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0)
        perror("net_delay: fail-open not set (a full queue drops)");
    nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF_BYTES);
    fprintf(stderr, "net_delay: queue %ld, %ld ms\n", queue, delay_ms);
    status = run(h, d) < 0;
    if (d->early)
        fprintf(stderr, "net_delay: %lu packets accepted early (more than %d held)\n", d->early, HELD_MAX);
out:
    if (d && d->qh)
        nfq_destroy_queue(d->qh);
    if (h)
        nfq_close(h);
    free(d);
    return status;
}
