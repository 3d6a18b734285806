/* delayq: holds every packet queued to NFQUEUE <queue> for <delay_ms> before accepting it —
 * a propagation delay, which this kernel (no netem qdisc) cannot add otherwise. Packets leave
 * in arrival order. Runs until SIGTERM/SIGINT. Part of scripts/netem (docs/reliability.md).
 *   delayq <queue-number> <delay-ms>
 * Build: cc -O2 -o delayq delayq.c -lnetfilter_queue */
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define CAPACITY 65536

struct held { uint32_t id; uint64_t due_us; };
static struct held ring[CAPACITY];
static size_t head, count;
static uint64_t delay_us;
static volatile sig_atomic_t stop;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
    (void)msg; (void)data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    if (count == CAPACITY) return nfq_set_verdict(qh, id, NF_DROP, 0, NULL); /* full: a drop, as a router would */
    ring[(head + count) % CAPACITY] = (struct held){ id, now_us() + delay_us };
    count++;
    return 0;
}

static void on_signal(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: delayq QUEUE DELAY_MS\n"); return 2; }
    int queue = atoi(argv[1]);
    delay_us = (uint64_t)atoll(argv[2]) * 1000u;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    struct nfq_handle *h = nfq_open();
    if (!h) { perror("nfq_open"); return 1; }
    nfq_unbind_pf(h, AF_INET);
    if (nfq_bind_pf(h, AF_INET) < 0) { perror("nfq_bind_pf"); return 1; }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, &on_packet, NULL);
    if (!qh) { perror("nfq_create_queue"); return 1; }
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) { perror("nfq_set_mode"); return 1; }
    nfq_set_queue_maxlen(qh, CAPACITY);
    int fd = nfq_fd(h);
    char buf[65536];
    fprintf(stderr, "delayq: queue %d, %llu ms\n", queue, (unsigned long long)(delay_us / 1000));
    while (!stop) {
        uint64_t t = now_us();
        while (count > 0 && ring[head].due_us <= t) {
            nfq_set_verdict(qh, ring[head].id, NF_ACCEPT, 0, NULL);
            head = (head + 1) % CAPACITY;
            count--;
        }
        int timeout = count > 0 ? (int)((ring[head].due_us - t + 999) / 1000) : 100;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, timeout);
        if (r > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) nfq_handle_packet(h, buf, (int)n);
            else if (n < 0 && errno == ENOBUFS) fprintf(stderr, "delayq: queue overflow, packets dropped\n");
        }
    }
    while (count > 0) { nfq_set_verdict(qh, ring[head].id, NF_ACCEPT, 0, NULL); head = (head + 1) % CAPACITY; count--; }
    nfq_destroy_queue(qh);
    nfq_close(h);
    return 0;
}
