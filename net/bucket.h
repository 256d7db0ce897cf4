/*
 * bucket.h -- a token bucket: tokens come back at a rate, up to a cap.
 * No clock of its own: the caller passes the time.  Used for the client
 * log lines, the command and byte rates of a session, and the failed
 * admissions of an address.
 */
#ifndef NET_BUCKET_H
#define NET_BUCKET_H

struct bucket {
	double	 tokens;
	double	 at;		/* last refilled; 0: never used (full) */
};

/* Refill b for time now (full on first use); its tokens then. */
static inline double
bucket_fill(struct bucket *b, double now, double rate, double cap)
{
	if (b->at == 0)
		b->tokens = cap;
	else if (now > b->at)
		b->tokens += (now - b->at) * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->at = now;
	return b->tokens;
}

#endif /* NET_BUCKET_H */
