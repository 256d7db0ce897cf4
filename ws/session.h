/*
 * session.h -- one WebSocket session (RFC 6455, server side, after the
 * upgrade) as a state machine, without sockets.
 *
 * Bytes in (wsess_recv()), bytes out (wsess_output()/wsess_sent()), time
 * passed in.  The session checks every frame the peer sends (RSV bits,
 * opcodes, masking, control frame rules, minimal lengths, the message
 * size, close status and reason, text UTF-8), reassembles fragmented
 * messages and hands each complete data message to a callback, answers
 * pings, runs the close handshake and computes its deadlines (idle
 * timeout, close timeout) from the times it is given.  The event-loop
 * glue (sockets, TLS, timers) lives in server.c.
 *
 * Input: the session holds no input buffer while it is idle.  A frame cut
 * between two reads keeps at most its header (in the struct), a control
 * frame's payload so far (a small allocation) or a data message so far
 * (grown as payload arrives, at most max_message); input that arrives
 * while the session is paused is kept until it is resumed.  A message
 * whose only frame is whole in the caller's buffer is unmasked in place
 * and delivered from there, without a copy.
 *
 * Output: a queue of frames, each a header built here (2-10 octets) and
 * its payload, handed out as iovecs so that several frames go in one
 * writev().  Control frames (pongs) go ahead of frames not yet started;
 * close frames go after everything queued before them, so answers to the
 * requests before a close frame (the peer's or ours) are written first.
 *
 * A session fails (closes with 1002, 1007 or 1009, then reads nothing
 * more) at the first bad frame, after the messages of the frames before
 * it were delivered and their answers queued.
 *
 * Callbacks: the message callback runs from inside wsess_recv() only.  It
 * may call wsess_send(), wsess_pause(), wsess_close() and the read-only
 * functions, never wsess_recv(), wsess_sent() or wsess_free().
 */
#ifndef WS_SESSION_H
#define WS_SESSION_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

/* Opcodes (RFC 6455 5.2). */
#define WSESS_OP_CONT		0x0
#define WSESS_OP_TEXT		0x1
#define WSESS_OP_BINARY		0x2
#define WSESS_OP_CLOSE		0x8
#define WSESS_OP_PING		0x9
#define WSESS_OP_PONG		0xa

/* Close status codes the session reports or sends (RFC 6455 7.4.1). */
#define WSESS_CLOSE_NORMAL	1000
#define WSESS_CLOSE_GOING_AWAY	1001
#define WSESS_CLOSE_PROTOCOL	1002
#define WSESS_CLOSE_NO_STATUS	1005	/* a close frame without a status */
#define WSESS_CLOSE_ABNORMAL	1006	/* no close frame at all */
#define WSESS_CLOSE_INVALID	1007
#define WSESS_CLOSE_POLICY	1008
#define WSESS_CLOSE_TOO_BIG	1009

#define WSESS_REASON_MAX	123	/* close reason octets (125 - status) */

enum wsess_state {
	WSESS_OPEN = 0,		/* messages flow */
	WSESS_CLOSING,		/* a close frame (ours, the echo of the
				   peer's, or ours after a bad frame) is
				   queued or sent: no message is delivered,
				   wsess_send() refuses, the close timeout
				   runs */
	WSESS_CLOSED,		/* close frames both ways: drop the
				   connection */
	WSESS_FAILED,		/* our close frame, after a bad frame from
				   the peer, is written: shut down writing,
				   discard input until EOF (lingering close) */
	WSESS_DEAD		/* out of memory: drop the connection */
};

/* wsess_recv() and wsess_timeout() results. */
enum wsess_ev {
	WSESS_EV_NONE = 0,
	WSESS_EV_NOMEM,		/* out of memory: the session is WSESS_DEAD */
	WSESS_EV_PROTO,		/* a bad frame: our close (fail, failwhy) is
				   queued, nothing more is read */
	WSESS_EV_IDLE,		/* idle timeout: close 1001 queued */
	WSESS_EV_EXPIRED,	/* wsess_expire()'s time: close 1008 queued */
	WSESS_EV_STALLED,	/* send_timeout: the peer takes none of our
				   output: drop the connection */
	WSESS_EV_CLOSE_TIMEOUT	/* the close handshake took too long: drop
				   the connection */
};

/* wsess_send() results. */
#define WSESS_SEND_OK		0
#define WSESS_SEND_CLOSED	(-1)	/* not WSESS_OPEN, or a bad opcode */
#define WSESS_SEND_NOMEM	(-3)

struct wsess_conf {
	size_t	max_message;	/* largest message; over -> close 1009 */
	double	idle_timeout;	/* seconds without input; 0 = none */
	double	close_timeout;	/* seconds from closing to dropping */
	double	send_timeout;	/* seconds blocked on output without any
				   progress before dropping; 0 = none */
};

/*
 * A complete data message: opcode WSESS_OP_TEXT (valid UTF-8) or
 * WSESS_OP_BINARY, at most max_message octets.  The octets are valid
 * during the call only.
 */
typedef void	(*wsess_msg_fn)(void *arg, int opcode, const uint8_t *,
		    size_t);

/* One queued frame: the header built here, the payload as given. */
struct wsess_frame {
	struct wsess_frame	*next;
	const uint8_t		*data;		/* payload */
	void			*own;		/* freed with the frame */
	size_t			 len;		/* payload octets */
	size_t			 off;		/* header and payload written */
	uint8_t			 hdr[10];
	uint8_t			 hlen;
	uint8_t			 op;
	uint8_t			 inl[];		/* payload copied in */
};

struct wsess {
	const struct wsess_conf	*conf;		/* the caller's */
	wsess_msg_fn		 msg_cb;
	void			*arg;
	enum wsess_state	 state;
	double			 now;		/* last time passed in */
	double			 last_rx;	/* last octets from the peer */
	double			 close_at;	/* closing since */
	double			 paused_at;
	double			 blocked_at;	/* output blocked since; 0: not */
	double			 expires;	/* close 1008 then; 0: never */

	/* Input kept for later (paused), from ioff to ilen. */
	uint8_t			*ibuf;
	size_t			 ilen;
	size_t			 ioff;

	/* The frame being read. */
	uint8_t			 hdr[14];	/* its header so far */
	uint8_t			 hdrlen;
	uint8_t			 hneed;		/* header octets needed */
	uint8_t			 fop;		/* its opcode */
	uint8_t			 utf8;		/* DFA state of the text */
	uint64_t		 flen;		/* its payload length */
	uint64_t		 fleft;		/* payload octets to come */
	uint64_t		 msglen;	/* data message so far, announced */
	uint8_t			*ctl;		/* control payload so far */
	uint8_t			*msg;		/* data message so far */
	size_t			 mlen;		/* octets in msg */
	size_t			 mcap;

	/* Output. */
	struct wsess_frame	*out;		/* the head is written first */
	struct wsess_frame	**outtail;
	struct wsess_frame	*pong;		/* queued, not started */
	struct wsess_frame	*closefr;	/* our close frame, queued */
	size_t			 queued;	/* payload octets queued */

	uint16_t		 fail;		/* close status for bad input */
	uint16_t		 close_sent;	/* status of the close written */
	uint16_t		 close_rcvd;	/* the peer's, as sent */
	const char		*failwhy;	/* for the log */

	unsigned int		 hdone:1;	/* header complete */
	unsigned int		 frag:1;	/* in a fragmented message */
	unsigned int		 text:1;	/* a text message */
	unsigned int		 ffin:1;	/* the frame ends its message */
	unsigned int		 inplace:1;	/* frame whole in the input */
	unsigned int		 paused:1;
	unsigned int		 closing:1;
	unsigned int		 got_close:1;	/* the peer's close frame */
	unsigned int		 sent_close:1;	/* our close frame written */
	unsigned int		 failed:1;	/* bad input: read shut */
};

/*
 * Start an open session at time now.  conf must outlive the session; cb
 * (may be NULL) gets every complete data message.
 */
void	 wsess_init(struct wsess *, const struct wsess_conf *,
	    wsess_msg_fn cb, void *arg, double now);
/* Release every buffer and queued frame (ws_session_send_take() too). */
void	 wsess_free(struct wsess *);

/*
 * n octets from the peer (buf may be NULL with n 0: just process the
 * input kept while paused).  buf is modified: payload is unmasked in
 * place.  Delivers messages through the callback, queues pongs and close
 * frames.  Input that cannot be processed now (paused) is kept; input
 * after the peer's close frame or a bad frame is discarded.  Returns
 * WSESS_EV_NONE, WSESS_EV_PROTO (a bad frame in this input: log s->fail
 * and s->failwhy) or WSESS_EV_NOMEM (the session is dead).
 */
enum wsess_ev wsess_recv(struct wsess *, uint8_t *buf, size_t n, double now);
/*
 * Queue a data message (opcode WSESS_OP_TEXT or WSESS_OP_BINARY), copied.
 * Returns WSESS_SEND_OK, WSESS_SEND_CLOSED (not WSESS_OPEN, or a bad
 * opcode) or WSESS_SEND_NOMEM; nothing is queued on error.  No bound
 * here: the caller keeps wsess_queued() within its own.
 */
int	 wsess_send(struct wsess *, int opcode, const uint8_t *, size_t);
/*
 * The same without a copy: data (len octets) lies in buf, which was
 * malloc'd; on WSESS_SEND_OK the session owns buf and frees it once the
 * frame is written (or by wsess_free()).  On error the caller keeps buf.
 */
int	 wsess_send_take(struct wsess *, int opcode, void *buf,
	    const uint8_t *data, size_t len);
/*
 * Start the close handshake (WSESS_OPEN only; otherwise nothing): our
 * close frame goes after everything queued; reason is cut at
 * WSESS_REASON_MAX octets (on a UTF-8 character boundary); code 0 sends
 * a close frame without a status.  Returns 0, or -1 if out of memory
 * (the session is WSESS_DEAD then).
 */
int	 wsess_close(struct wsess *, uint16_t code, const char *reason,
	    double now);
/*
 * Flow control: pause (1) stops delivering messages, even of frames
 * already received (the call that paused is the last delivery; the rest
 * of its input is kept); resume (0) lets the next wsess_recv() go on,
 * kept input first.  The idle timeout does not count paused time.
 * Pausing twice is pausing once.  Once closing, pausing no longer
 * matters: nothing is delivered, and input is read for the peer's close
 * frame.
 */
void	 wsess_pause(struct wsess *, int pause, double now);

/*
 * Up to max iovecs of queued output, oldest first; returns their number
 * (0: nothing to write).  Nothing may be queued between this call and
 * wsess_sent().
 */
int	 wsess_output(struct wsess *, struct iovec *, int max);
/* n octets of what wsess_output() handed out were written. */
void	 wsess_sent(struct wsess *, size_t n);
/*
 * The transport could (blocked 0) or could not (1) take output at time
 * now: blocked without progress for send_timeout seconds is
 * WSESS_EV_STALLED.  Output written counts as progress.
 */
void	 wsess_blocked(struct wsess *, int blocked, double now);
/*
 * The peer's credentials expire at this time: then WSESS_EV_EXPIRED, with
 * our close 1008 "credentials expired" queued.
 */
void	 wsess_expire(struct wsess *, double at);

/* 1 if the caller should read the peer (and feed wsess_recv()). */
int	 wsess_want_read(const struct wsess *);
/* 1 if output is queued. */
int	 wsess_want_write(const struct wsess *);
/* 1 if input was kept (paused): call wsess_recv(s, NULL, 0, now). */
int	 wsess_buffered(const struct wsess *);
/* 1 if paused and not closing: the caller waits for a resume. */
int	 wsess_paused(const struct wsess *);
/* Payload octets queued and not yet written (frame headers not counted). */
size_t	 wsess_queued(const struct wsess *);
enum wsess_state wsess_state(const struct wsess *);

/* The next deadline (idle, send or close timeout), or 0 for none. */
double	 wsess_next_deadline(const struct wsess *);
/*
 * Check the deadlines at time now: WSESS_EV_NONE, WSESS_EV_IDLE (our
 * close 1001 "idle timeout" is queued) or WSESS_EV_CLOSE_TIMEOUT (drop
 * the connection).
 */
enum wsess_ev wsess_timeout(struct wsess *, double now);

/* For the log: the status of our close frame written, else 1006. */
unsigned int wsess_status_sent(const struct wsess *);
/* For the log: the peer's close status as sent (1005: none), else 1006. */
unsigned int wsess_status_received(const struct wsess *);

#endif /* WS_SESSION_H */
