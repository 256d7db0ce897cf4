/*
 * session.c -- one WebSocket session as a state machine, without sockets.
 *
 * Input is a stream of octets cut anywhere.  The frame header is
 * gathered in s->hdr and checked as soon as each part of it is there:
 * the first two octets (RSV bits, opcode, mask bit, control frame rules,
 * the fragment sequence), then the length (minimal encoding, below 2^63,
 * a one-octet close payload, the message size against max_message, all
 * before the masking key arrives), then the masking key.  So a bad or
 * oversized frame is refused on its header, before any payload.
 *
 * Data payload is unmasked as it arrives: in place when the frame is a
 * whole message lying in the input buffer (delivered from there), else
 * into s->msg, grown as octets arrive up to the announced size.  Text
 * goes through a UTF-8 DFA across frames and fragments; the first octet
 * that cannot be UTF-8 fails the session (1007), as does a text message
 * that ends in the middle of a character.  Control frames are handled
 * whole: in place, or gathered in s->ctl (125 octets at most) when cut.
 * A close frame's status must be one a peer may send (1012-1014, from
 * the IANA registry, included) and its reason UTF-8; the echo repeats
 * status and reason, 1012-1014 echoed as 1000 (the session is not
 * restarting, the peer is).
 *
 * The output queue is ordered: frames go out in the order queued, except
 * that a pong goes ahead of every frame not yet started (at most one pong
 * waits: a newer ping replaces its payload, RFC 6455 5.5.3).  The close
 * frame, ours or the echo, goes after all the answers queued before it:
 * "ask, then close when done" gets its answers, and a bad frame's close
 * follows the answers to the frames before it.  Nothing is queued after
 * a close frame, and nothing is read after the peer's.
 *
 * Pausing stops the parser where it is: the call that paused is the last
 * delivery; the rest of the input is kept in s->ibuf until resumed.  A
 * frame found whole in the input (inplace) stays whole there.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <stdlib.h>
#include <string.h>

#include "net/utf8.h"
#include "ws/session.h"

#define WSESS_CTL_MAX		125	/* control frame payload */
#define WSESS_MSG_MIN		256	/* first allocation for a message */


static size_t	 wsess_parse(struct wsess *, uint8_t *, size_t);
static void	 wsess_header(struct wsess *, size_t);
static size_t	 wsess_data(struct wsess *, uint8_t *, size_t);
static size_t	 wsess_control(struct wsess *, uint8_t *, size_t);
static void	 wsess_frame_done(struct wsess *, const uint8_t *);
static void	 wsess_control_done(struct wsess *, uint8_t *);
static void	 wsess_deliver(struct wsess *, const uint8_t *, size_t);
static void	 wsess_fail(struct wsess *, uint16_t, const char *);
static void	 wsess_dead(struct wsess *);
static void	 wsess_update(struct wsess *);
static int	 wsess_keep(struct wsess *, const uint8_t *, size_t);
static int	 wsess_msg_room(struct wsess *, size_t);
static int	 wsess_queue_close(struct wsess *, uint16_t, const uint8_t *,
		    size_t);
static void	 wsess_queue_pong(struct wsess *, const uint8_t *, size_t);
static struct wsess_frame *frame_new(int, size_t);
static void	 frame_header(struct wsess_frame *);
static void	 frame_free(struct wsess_frame *);
static int	 close_code_valid(unsigned int);

void
wsess_init(struct wsess *s, const struct wsess_conf *conf, wsess_msg_fn cb,
    void *arg, double now)
{
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->msg_cb = cb;
	s->arg = arg;
	s->state = WSESS_OPEN;
	s->now = s->last_rx = now;
	s->hneed = 2;
	s->outtail = &s->out;
}

void
wsess_free(struct wsess *s)
{
	struct wsess_frame	*f;

	while ((f = s->out) != NULL) {
		s->out = f->next;
		frame_free(f);
	}
	s->outtail = &s->out;
	s->pong = s->closefr = NULL;
	s->queued = 0;
	free(s->ibuf);
	free(s->ctl);
	free(s->msg);
	s->ibuf = s->ctl = s->msg = NULL;
	s->ilen = s->ioff = s->mlen = s->mcap = 0;
}

enum wsess_ev
wsess_recv(struct wsess *s, uint8_t *buf, size_t n, double now)
{
	size_t		 k;
	unsigned int	 failed = s->failed;

	s->now = now;
	if (s->state == WSESS_DEAD)
		return WSESS_EV_NOMEM;
	if (n > 0)
		s->last_rx = now;
	/* Input kept while paused comes first. */
	if (s->ioff < s->ilen) {
		k = wsess_parse(s, s->ibuf + s->ioff, s->ilen - s->ioff);
		s->ioff += k;
		if (s->ioff < s->ilen) {
			/* Paused again: the new input waits behind. */
			if (n > 0 && s->state != WSESS_DEAD)
				(void)wsess_keep(s, buf, n);
			n = 0;
		} else {
			free(s->ibuf);
			s->ibuf = NULL;
			s->ilen = s->ioff = 0;
		}
	}
	if (n > 0 && s->state != WSESS_DEAD &&
	    (k = wsess_parse(s, buf, n)) < n && s->state != WSESS_DEAD)
		(void)wsess_keep(s, buf + k, n - k);
	wsess_update(s);
	if (s->state == WSESS_DEAD)
		return WSESS_EV_NOMEM;
	if (!failed && s->failed)
		return WSESS_EV_PROTO;
	return WSESS_EV_NONE;
}

/* Keep input for later, behind what is kept already; -1 if no memory. */
static int
wsess_keep(struct wsess *s, const uint8_t *p, size_t n)
{
	uint8_t	*nb;
	size_t	 have = s->ilen - s->ioff;

	if (s->ioff > 0 && have > 0)
		memmove(s->ibuf, s->ibuf + s->ioff, have);
	s->ioff = 0;
	s->ilen = have;
	if ((nb = realloc(s->ibuf, have + n)) == NULL) {
		wsess_dead(s);
		return -1;
	}
	s->ibuf = nb;
	memcpy(s->ibuf + have, p, n);
	s->ilen = have + n;
	return 0;
}

/*
 * Process p[0..len): the octets consumed, len unless the session is
 * paused (or dead); the parse state is kept, so it may stop anywhere.
 * Input after the peer's close frame or a bad frame is consumed and
 * ignored.
 */
static size_t
wsess_parse(struct wsess *s, uint8_t *p, size_t len)
{
	size_t	 off = 0, n;

	while (off < len && s->state != WSESS_DEAD) {
		if (s->got_close || s->failed)
			return len;
		/* No message callback follows the call that paused. */
		if (s->paused && !s->closing)
			break;
		if (!s->hdone) {
			n = (size_t)(s->hneed - s->hdrlen);
			if (n > len - off)
				n = len - off;
			memcpy(s->hdr + s->hdrlen, p + off, n);
			s->hdrlen = (uint8_t)(s->hdrlen + n);
			off += n;
			if (s->hdrlen == s->hneed)
				wsess_header(s, len - off);
			continue;
		}
		if (s->fop & 0x8)
			off += wsess_control(s, p + off, len - off);
		else
			off += wsess_data(s, p + off, len - off);
	}
	return off;
}

/*
 * Check the header gathered so far (hdrlen == hneed); avail: input
 * octets left after it.  Either asks for more (hneed), fails, or
 * completes the header (hdone).
 */
static void
wsess_header(struct wsess *s, size_t avail)
{
	const uint8_t	*h = s->hdr;
	uint64_t	 plen, msglen;
	unsigned int	 fin, op, len7, i;
	size_t		 hl;

	fin = h[0] & 0x80;
	op = h[0] & 0x0f;
	len7 = h[1] & 0x7f;
	hl = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
	if (s->hdrlen == 2) {
		/*
		 * No extension is negotiated, so RSV bits are errors; so
		 * are reserved opcodes, unmasked frames, long or fragmented
		 * control frames and broken fragment sequences.
		 */
		if ((h[0] & 0x70) != 0 || (op > 0x2 && op < 0x8) ||
		    op > 0xa || (h[1] & 0x80) == 0 ||
		    ((op & 0x8) && (len7 > 125 || !fin)) ||
		    (op == WSESS_OP_CONT && !s->frag) ||
		    ((op == WSESS_OP_TEXT || op == WSESS_OP_BINARY) &&
		    s->frag)) {
			wsess_fail(s, WSESS_CLOSE_PROTOCOL, "bad frame header");
			return;
		}
		if (hl > 2) {
			s->hneed = (uint8_t)hl;
			return;
		}
	}
	if (len7 == 126)
		plen = ((uint64_t)h[2] << 8) | h[3];
	else if (len7 == 127)
		for (plen = 0, i = 0; i < 8; i++)
			plen = (plen << 8) | h[2 + i];
	else
		plen = len7;
	if (s->hdrlen == hl) {
		/* The length, before the masking key arrives. */
		if ((len7 == 126 && plen < 126) ||
		    (len7 == 127 && (plen < 65536 || (plen >> 63) != 0)) ||
		    (op == WSESS_OP_CLOSE && plen == 1)) {
			wsess_fail(s, WSESS_CLOSE_PROTOCOL, "bad frame header");
			return;
		}
		/* s->msglen <= max_message < 2^63: no overflow. */
		msglen = op == WSESS_OP_CONT ? s->msglen + plen : plen;
		if ((op & 0x8) == 0 && msglen > s->conf->max_message) {
			wsess_fail(s, WSESS_CLOSE_TOO_BIG, "message too big");
			return;
		}
		s->hneed = (uint8_t)(hl + 4);
		return;
	}
	/* An empty last fragment, the text cut in a character. */
	if (op == WSESS_OP_CONT && fin && plen == 0 && s->text &&
	    s->utf8 != UTF8_ACCEPT) {
		wsess_fail(s, WSESS_CLOSE_INVALID, "text message not UTF-8");
		return;
	}
	/* The header is complete: commit. */
	if ((op & 0x8) == 0) {
		s->msglen = op == WSESS_OP_CONT ? s->msglen + plen : plen;
		s->frag = !fin;
		if (op != WSESS_OP_CONT) {
			s->text = op == WSESS_OP_TEXT;
			s->utf8 = UTF8_ACCEPT;
		}
	}
	s->fop = (uint8_t)op;
	s->ffin = fin != 0;
	s->flen = s->fleft = plen;
	s->hdone = 1;
	/* A whole message, or control frame, in the input: no copy. */
	s->inplace = plen <= avail && ((op & 0x8) != 0 ||
	    (fin && op != WSESS_OP_CONT));
	if (plen == 0)
		wsess_frame_done(s, (const uint8_t *)"");
}

/* Data payload: consume up to len octets of p. */
static size_t
wsess_data(struct wsess *s, uint8_t *p, size_t len)
{
	const uint8_t	*mask = s->hdr + s->hdrlen - 4;
	uint8_t		*dst = NULL;
	size_t		 n, i, pos;
	unsigned int	 st, c;
	int		 check = s->text;

	n = len < s->fleft ? len : (size_t)s->fleft;
	pos = (size_t)(s->flen - s->fleft);
	if (s->inplace)
		dst = p;
	else if (!s->closing) {
		/* Nothing is delivered once closing: check, do not keep. */
		if (wsess_msg_room(s, n) == -1)
			return len;
		dst = s->msg + s->mlen;
	}
	for (i = 0; i < n; i++) {
		c = p[i] ^ mask[(pos + i) & 3];
		if (dst != NULL)
			dst[i] = (uint8_t)c;
		if (!check)
			continue;
		st = utf8_next(s->utf8, c);
		if (st == UTF8_REJECT || (s->ffin && i + 1 == s->fleft &&
		    st != UTF8_ACCEPT)) {
			wsess_fail(s, WSESS_CLOSE_INVALID,
			    "text message not UTF-8");
			return len;
		}
		s->utf8 = (uint8_t)st;
	}
	if (!s->inplace && dst != NULL)
		s->mlen += n;
	s->fleft -= n;
	if (s->fleft == 0)
		wsess_frame_done(s, p + n - s->flen);
	return n;
}

/* Control payload (at most 125 octets): consume up to len octets of p. */
static size_t
wsess_control(struct wsess *s, uint8_t *p, size_t len)
{
	const uint8_t	*mask = s->hdr + s->hdrlen - 4;
	uint8_t		*dst;
	size_t		 n, i, pos;

	n = len < s->fleft ? len : (size_t)s->fleft;
	pos = (size_t)(s->flen - s->fleft);
	if (s->inplace)
		dst = p;
	else {
		if (s->ctl == NULL && (s->ctl = malloc(WSESS_CTL_MAX)) ==
		    NULL) {
			wsess_dead(s);
			return len;
		}
		dst = s->ctl + pos;
	}
	for (i = 0; i < n; i++)
		dst[i] = p[i] ^ mask[(pos + i) & 3];
	s->fleft -= n;
	if (s->fleft == 0)
		wsess_frame_done(s, s->inplace ? p + n - s->flen : s->ctl);
	return n;
}

/* A frame is complete; payload: its unmasked payload (in place or ctl). */
static void
wsess_frame_done(struct wsess *s, const uint8_t *payload)
{
	if (s->fop & 0x8)
		wsess_control_done(s, (uint8_t *)(uintptr_t)payload);
	else if (s->ffin)
		wsess_deliver(s, s->inplace ? payload : s->msg != NULL ?
		    s->msg : (const uint8_t *)"", s->inplace ?
		    (size_t)s->flen : s->mlen);
	free(s->ctl);
	s->ctl = NULL;
	s->hdone = 0;
	s->hdrlen = 0;
	s->hneed = 2;
	s->inplace = 0;
}

static void
wsess_deliver(struct wsess *s, const uint8_t *p, size_t len)
{
	int	 op = s->text ? WSESS_OP_TEXT : WSESS_OP_BINARY;

	s->msglen = 0;
	if (!s->closing && s->state == WSESS_OPEN && s->msg_cb != NULL)
		s->msg_cb(s->arg, op, p, len);
	free(s->msg);
	s->msg = NULL;
	s->mlen = s->mcap = 0;
}

/*
 * A complete control frame, p its unmasked payload.  A close frame is
 * checked whole: status code, then the reason as UTF-8.
 */
static void
wsess_control_done(struct wsess *s, uint8_t *p)
{
	size_t		 len = (size_t)s->flen, i;
	unsigned int	 code, st = UTF8_ACCEPT;

	switch (s->fop) {
	case WSESS_OP_PING:
		wsess_queue_pong(s, p, len);
		return;
	case WSESS_OP_PONG:
		return;
	default:
		break;
	}
	code = 0;
	if (len > 0) {
		code = (unsigned int)p[0] << 8 | p[1];
		if (!close_code_valid(code)) {
			wsess_fail(s, WSESS_CLOSE_PROTOCOL,
			    "invalid close status");
			return;
		}
		for (i = 2; i < len && st != UTF8_REJECT; i++)
			st = utf8_next(st, p[i]);
		if (st != UTF8_ACCEPT) {
			wsess_fail(s, WSESS_CLOSE_INVALID,
			    "close reason not UTF-8");
			return;
		}
	}
	s->got_close = 1;
	s->close_rcvd = len > 0 ? (uint16_t)code : WSESS_CLOSE_NO_STATUS;
	/* Nothing more is read; the parser discards the rest. */
	free(s->msg);
	s->msg = NULL;
	s->mlen = s->mcap = 0;
	if (s->closing)
		return;		/* our close frame is queued: no echo */
	s->closing = 1;
	s->close_at = s->now;
	if (code >= 1012 && code <= 1014)
		code = WSESS_CLOSE_NORMAL;
	(void)wsess_queue_close(s, (uint16_t)code, len > 2 ? p + 2 : NULL,
	    len > 2 ? len - 2 : 0);
}

/* A bad frame: close with this status (after what is queued), read no more. */
static void
wsess_fail(struct wsess *s, uint16_t code, const char *why)
{
	s->fail = code;
	s->failwhy = why;
	s->failed = 1;
	free(s->msg);
	s->msg = NULL;
	s->mlen = s->mcap = 0;
	if (s->closing)
		return;
	s->closing = 1;
	s->close_at = s->now;
	(void)wsess_queue_close(s, code, NULL, 0);
}

static void
wsess_dead(struct wsess *s)
{
	s->state = WSESS_DEAD;
}

static void
wsess_update(struct wsess *s)
{
	if (s->state == WSESS_DEAD)
		return;
	if (s->sent_close && s->got_close)
		s->state = WSESS_CLOSED;
	else if (s->sent_close && s->failed)
		s->state = WSESS_FAILED;
	else if (s->closing)
		s->state = WSESS_CLOSING;
	else
		s->state = WSESS_OPEN;
}

/* Room for n more octets in msg, at most the message announced. */
static int
wsess_msg_room(struct wsess *s, size_t n)
{
	uint8_t	*nb;
	size_t	 cap;

	if (s->mcap - s->mlen >= n)
		return 0;
	/* Doubling, so a header alone does not get max_message. */
	cap = s->mcap * 2;
	if (cap < WSESS_MSG_MIN)
		cap = WSESS_MSG_MIN;
	if (cap < s->mlen + n)
		cap = s->mlen + n;
	if (cap > s->msglen)
		cap = (size_t)s->msglen;	/* msglen >= mlen + n */
	if ((nb = realloc(s->msg, cap)) == NULL) {
		wsess_dead(s);
		return -1;
	}
	s->msg = nb;
	s->mcap = cap;
	return 0;
}

static struct wsess_frame *
frame_new(int op, size_t inl)
{
	struct wsess_frame	*f;

	if (inl > SIZE_MAX - sizeof(*f) ||
	    (f = malloc(sizeof(*f) + inl)) == NULL)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->op = (uint8_t)op;
	f->data = f->inl;
	return f;
}

/* The header of a server frame: FIN, unmasked, the shortest length. */
static void
frame_header(struct wsess_frame *f)
{
	uint64_t	 len = f->len;
	int		 i;

	f->hdr[0] = (uint8_t)(0x80 | f->op);
	if (len < 126) {
		f->hdr[1] = (uint8_t)len;
		f->hlen = 2;
	} else if (len < 65536) {
		f->hdr[1] = 126;
		f->hdr[2] = (uint8_t)(len >> 8);
		f->hdr[3] = (uint8_t)len;
		f->hlen = 4;
	} else {
		f->hdr[1] = 127;
		for (i = 0; i < 8; i++)
			f->hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		f->hlen = 10;
	}
}

static void
frame_free(struct wsess_frame *f)
{
	free(f->own);
	free(f);
}

static void
wsess_append(struct wsess *s, struct wsess_frame *f)
{
	f->next = NULL;
	*s->outtail = f;
	s->outtail = &f->next;
	s->queued += f->len;
}

/* Our close frame, or the echo, after everything queued; 0 or -1. */
static int
wsess_queue_close(struct wsess *s, uint16_t code, const uint8_t *reason,
    size_t len)
{
	struct wsess_frame	*f;

	if (len > WSESS_REASON_MAX)
		len = WSESS_REASON_MAX;
	if ((f = frame_new(WSESS_OP_CLOSE, 2 + len)) == NULL) {
		wsess_dead(s);
		return -1;
	}
	if (code != 0) {
		f->inl[0] = (uint8_t)(code >> 8);
		f->inl[1] = (uint8_t)code;
		if (len > 0)
			memcpy(f->inl + 2, reason, len);
		f->len = 2 + len;
	}
	frame_header(f);
	wsess_append(s, f);
	s->closefr = f;
	return 0;
}

/*
 * A pong goes ahead of the frames not yet started; one waits at most,
 * with the payload of the latest ping.  None once our close frame is
 * being written.
 */
static void
wsess_queue_pong(struct wsess *s, const uint8_t *p, size_t len)
{
	struct wsess_frame	*f;

	if (s->sent_close || (s->closefr != NULL && s->closefr->off > 0))
		return;
	if ((f = s->pong) != NULL && f->off == 0) {
		s->queued -= f->len;
		f->len = len;
		memcpy(f->inl, p, len);
		s->queued += len;
		frame_header(f);
		return;
	}
	if ((f = frame_new(WSESS_OP_PONG, WSESS_CTL_MAX)) == NULL) {
		wsess_dead(s);
		return;
	}
	f->len = len;
	memcpy(f->inl, p, len);
	frame_header(f);
	if (s->out == NULL || s->out->off == 0) {
		/* First in line. */
		if ((f->next = s->out) == NULL)
			s->outtail = &f->next;
		s->out = f;
	} else {
		/* After the frame being written. */
		if ((f->next = s->out->next) == NULL)
			s->outtail = &f->next;
		s->out->next = f;
	}
	s->queued += len;
	s->pong = f;
}

int
wsess_send(struct wsess *s, int opcode, const uint8_t *data, size_t len)
{
	struct wsess_frame	*f;

	if (s->state != WSESS_OPEN || s->closing ||
	    (opcode != WSESS_OP_TEXT && opcode != WSESS_OP_BINARY))
		return WSESS_SEND_CLOSED;
	if ((f = frame_new(opcode, len)) == NULL)
		return WSESS_SEND_NOMEM;
	if (len > 0)
		memcpy(f->inl, data, len);
	f->len = len;
	frame_header(f);
	wsess_append(s, f);
	return WSESS_SEND_OK;
}

int
wsess_send_take(struct wsess *s, int opcode, void *buf, const uint8_t *data,
    size_t len)
{
	struct wsess_frame	*f;

	if (s->state != WSESS_OPEN || s->closing ||
	    (opcode != WSESS_OP_TEXT && opcode != WSESS_OP_BINARY))
		return WSESS_SEND_CLOSED;
	if ((f = frame_new(opcode, 0)) == NULL)
		return WSESS_SEND_NOMEM;
	f->data = data;
	f->own = buf;
	f->len = len;
	frame_header(f);
	wsess_append(s, f);
	return WSESS_SEND_OK;
}

int
wsess_close(struct wsess *s, uint16_t code, const char *reason, double now)
{
	size_t	 len;

	if (s->state != WSESS_OPEN || s->closing)
		return 0;
	s->now = now;
	len = reason != NULL ? strlen(reason) : 0;
	if (len > WSESS_REASON_MAX) {
		/* Keep the reason valid UTF-8. */
		len = WSESS_REASON_MAX;
		while (len > 0 && ((unsigned char)reason[len] & 0xc0) == 0x80)
			len--;
	}
	s->closing = 1;
	s->close_at = now;
	if (wsess_queue_close(s, code, (const uint8_t *)reason, len) == -1)
		return -1;
	wsess_update(s);
	return 0;
}

void
wsess_pause(struct wsess *s, int pause, double now)
{
	if ((pause != 0) == s->paused)
		return;
	s->now = now;
	if (pause) {
		s->paused = 1;
		s->paused_at = now;
	} else {
		s->paused = 0;
		/* The idle timeout does not count the paused time. */
		if (now > s->paused_at)
			s->last_rx += now - s->paused_at;
	}
}

int
wsess_output(struct wsess *s, struct iovec *iov, int max)
{
	struct wsess_frame	*f;
	size_t			 po;
	int			 n = 0;

	for (f = s->out; f != NULL && n < max; f = f->next) {
		if (f->off < f->hlen) {
			iov[n].iov_base = f->hdr + f->off;
			iov[n].iov_len = f->hlen - f->off;
			if (++n == max)
				break;
		}
		po = f->off > f->hlen ? f->off - f->hlen : 0;
		if (f->len > po) {
			iov[n].iov_base = (void *)(uintptr_t)(f->data + po);
			iov[n].iov_len = f->len - po;
			n++;
		}
	}
	return n;
}

void
wsess_sent(struct wsess *s, size_t n)
{
	struct wsess_frame	*f;
	size_t			 total, k;

	while (n > 0 && (f = s->out) != NULL) {
		total = f->hlen + f->len;
		k = total - f->off < n ? total - f->off : n;
		f->off += k;
		n -= k;
		if (f->off < total)
			break;
		if ((s->out = f->next) == NULL)
			s->outtail = &s->out;
		s->queued -= f->len;
		if (f == s->pong)
			s->pong = NULL;
		if (f == s->closefr) {
			s->closefr = NULL;
			s->sent_close = 1;
			s->close_sent = f->len >= 2 ? (uint16_t)(f->inl[0] <<
			    8 | f->inl[1]) : WSESS_CLOSE_NO_STATUS;
		}
		frame_free(f);
	}
	wsess_update(s);
}

int
wsess_want_read(const struct wsess *s)
{
	return (s->state == WSESS_OPEN || s->state == WSESS_CLOSING) &&
	    !s->got_close && !s->failed && !(s->paused && !s->closing);
}

int
wsess_want_write(const struct wsess *s)
{
	return s->out != NULL && s->state != WSESS_DEAD;
}

int
wsess_buffered(const struct wsess *s)
{
	return s->ioff < s->ilen;
}

int
wsess_paused(const struct wsess *s)
{
	return s->paused && !s->closing;
}

size_t
wsess_queued(const struct wsess *s)
{
	return s->queued;
}

enum wsess_state
wsess_state(const struct wsess *s)
{
	return s->state;
}

void
wsess_expire(struct wsess *s, double at)
{
	s->expires = at;
}

void
wsess_blocked(struct wsess *s, int blocked, double now)
{
	s->now = now;
	if (!blocked)
		s->blocked_at = 0;
	else if (s->blocked_at == 0)
		s->blocked_at = now > 0 ? now : 1e-9;
}

/* The earlier of two deadlines, 0 being none. */
static double
wsess_earlier(double a, double b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

double
wsess_next_deadline(const struct wsess *s)
{
	double	 d = 0;

	if (s->state != WSESS_OPEN && s->state != WSESS_CLOSING)
		return 0;
	/* A peer that takes nothing: whatever else is pending. */
	if (s->conf->send_timeout > 0 && s->blocked_at > 0)
		d = s->blocked_at + s->conf->send_timeout;
	if (s->closing)
		return wsess_earlier(d, s->close_at + s->conf->close_timeout);
	d = wsess_earlier(d, s->expires);
	/* Paused, the session waits for us: it is not idle. */
	if (s->conf->idle_timeout > 0 && !s->paused)
		d = wsess_earlier(d, s->last_rx + s->conf->idle_timeout);
	return d;
}

enum wsess_ev
wsess_timeout(struct wsess *s, double now)
{
	double	 d;

	s->now = now;
	if ((d = wsess_next_deadline(s)) == 0 || now < d)
		return WSESS_EV_NONE;
	if (s->conf->send_timeout > 0 && s->blocked_at > 0 &&
	    now >= s->blocked_at + s->conf->send_timeout)
		return WSESS_EV_STALLED;
	if (s->closing)
		return WSESS_EV_CLOSE_TIMEOUT;
	if (s->expires > 0 && now >= s->expires) {
		if (wsess_close(s, WSESS_CLOSE_POLICY, "credentials expired",
		    now) == -1)
			return WSESS_EV_NOMEM;
		return WSESS_EV_EXPIRED;
	}
	if (wsess_close(s, WSESS_CLOSE_GOING_AWAY, "idle timeout", now) == -1)
		return WSESS_EV_NOMEM;
	return WSESS_EV_IDLE;
}

unsigned int
wsess_status_sent(const struct wsess *s)
{
	return s->sent_close ? s->close_sent : WSESS_CLOSE_ABNORMAL;
}

unsigned int
wsess_status_received(const struct wsess *s)
{
	return s->got_close ? s->close_rcvd : WSESS_CLOSE_ABNORMAL;
}

/*
 * Close status codes a peer may send (RFC 6455 7.4, and the IANA
 * registry for 1012-1014); 1004-1006 and 1015 never go on the wire.
 */
static int
close_code_valid(unsigned int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

