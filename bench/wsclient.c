/*
 * wsclient.c -- kafkagate's benchmark client: a minimal WebSocket client
 * that speaks the APISIX pubsub protocol with its own tiny protobuf
 * encoder and decoder, one epoll loop per thread, one buffer per
 * connection (grown to the largest frame, never per record).
 *
 *   wsclient catchup    -u URL -t TOPIC [-p FIRST] [-n N] [-o FROM] [-e END]
 *	N clients, client i reads partition FIRST+i from FROM to END (default:
 *	the partition's end, asked with list_offset -1) the APISIX way: fetch,
 *	wait for the answer, fetch again from the last offset + 1.
 *   wsclient listoffset -u URL -t TOPIC [-p P] [-c COUNT] [-w WARMUP]
 *	sequential list_offset(-1) round trips on one session: p50, p99.
 *   wsclient idle       -u URL [-n N]
 *	open N sessions, print "ready ...", hold them until SIGTERM or
 *	SIGINT, close them, print the result line.
 *   wsclient tail       -u URL -t TOPIC [-p P] [-n N] -d SECONDS
 *	N clients follow the end of partition P (fetch from the end, again
 *	at once from the last offset + 1): latency of each record from its
 *	timestamp (the producer's create time, ms) to its receipt.  Prints
 *	"go" when the window opens.
 *
 * Common options: -T THREADS (default 1), -W NAME=PID (CPU time of that
 * process over the measured window, repeatable), --window N (handshakes
 * in flight, default 200), --no-spread (connect from 127.0.0.1 only;
 * by default connections to 127.0.0.1 come from 127.0.0.2..201 so that
 * ports in TIME_WAIT never run out).
 *
 * The measured window starts when every session is open and (catchup,
 * tail) knows its start offset, and ends when every client is done or the
 * duration is over.  Prints one line of key=value pairs on stdout; exit
 * status 0, or 1 on any failure (a connection lost, an error answer in
 * catchup or listoffset, an answer out of sequence, a record below the
 * offset asked for).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define RBUF_INIT	(128 * 1024)	/* a fetching session's first buffer */
#define RBUF_IDLE	1024		/* an idle session's */
#define WBUF_SIZE	512
#define MAX_RETRIES	3		/* connection attempts per session */
#define MAX_EMPTY	1000		/* empty catch-up answers in a row */
#define MAX_ERRORS	10		/* catch-up error answers per session */
#define SPREAD		200		/* source addresses 127.0.0.2.. */

enum mode { M_CATCHUP, M_LISTOFF, M_IDLE, M_TAIL };
enum cstate { C_FREE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };
enum cphase { P_START, P_LIST, P_READY, P_FETCH, P_DONE };

struct worker;

struct conn {
	struct worker	*w;
	int		 idx;		/* global session number */
	int		 fd;
	enum cstate	 state;
	enum cphase	 phase;
	int		 retries;
	uint8_t		*rbuf;
	size_t		 rlen, rcap;
	uint8_t		*frag;		/* a fragmented message, reassembled */
	size_t		 fraglen, fragcap;
	uint8_t		 wbuf[WBUF_SIZE];
	size_t		 wlen, woff;
	int32_t		 partition;
	int64_t		 next, end;
	int64_t		 seq;		/* of the request in flight */
	int		 outstanding;
	uint64_t	 sent_ns;
	int		 empty_run, errors;
	int		 lo_done;	/* listoffset round trips answered */
};

struct worker {
	int		 id;
	int		 ep;
	struct conn	*conns;
	int		 nconn;
	int		 next_start;
	int		 inflight;	/* connecting or handshaking */
	int		 opened, ready, done;
	int		 fatal;
	pthread_t	 th;
	struct bu_hist	*hist;
	uint64_t	*samples;	/* listoffset round trips, ns */
	size_t		 nsamples;
	uint64_t	 records, bytes, fetches, answers, empty, errors;
	uint64_t	 gaps, below, skipped;
};

static struct {
	enum mode	 mode;
	struct sockaddr_in addr;
	char		 host[64];
	char		 path[256];
	const char	*topic;
	int32_t		 partition;
	int		 nclients;
	int		 nthreads;
	int64_t		 from, end;
	int		 count, warmup;
	double		 duration;
	int		 window;
	int		 spread;
	struct bu_watch	 watch;
} cf;

static pthread_barrier_t	 barrier;
static volatile sig_atomic_t	 stop;
static volatile int		 any_fatal;
static uint64_t			 t0_ns, deadline_ns;
static int64_t			 t0_real_us;
static double			 t0_cpu;

static void conn_fail(struct conn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_start(struct conn *);
static void conn_close(struct conn *);
static int conn_send(struct conn *, const uint8_t *, size_t, int);

/* ---- protobuf: just the fields the benchmark needs ---- */

static uint8_t *
pb_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static int
pb_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int	 shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t	 b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return 0;
	}
	return -1;
}

/*
 * One field at *p: its number, wire type, and for wire type 0 its value,
 * for 2 its bytes.  Returns 0, or -1 if malformed.
 */
static int
pb_field(const uint8_t **p, const uint8_t *end, uint32_t *field, int *wt,
    uint64_t *v, const uint8_t **data, size_t *len)
{
	uint64_t	 key;

	if (pb_get_varint(p, end, &key) != 0)
		return -1;
	*field = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	switch (*wt) {
	case 0:
		return pb_get_varint(p, end, v);
	case 1:
		if (end - *p < 8)
			return -1;
		*p += 8;
		return 0;
	case 2:
		if (pb_get_varint(p, end, v) != 0 || *v > (uint64_t)(end - *p))
			return -1;
		*data = *p;
		*len = (size_t)*v;
		*p += *len;
		return 0;
	case 5:
		if (end - *p < 4)
			return -1;
		*p += 4;
		return 0;
	default:
		return -1;
	}
}

/* PubSubReq{sequence, cmd (33 fetch, 34 list offset){topic, partition, value}} */
static size_t
pb_request(uint8_t *buf, int64_t seq, int cmd, const char *topic,
    int32_t partition, int64_t value)
{
	uint8_t		 inner[300], *p = inner, *q = buf;
	size_t		 tlen = strlen(topic);

	*p++ = 0x0a;
	p = pb_varint(p, tlen);
	memcpy(p, topic, tlen);
	p += tlen;
	if (partition != 0) {
		*p++ = 0x10;
		p = pb_varint(p, (uint64_t)(int64_t)partition);
	}
	if (value != 0) {
		*p++ = 0x18;
		p = pb_varint(p, (uint64_t)value);
	}
	*q++ = 0x08;
	q = pb_varint(q, (uint64_t)seq);
	q = pb_varint(q, (uint64_t)cmd << 3 | 2);
	q = pb_varint(q, (uint64_t)(p - inner));
	memcpy(q, inner, (size_t)(p - inner));
	return (size_t)(q - buf) + (size_t)(p - inner);
}

/* ---- the modes ---- */

static void
send_request(struct conn *c, int cmd, int64_t value)
{
	uint8_t		 req[400];
	size_t		 n;

	c->seq++;
	n = pb_request(req, c->seq, cmd, cf.topic, c->partition, value);
	c->outstanding = 1;
	c->sent_ns = bu_mono_ns();
	if (cmd == 33)
		c->w->fetches++;
	(void)conn_send(c, req, n, 2);
}

static void
conn_finish(struct conn *c)
{
	c->phase = P_DONE;
	c->w->done++;
	conn_close(c);
}

/* first command of a session, once open */
static void
on_open(struct conn *c)
{
	switch (cf.mode) {
	case M_CATCHUP:
		if (cf.end >= 0) {
			c->end = cf.end;
			c->phase = P_READY;
			c->w->ready++;
			break;
		}
		/* FALLTHROUGH */
	case M_TAIL:
		c->phase = P_LIST;
		send_request(c, 34, -1);
		break;
	case M_LISTOFF:
	case M_IDLE:
		c->phase = P_READY;
		c->w->ready++;
		break;
	}
}

static void
on_list_offset(struct conn *c, int64_t off)
{
	uint64_t	 now;

	if (off < 0) {
		conn_fail(c, "list_offset answered %lld", (long long)off);
		return;
	}
	if (c->phase == P_LIST) {
		if (cf.mode == M_CATCHUP)
			c->end = off;
		else
			c->next = off;
		c->phase = P_READY;
		c->w->ready++;
		return;
	}
	if (cf.mode != M_LISTOFF) {
		conn_fail(c, "unexpected list_offset answer");
		return;
	}
	now = bu_mono_ns();
	if (c->lo_done >= cf.warmup)
		c->w->samples[c->w->nsamples++] = now - c->sent_ns;
	if (++c->lo_done < cf.warmup + cf.count)
		send_request(c, 34, -1);
	else
		conn_finish(c);
}

/* the next step of a fetching session after an answer */
static void
fetch_next(struct conn *c)
{
	if (cf.mode == M_CATCHUP && c->next >= c->end) {
		conn_finish(c);
		return;
	}
	if (cf.mode == M_TAIL && bu_mono_ns() >= deadline_ns)
		return;
	send_request(c, 33, c->next);
}

static void
on_error(struct conn *c, int64_t code, const uint8_t *msg, size_t len)
{
	c->w->errors++;
	if (c->errors++ < 3)
		fprintf(stderr, "wsclient: session %d: error_resp %lld: %.*s\n",
		    c->idx, (long long)code, (int)(len > 300 ? 300 : len),
		    (const char *)msg);
	if (cf.mode == M_LISTOFF || c->phase == P_LIST ||
	    (cf.mode == M_CATCHUP && c->errors > MAX_ERRORS)) {
		conn_fail(c, "error answers");
		return;
	}
	if (c->phase == P_FETCH)
		fetch_next(c);
}

/* KafkaFetchResp: the records, counted (no copy, no allocation) */
static void
on_fetch(struct conn *c, const uint8_t *p, const uint8_t *end)
{
	struct worker	*w = c->w;
	const uint8_t	*data, *mp, *mend;
	size_t		 len, klen, vlen;
	uint64_t	 v, n = 0;
	uint32_t	 field;
	int64_t		 off, ts, now_us = 0;
	int		 wt;

	if (c->phase != P_FETCH) {
		conn_fail(c, "unexpected fetch answer");
		return;
	}
	if (cf.mode == M_TAIL)
		now_us = bu_real_us();
	while (p < end) {
		if (pb_field(&p, end, &field, &wt, &v, &data, &len) != 0) {
			conn_fail(c, "malformed kafka_fetch_resp");
			return;
		}
		if (field != 1 || wt != 2)
			continue;
		off = ts = 0;
		klen = vlen = 0;
		mp = data;
		mend = data + len;
		while (mp < mend) {
			const uint8_t	*d;
			size_t		 l;

			if (pb_field(&mp, mend, &field, &wt, &v, &d, &l) != 0) {
				conn_fail(c, "malformed KafkaMessage");
				return;
			}
			if (field == 1 && wt == 0)
				off = (int64_t)v;
			else if (field == 2 && wt == 0)
				ts = (int64_t)v;
			else if (field == 3 && wt == 2)
				klen = l;
			else if (field == 4 && wt == 2)
				vlen = l;
		}
		if (off < c->next) {
			w->below++;
			conn_fail(c, "record %lld below the offset asked for, %lld",
			    (long long)off, (long long)c->next);
			return;
		}
		w->gaps += (uint64_t)(off - c->next);
		c->next = off + 1;
		n++;
		w->bytes += klen + vlen;
		if (cf.mode == M_TAIL) {
			if (ts * 1000 < t0_real_us)
				w->skipped++;
			else
				bu_hist_add(w->hist, now_us - ts * 1000);
		}
	}
	w->records += n;
	w->answers++;
	if (n == 0) {
		w->empty++;
		if (cf.mode == M_CATCHUP && ++c->empty_run > MAX_EMPTY) {
			conn_fail(c, "no progress at offset %lld (end %lld)",
			    (long long)c->next, (long long)c->end);
			return;
		}
	} else
		c->empty_run = 0;
	fetch_next(c);
}

/* one PubSubResp */
static void
on_message(struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t	*end = p + n, *data, *bp, *bend;
	uint64_t	 v, seq = 0;
	uint32_t	 field;
	size_t		 len;
	int		 wt;

	while (p < end) {
		if (pb_field(&p, end, &field, &wt, &v, &data, &len) != 0) {
			conn_fail(c, "malformed PubSubResp");
			return;
		}
		if (field == 1 && wt == 0) {
			seq = v;
			continue;
		}
		if (wt != 2 || field < 31 || field > 34)
			continue;
		if (!c->outstanding || (int64_t)seq != c->seq) {
			conn_fail(c, "answer with sequence %lld, expected %lld",
			    (long long)seq, (long long)c->seq);
			return;
		}
		c->outstanding = 0;
		bp = data;
		bend = data + len;
		switch (field) {
		case 31: {
			int64_t		 code = 0;
			const uint8_t	*msg = (const uint8_t *)"";
			size_t		 mlen = 0;

			while (bp < bend) {
				if (pb_field(&bp, bend, &field, &wt, &v, &data,
				    &len) != 0)
					break;
				if (field == 1 && wt == 0)
					code = (int64_t)v;
				else if (field == 2 && wt == 2) {
					msg = data;
					mlen = len;
				}
			}
			on_error(c, code, msg, mlen);
			return;
		}
		case 33:
			on_fetch(c, bp, bend);
			return;
		case 34: {
			int64_t	 off = 0;

			while (bp < bend) {
				if (pb_field(&bp, bend, &field, &wt, &v, &data,
				    &len) != 0)
					break;
				if (field == 1 && wt == 0)
					off = (int64_t)v;
			}
			on_list_offset(c, off);
			return;
		}
		default:
			conn_fail(c, "unexpected answer %u", field);
			return;
		}
	}
	conn_fail(c, "answer without a body");
}

/* ---- WebSocket ---- */

/* A client frame (masked) of opcode op; 0, or -1 if it cannot be sent. */
static int
conn_send(struct conn *c, const uint8_t *payload, size_t n, int op)
{
	static const uint8_t	 mask[4] = { 0x5a, 0xc3, 0x0f, 0x96 };
	uint8_t			*p;
	size_t			 i;
	ssize_t			 r;

	if (c->state != C_OPEN || c->wlen + n + 8 > WBUF_SIZE || n > 65535)
		return -1;
	p = c->wbuf + c->wlen;
	*p++ = (uint8_t)(0x80 | op);
	if (n < 126)
		*p++ = (uint8_t)(0x80 | n);
	else {
		*p++ = 0x80 | 126;
		*p++ = (uint8_t)(n >> 8);
		*p++ = (uint8_t)n;
	}
	memcpy(p, mask, 4);
	p += 4;
	for (i = 0; i < n; i++)
		p[i] = payload[i] ^ mask[i & 3];
	c->wlen = (size_t)(p + n - c->wbuf);
	r = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
	if (r < 0 && errno != EAGAIN) {
		conn_fail(c, "send: %s", strerror(errno));
		return -1;
	}
	if (r > 0)
		c->woff += (size_t)r;
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	else {
		struct epoll_event	 ev = { EPOLLIN | EPOLLOUT, { .ptr = c } };

		(void)epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	return 0;
}

static void
conn_flush(struct conn *c)
{
	struct epoll_event	 ev = { EPOLLIN, { .ptr = c } };
	ssize_t			 r;

	r = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
	if (r < 0 && errno != EAGAIN) {
		conn_fail(c, "send: %s", strerror(errno));
		return;
	}
	if (r > 0)
		c->woff += (size_t)r;
	if (c->woff == c->wlen) {
		c->woff = c->wlen = 0;
		(void)epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

static int
buf_reserve(uint8_t **buf, size_t *cap, size_t need)
{
	size_t	 n = *cap ? *cap : 1024;
	uint8_t	*b;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((b = realloc(*buf, n)) == NULL)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

static void
on_frame(struct conn *c, int fin, int op, const uint8_t *p, size_t n)
{
	if (op >= 8) {
		if (op == 8) {
			conn_fail(c, "closed by the server (status %d)",
			    n >= 2 ? p[0] << 8 | p[1] : 0);
		} else if (op == 9)
			(void)conn_send(c, p, n, 0xa);
		return;
	}
	if (fin && op != 0 && c->fraglen == 0) {
		on_message(c, p, n);
		return;
	}
	if (buf_reserve(&c->frag, &c->fragcap, c->fraglen + n) != 0) {
		conn_fail(c, "out of memory");
		return;
	}
	memcpy(c->frag + c->fraglen, p, n);
	c->fraglen += n;
	if (fin) {
		n = c->fraglen;
		c->fraglen = 0;
		on_message(c, c->frag, n);
	}
}

/* Frames in rbuf; the partial one left is moved to the front. */
static void
parse_frames(struct conn *c)
{
	size_t		 off = 0, hdr, avail;
	uint64_t	 len;
	uint8_t		*f;
	int		 i;

	while (c->state == C_OPEN && (avail = c->rlen - off) >= 2) {
		f = c->rbuf + off;
		len = f[1] & 0x7f;
		hdr = 2;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)f[2] << 8 | f[3];
			hdr = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			for (len = 0, i = 2; i < 10; i++)
				len = len << 8 | f[i];
			hdr = 10;
		}
		if (f[1] & 0x80)
			hdr += 4;
		if (len > (1u << 30)) {
			conn_fail(c, "frame of %llu bytes", (unsigned long long)len);
			return;
		}
		if (avail < hdr + len) {
			if (hdr + len > c->rcap) {
				memmove(c->rbuf, f, avail);
				c->rlen = avail;
				off = 0;
				if (buf_reserve(&c->rbuf, &c->rcap, hdr + len) != 0)
					conn_fail(c, "out of memory");
				return;
			}
			break;
		}
		if (f[1] & 0x80) {
			uint8_t	*m = f + hdr - 4;
			uint64_t k;

			for (k = 0; k < len; k++)
				f[hdr + k] ^= m[k & 3];
		}
		off += hdr + len;
		on_frame(c, f[0] & 0x80, f[0] & 0x0f, f + hdr, (size_t)len);
	}
	if (c->state != C_OPEN)
		return;
	if (off > 0 && off < c->rlen)
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

static void
handshake_read(struct conn *c)
{
	struct worker	*w = c->w;
	ssize_t		 r;
	uint8_t		*e;
	size_t		 hlen;

	r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (r < 0 && errno == EAGAIN)
		return;
	if (r <= 0) {
		conn_fail(c, "handshake: %s", r == 0 ? "connection closed" :
		    strerror(errno));
		return;
	}
	c->rlen += (size_t)r;
	e = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (e == NULL) {
		if (c->rlen == c->rcap)
			conn_fail(c, "handshake answer too long");
		return;
	}
	if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
		conn_fail(c, "handshake refused: %.*s", (int)(c->rlen < 40 ?
		    c->rlen : 40), (const char *)c->rbuf);
		return;
	}
	hlen = (size_t)(e + 4 - c->rbuf);
	memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
	c->rlen -= hlen;
	if (cf.mode != M_IDLE && buf_reserve(&c->rbuf, &c->rcap, RBUF_INIT) != 0) {
		conn_fail(c, "out of memory");
		return;
	}
	c->state = C_OPEN;
	w->inflight--;
	w->opened++;
	on_open(c);
	if (c->state == C_OPEN && c->rlen > 0)
		parse_frames(c);
}

static void
conn_read(struct conn *c)
{
	ssize_t	 r;
	size_t	 room;

	for (;;) {
		if (c->rcap - c->rlen < 4096 &&
		    buf_reserve(&c->rbuf, &c->rcap, c->rlen + 4096) != 0) {
			conn_fail(c, "out of memory");
			return;
		}
		room = c->rcap - c->rlen;
		r = read(c->fd, c->rbuf + c->rlen, room);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_fail(c, "read: %s", strerror(errno));
			return;
		}
		if (r == 0) {
			conn_fail(c, "connection closed by the server");
			return;
		}
		c->rlen += (size_t)r;
		parse_frames(c);
		if (c->state != C_OPEN || (size_t)r < room)
			return;
	}
}

static void
conn_connected(struct conn *c)
{
	int		 err = 0;
	socklen_t	 sl = sizeof(err);
	char		 req[512];
	int		 n;
	struct epoll_event ev = { EPOLLIN, { .ptr = c } };

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 || err) {
		conn_fail(c, "connect: %s", strerror(err ? err : errno));
		return;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", cf.path, cf.host);
	if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		conn_fail(c, "handshake send: %s", strerror(errno));
		return;
	}
	c->state = C_HANDSHAKE;
	(void)epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
		c->w->inflight--;
	c->state = C_CLOSED;
	free(c->rbuf);
	free(c->frag);
	c->rbuf = c->frag = NULL;
	c->rlen = c->rcap = c->fraglen = c->fragcap = 0;
}

static void
conn_fail(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;
	int	 early = c->state == C_CONNECTING || c->state == C_HANDSHAKE;

	if (c->state == C_CLOSED)
		return;
	conn_close(c);
	if (early && c->retries < MAX_RETRIES) {
		c->retries++;
		conn_start(c);
		return;
	}
	fprintf(stderr, "wsclient: session %d (partition %d, offset %lld): ",
	    c->idx, c->partition, (long long)c->next);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->w->fatal = 1;
	any_fatal = 1;
}

static void
conn_start(struct conn *c)
{
	struct epoll_event	 ev = { EPOLLOUT, { .ptr = c } };
	struct sockaddr_in	 src;
	int			 one = 1;

	c->w->inflight++;
	c->state = C_CONNECTING;
	c->phase = P_START;
	c->rlen = 0;
	c->wlen = c->woff = 0;
	c->outstanding = 0;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		conn_fail(c, "socket: %s", strerror(errno));
		return;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cf.spread) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(c->idx % SPREAD));
		(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			conn_fail(c, "bind: %s", strerror(errno));
			return;
		}
	}
	if (buf_reserve(&c->rbuf, &c->rcap, RBUF_IDLE) != 0) {
		conn_fail(c, "out of memory");
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&cf.addr, sizeof(cf.addr)) == -1 &&
	    errno != EINPROGRESS) {
		conn_fail(c, "connect: %s", strerror(errno));
		return;
	}
	if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		conn_fail(c, "epoll_ctl: %s", strerror(errno));
}

/* ---- the loop ---- */

static void
poll_once(struct worker *w, int timeout_ms)
{
	struct epoll_event	 evs[256];
	struct conn		*c;
	int			 i, n;

	n = epoll_wait(w->ep, evs, 256, timeout_ms);
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		if (c->state == C_CLOSED)
			continue;
		if (c->state == C_CONNECTING) {
			conn_connected(c);
			continue;
		}
		if ((evs[i].events & EPOLLOUT) && c->wlen > 0)
			conn_flush(c);
		if (c->state == C_HANDSHAKE && (evs[i].events & (EPOLLIN |
		    EPOLLERR | EPOLLHUP)))
			handshake_read(c);
		else if (c->state == C_OPEN && (evs[i].events & (EPOLLIN |
		    EPOLLERR | EPOLLHUP)))
			conn_read(c);
	}
}

static void
start_more(struct worker *w, int window)
{
	while (w->inflight < window && w->next_start < w->nconn && !w->fatal)
		conn_start(&w->conns[w->next_start++]);
}

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	int		 window = cf.window / cf.nthreads, i, ms;

	if (window < 1)
		window = 1;
	/* set-up: every session open and ready */
	while (w->ready < w->nconn && !w->fatal && !any_fatal && !stop) {
		start_more(w, window);
		poll_once(w, 100);
	}
	if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
		t0_cpu = bu_self_cpu();
		bu_watch_snap(&cf.watch, 0);
		t0_ns = bu_mono_ns();
		t0_real_us = bu_real_us();
		deadline_ns = t0_ns + (uint64_t)(cf.duration * 1e9);
		/* bench/run samples the broker while the window is open */
		if (cf.mode == M_IDLE && !any_fatal)
			printf("ready sessions=%d\n", cf.nclients);
		else if (cf.mode == M_TAIL && !any_fatal)
			printf("go\n");
		fflush(stdout);
	}
	pthread_barrier_wait(&barrier);
	if (any_fatal || stop)
		return NULL;
	/* the measured window */
	for (i = 0; i < w->nconn; i++) {
		struct conn	*c = &w->conns[i];

		if (c->state != C_OPEN)
			continue;
		c->phase = P_FETCH;
		if (cf.mode == M_CATCHUP) {
			c->next = cf.from;
			fetch_next(c);
		} else if (cf.mode == M_TAIL)
			fetch_next(c);
		else if (cf.mode == M_LISTOFF)
			send_request(c, 34, -1);
	}
	while (!w->fatal) {
		if (cf.mode == M_IDLE) {
			if (stop)
				break;
			poll_once(w, 100);
			continue;
		}
		if (cf.mode != M_TAIL && w->done == w->nconn)
			break;
		ms = 100;
		if (cf.mode == M_TAIL) {
			uint64_t now = bu_mono_ns();

			if (now >= deadline_ns)
				break;
			ms = (int)((deadline_ns - now) / 1000000) + 1;
			if (ms > 100)
				ms = 100;
		}
		poll_once(w, ms);
	}
	return NULL;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fputs("usage: wsclient catchup|listoffset|idle|tail -u ws://IP:PORT/PATH "
	    "[-t TOPIC] [-p PARTITION]\n"
	    "       [-n CLIENTS] [-o FROM] [-e END] [-c COUNT] [-w WARMUP] "
	    "[-d SECONDS] [-T THREADS]\n"
	    "       [-W NAME=PID] [--window N] [--no-spread]\n", stderr);
	exit(2);
}

static void
parse_url(const char *u)
{
	const char	*h, *colon, *slash;
	size_t		 hl;

	if (strncmp(u, "ws://", 5) != 0)
		usage();
	h = u + 5;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (colon == NULL || (slash != NULL && colon > slash))
		usage();
	hl = (size_t)((slash ? slash : h + strlen(h)) - h);
	if (hl >= sizeof(cf.host))
		usage();
	memcpy(cf.host, h, hl);
	cf.host[hl] = '\0';
	snprintf(cf.path, sizeof(cf.path), "%s", slash ? slash : "/");
	cf.addr.sin_family = AF_INET;
	cf.addr.sin_port = htons((uint16_t)atoi(colon + 1));
	{
		char	 ip[64];

		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - h), h);
		if (inet_pton(AF_INET, ip, &cf.addr.sin_addr) != 1) {
			fprintf(stderr, "wsclient: %s: an IPv4 address is needed\n", ip);
			exit(2);
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "window", required_argument, NULL, 1 },
		{ "no-spread", no_argument, NULL, 2 },
		{ NULL, 0, NULL, 0 }
	};
	struct worker		*ws;
	struct bu_hist		 hist;
	struct sigaction	 sa;
	uint64_t		 records = 0, bytes = 0, fetches = 0, answers = 0;
	uint64_t		 empty = 0, errors = 0, gaps = 0, below = 0;
	uint64_t		 skipped = 0, t1_ns, *samples = NULL;
	size_t			 nsamples = 0;
	double			 wall, cpu;
	int			 ch, i, j, fatal = 0, per, extra, idx = 0;
	const char		*url = NULL;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "catchup") == 0)
		cf.mode = M_CATCHUP;
	else if (strcmp(argv[1], "listoffset") == 0)
		cf.mode = M_LISTOFF;
	else if (strcmp(argv[1], "idle") == 0)
		cf.mode = M_IDLE;
	else if (strcmp(argv[1], "tail") == 0)
		cf.mode = M_TAIL;
	else
		usage();
	cf.topic = "";
	cf.nclients = 1;
	cf.nthreads = 1;
	cf.end = -1;
	cf.count = 1000;
	cf.warmup = 100;
	cf.duration = 5;
	cf.window = 200;
	cf.spread = 1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "u:t:p:n:o:e:c:w:d:T:W:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': cf.topic = optarg; break;
		case 'p': cf.partition = atoi(optarg); break;
		case 'n': cf.nclients = atoi(optarg); break;
		case 'o': cf.from = atoll(optarg); break;
		case 'e': cf.end = atoll(optarg); break;
		case 'c': cf.count = atoi(optarg); break;
		case 'w': cf.warmup = atoi(optarg); break;
		case 'd': cf.duration = atof(optarg); break;
		case 'T': cf.nthreads = atoi(optarg); break;
		case 'W':
			if (bu_watch_add(&cf.watch, optarg) != 0)
				usage();
			break;
		case 1: cf.window = atoi(optarg); break;
		case 2: cf.spread = 0; break;
		default: usage();
		}
	}
	if (url == NULL || cf.nclients < 1 || cf.nthreads < 1 || cf.count < 1 ||
	    cf.warmup < 0 || (cf.mode != M_IDLE && strlen(cf.topic) > 249) ||
	    (cf.mode != M_IDLE && cf.topic[0] == '\0'))
		usage();
	parse_url(url);
	if (cf.addr.sin_addr.s_addr != htonl(0x7f000001u))
		cf.spread = 0;
	if (cf.mode == M_LISTOFF)
		cf.nclients = 1;
	if (cf.nthreads > cf.nclients)
		cf.nthreads = cf.nclients;
	bu_raise_nofile();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((ws = calloc((size_t)cf.nthreads, sizeof(*ws))) == NULL)
		return 1;
	pthread_barrier_init(&barrier, NULL, (unsigned)cf.nthreads);
	per = cf.nclients / cf.nthreads;
	extra = cf.nclients % cf.nthreads;
	for (i = 0; i < cf.nthreads; i++) {
		struct worker	*w = &ws[i];

		w->id = i;
		w->nconn = per + (i < extra);
		if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
		    (w->conns = calloc((size_t)w->nconn, sizeof(*w->conns))) == NULL ||
		    (w->hist = calloc(1, sizeof(*w->hist))) == NULL ||
		    (cf.mode == M_LISTOFF && (w->samples = calloc((size_t)cf.count,
		    sizeof(*w->samples))) == NULL)) {
			perror("wsclient");
			return 1;
		}
		for (j = 0; j < w->nconn; j++) {
			struct conn	*c = &w->conns[j];

			c->w = w;
			c->fd = -1;
			c->idx = idx++;
			c->partition = cf.partition +
			    (cf.mode == M_CATCHUP ? c->idx : 0);
		}
	}
	for (i = 0; i < cf.nthreads; i++)
		if (pthread_create(&ws[i].th, NULL, worker_run, &ws[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (i = 0; i < cf.nthreads; i++)
		pthread_join(ws[i].th, NULL);
	t1_ns = bu_mono_ns();
	bu_watch_snap(&cf.watch, 1);
	cpu = bu_self_cpu() - t0_cpu;
	if (cf.mode == M_TAIL && t1_ns > deadline_ns)
		t1_ns = deadline_ns;
	wall = (double)(t1_ns - t0_ns) / 1e9;

	memset(&hist, 0, sizeof(hist));
	if (cf.mode == M_LISTOFF)
		samples = ws[0].samples;
	for (i = 0; i < cf.nthreads; i++) {
		struct worker	*w = &ws[i];

		fatal |= w->fatal;
		records += w->records;
		bytes += w->bytes;
		fetches += w->fetches;
		answers += w->answers;
		empty += w->empty;
		errors += w->errors;
		gaps += w->gaps;
		below += w->below;
		skipped += w->skipped;
		bu_hist_merge(&hist, w->hist);
		nsamples += w->nsamples;
		for (j = 0; j < w->nconn; j++)
			if (w->conns[j].fd >= 0)
				close(w->conns[j].fd);
	}
	if (fatal || any_fatal) {
		fprintf(stderr, "wsclient: %s failed\n", argv[1]);
		return 1;
	}
	switch (cf.mode) {
	case M_CATCHUP:
		printf("mode=catchup clients=%d records=%llu bytes=%llu wall=%.4f "
		    "rps=%.1f mbps=%.3f fetches=%llu empty=%llu errors=%llu "
		    "gaps=%llu cpu_client=%.3f", cf.nclients,
		    (unsigned long long)records, (unsigned long long)bytes, wall,
		    records / wall, bytes / wall / 1e6, (unsigned long long)fetches,
		    (unsigned long long)empty, (unsigned long long)errors,
		    (unsigned long long)gaps, cpu);
		break;
	case M_TAIL:
		printf("mode=tail clients=%d wall=%.4f records=%llu bytes=%llu "
		    "fetches=%llu answers=%llu empty=%llu errors=%llu "
		    "skipped=%llu lat_n=%llu lat_neg=%llu p50_us=%lld p99_us=%lld "
		    "max_us=%lld mean_us=%.0f cpu_client=%.3f", cf.nclients, wall,
		    (unsigned long long)records, (unsigned long long)bytes,
		    (unsigned long long)fetches, (unsigned long long)answers,
		    (unsigned long long)empty, (unsigned long long)errors,
		    (unsigned long long)skipped, (unsigned long long)hist.count,
		    (unsigned long long)hist.below,
		    (long long)bu_hist_quantile(&hist, 0.5),
		    (long long)bu_hist_quantile(&hist, 0.99), (long long)hist.max,
		    hist.count ? hist.sum / (double)hist.count : -1.0, cpu);
		break;
	case M_LISTOFF: {
		double	 sum = 0;

		qsort(samples, nsamples, sizeof(*samples), bu_cmp_u64);
		for (j = 0; j < (int)nsamples; j++)
			sum += (double)samples[j];
		printf("mode=listoffset count=%zu p50_us=%.1f p99_us=%.1f "
		    "mean_us=%.1f min_us=%.1f max_us=%.1f cpu_client=%.3f",
		    nsamples, bu_sorted_quantile(samples, nsamples, 0.5) / 1e3,
		    bu_sorted_quantile(samples, nsamples, 0.99) / 1e3,
		    nsamples ? sum / (double)nsamples / 1e3 : -1.0,
		    nsamples ? samples[0] / 1e3 : -1.0,
		    nsamples ? samples[nsamples - 1] / 1e3 : -1.0, cpu);
		break;
	}
	case M_IDLE:
		printf("mode=idle sessions=%d held_s=%.3f cpu_client=%.3f",
		    cf.nclients, wall, cpu);
		break;
	}
	bu_watch_print(&cf.watch, stdout);
	putchar('\n');
	return 0;
}
