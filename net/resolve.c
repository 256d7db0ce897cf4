/*
 * resolve.c -- getaddrinfo() in a worker thread, answers on the loop.
 *
 * The loop side (struct nres) owns the ev_async; the state both sides
 * touch (struct nres_shared: the queues, the flags) is guarded by one mutex
 * and reference counted, so that nres_free() never waits for a lookup the
 * name server is sitting on: the thread drops the last reference when it
 * is done.  The thread wakes the loop only while the resolver lives
 * (checked under the mutex, so ev_async_send() never hits a stopped
 * watcher).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "net/resolve.h"

TAILQ_HEAD(nres_queue, nres_query);

struct nres_shared {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct nres_queue	 todo;		/* waiting for the thread */
	struct nres_queue	 done;		/* answered, for the loop */
	struct ev_loop		*loop;
	ev_async		*async;		/* the loop's, while !stopping */
	int			 refs;
	int			 stopping;
	int			 busy;		/* the thread is in getaddrinfo() */
};

struct nres {
	struct nres_shared	*sh;
	ev_async		 async;
	pthread_t		 thread;
	int			 started;
};

struct nres_query {
	TAILQ_ENTRY(nres_query)	 entry;
	struct nres		*r;
	char			*host;
	char			 port[8];
	nres_cb			 cb;
	void			*arg;
	int			 where;		/* NQ_* */
	int			 cancelled;
	int			 err;
	struct addrinfo		*res;
};

#define NQ_TODO		1
#define NQ_RUNNING	2
#define NQ_DONE		3
#define NQ_DELIVERING	4

static void	*nres_thread(void *);
static void	 nres_async_cb(struct ev_loop *, ev_async *, int);

static void
nq_free(struct nres_query *q)
{
	if (q->res != NULL)
		freeaddrinfo(q->res);
	free(q->host);
	free(q);
}

/* Drop a reference; the last one frees.  Called with mu held: unlocks. */
static void
nres_shared_unref_unlock(struct nres_shared *sh)
{
	int	 last = --sh->refs == 0;

	(void)pthread_mutex_unlock(&sh->mu);
	if (!last)
		return;
	(void)pthread_cond_destroy(&sh->cv);
	(void)pthread_mutex_destroy(&sh->mu);
	free(sh);
}

struct nres *
nres_new(struct ev_loop *loop)
{
	struct nres		*r;
	struct nres_shared	*sh;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((sh = calloc(1, sizeof(*sh))) == NULL) {
		free(r);
		return NULL;
	}
	if (pthread_mutex_init(&sh->mu, NULL) != 0) {
		free(sh);
		free(r);
		return NULL;
	}
	if (pthread_cond_init(&sh->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&sh->mu);
		free(sh);
		free(r);
		return NULL;
	}
	TAILQ_INIT(&sh->todo);
	TAILQ_INIT(&sh->done);
	sh->loop = loop;
	sh->async = &r->async;
	sh->refs = 1;
	r->sh = sh;
	ev_async_init(&r->async, nres_async_cb);
	r->async.data = r;
	ev_async_start(loop, &r->async);
	/* Answers alone must not keep ev_run() going. */
	ev_unref(loop);
	return r;
}

void
nres_free(struct nres *r)
{
	struct nres_shared	*sh;
	struct nres_query	*q;
	int			 busy;

	if (r == NULL)
		return;
	sh = r->sh;
	(void)pthread_mutex_lock(&sh->mu);
	sh->stopping = 1;
	sh->async = NULL;
	while ((q = TAILQ_FIRST(&sh->todo)) != NULL) {
		TAILQ_REMOVE(&sh->todo, q, entry);
		nq_free(q);
	}
	while ((q = TAILQ_FIRST(&sh->done)) != NULL) {
		TAILQ_REMOVE(&sh->done, q, entry);
		nq_free(q);
	}
	busy = sh->busy;
	(void)pthread_cond_signal(&sh->cv);
	(void)pthread_mutex_unlock(&sh->mu);
	ev_ref(sh->loop);
	ev_async_stop(sh->loop, &r->async);
	if (r->started) {
		/*
		 * An idle thread exits at once: wait for it.  One inside
		 * getaddrinfo() may take the name server's time: let it go;
		 * it frees what it holds and drops its reference.
		 */
		if (busy)
			(void)pthread_detach(r->thread);
		else
			(void)pthread_join(r->thread, NULL);
	}
	(void)pthread_mutex_lock(&sh->mu);
	nres_shared_unref_unlock(sh);
	free(r);
}

static int
nres_start(struct nres *r)
{
	sigset_t	 all, old;
	int		 rc;

	/* Signals stay with the loop's thread. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	(void)pthread_mutex_lock(&r->sh->mu);
	r->sh->refs++;
	(void)pthread_mutex_unlock(&r->sh->mu);
	rc = pthread_create(&r->thread, NULL, nres_thread, r->sh);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		(void)pthread_mutex_lock(&r->sh->mu);
		r->sh->refs--;
		(void)pthread_mutex_unlock(&r->sh->mu);
		return -1;
	}
	r->started = 1;
	return 0;
}

struct nres_query *
nres_lookup(struct nres *r, const char *host, int port, nres_cb cb, void *arg)
{
	struct nres_query	*q;

	if (!r->started && nres_start(r) != 0)
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->host = strdup(host)) == NULL) {
		free(q);
		return NULL;
	}
	(void)snprintf(q->port, sizeof(q->port), "%d", port);
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	(void)pthread_mutex_lock(&r->sh->mu);
	q->where = NQ_TODO;
	TAILQ_INSERT_TAIL(&r->sh->todo, q, entry);
	(void)pthread_cond_signal(&r->sh->cv);
	(void)pthread_mutex_unlock(&r->sh->mu);
	return q;
}

void
nres_cancel(struct nres_query *q)
{
	struct nres_shared	*sh;

	if (q == NULL)
		return;
	sh = q->r->sh;
	(void)pthread_mutex_lock(&sh->mu);
	switch (q->where) {
	case NQ_TODO:
		TAILQ_REMOVE(&sh->todo, q, entry);
		(void)pthread_mutex_unlock(&sh->mu);
		nq_free(q);
		return;
	case NQ_DONE:
		TAILQ_REMOVE(&sh->done, q, entry);
		(void)pthread_mutex_unlock(&sh->mu);
		nq_free(q);
		return;
	default:
		/* Running: the loop frees it when it comes back. */
		q->cancelled = 1;
		(void)pthread_mutex_unlock(&sh->mu);
		return;
	}
}

static void *
nres_thread(void *arg)
{
	struct nres_shared	*sh = arg;
	struct nres_query	*q;
	struct addrinfo		 hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	(void)pthread_mutex_lock(&sh->mu);
	for (;;) {
		while (!sh->stopping && TAILQ_EMPTY(&sh->todo))
			(void)pthread_cond_wait(&sh->cv, &sh->mu);
		if (sh->stopping)
			break;
		q = TAILQ_FIRST(&sh->todo);
		TAILQ_REMOVE(&sh->todo, q, entry);
		q->where = NQ_RUNNING;
		sh->busy = 1;
		(void)pthread_mutex_unlock(&sh->mu);
		q->err = getaddrinfo(q->host, q->port, &hints, &q->res);
		if (q->err != 0)
			q->res = NULL;
		(void)pthread_mutex_lock(&sh->mu);
		sh->busy = 0;
		if (sh->stopping) {
			nq_free(q);
			break;
		}
		q->where = NQ_DONE;
		TAILQ_INSERT_TAIL(&sh->done, q, entry);
		ev_async_send(sh->loop, sh->async);
	}
	nres_shared_unref_unlock(sh);
	return NULL;
}

/* Deliver answers one at a time: a callback may cancel the next one. */
static void
nres_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct nres		*r = w->data;
	struct nres_shared	*sh = r->sh;
	struct nres_query	*q;
	struct addrinfo		*res;

	(void)loop;
	(void)revents;
	for (;;) {
		(void)pthread_mutex_lock(&sh->mu);
		if ((q = TAILQ_FIRST(&sh->done)) != NULL) {
			TAILQ_REMOVE(&sh->done, q, entry);
			q->where = NQ_DELIVERING;
		}
		(void)pthread_mutex_unlock(&sh->mu);
		if (q == NULL)
			return;
		if (q->cancelled) {
			nq_free(q);
			continue;
		}
		res = q->res;
		q->res = NULL;
		q->cb(q->arg, q->err, res);
		nq_free(q);
	}
}
