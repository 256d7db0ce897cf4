/*
 * benchutil.h -- what the benchmark programs share: clocks, the CPU time
 * of this and of watched processes, a latency histogram, percentiles.
 * Header-only (static functions); bench/ is built by bench/run, not by
 * the product's build.
 */
#ifndef BENCH_BENCHUTIL_H
#define BENCH_BENCHUTIL_H

#include <sys/resource.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BU_MAX_WATCH	4

/* Monotonic time in ns. */
static inline uint64_t
bu_mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time in us since the epoch (Kafka timestamps are in ms). */
static inline int64_t
bu_real_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU seconds (user + system) of this process, all threads. */
static inline double
bu_self_cpu(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU seconds (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock
 * ticks) of process pid, all threads; -1 if it cannot be read.
 */
static inline double
bu_proc_cpu(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	FILE			*f;
	unsigned long long	 ut, st;
	size_t			 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip to the last ')' */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Processes whose CPU time is read at the start and end of the window. */
struct bu_watch {
	int	 n;
	char	 name[BU_MAX_WATCH][32];
	pid_t	 pid[BU_MAX_WATCH];
	double	 t0[BU_MAX_WATCH];
	double	 t1[BU_MAX_WATCH];
};

/* "NAME=PID"; returns 0, or -1 if malformed or too many. */
static inline int
bu_watch_add(struct bu_watch *w, const char *spec)
{
	const char	*eq = strchr(spec, '=');
	size_t		 len;

	if (eq == NULL || w->n == BU_MAX_WATCH || (len = (size_t)(eq - spec)) == 0 ||
	    len >= sizeof(w->name[0]) || atoi(eq + 1) <= 0)
		return -1;
	memcpy(w->name[w->n], spec, len);
	w->name[w->n][len] = '\0';
	w->pid[w->n] = (pid_t)atoi(eq + 1);
	w->n++;
	return 0;
}

static inline void
bu_watch_snap(struct bu_watch *w, int end)
{
	int	 i;

	for (i = 0; i < w->n; i++)
		(end ? w->t1 : w->t0)[i] = bu_proc_cpu(w->pid[i]);
}

/* " cpu_NAME=SECONDS" for each watched process (-1 if unreadable) */
static inline void
bu_watch_print(const struct bu_watch *w, FILE *f)
{
	int	 i;

	for (i = 0; i < w->n; i++)
		fprintf(f, " cpu_%s=%.3f", w->name[i],
		    w->t0[i] < 0 || w->t1[i] < 0 ? -1.0 : w->t1[i] - w->t0[i]);
}

/*
 * A log-linear histogram of non-negative values (us): exact below 128,
 * then 64 buckets per power of two (1.6 % resolution), up to 2^40.
 */
#define BU_HIST_LIN	128
#define BU_HIST_SUB	64
#define BU_HIST_N	(BU_HIST_LIN + (40 - 7) * BU_HIST_SUB)

struct bu_hist {
	uint64_t	 count;
	uint64_t	 below;		/* negative values (clock skew): counted as 0 */
	int64_t		 max;
	double		 sum;
	uint64_t	 b[BU_HIST_N];
};

static inline int
bu_hist_index(int64_t v)
{
	int	 e;

	if (v < BU_HIST_LIN)
		return (int)v;
	e = 63 - __builtin_clzll((unsigned long long)v);
	if (e >= 40)
		return BU_HIST_N - 1;
	return BU_HIST_LIN + (e - 7) * BU_HIST_SUB +
	    (int)((v >> (e - 6)) & (BU_HIST_SUB - 1));
}

/* the lowest value of bucket i */
static inline int64_t
bu_hist_value(int i)
{
	int	 e, sub;

	if (i < BU_HIST_LIN)
		return i;
	e = (i - BU_HIST_LIN) / BU_HIST_SUB + 7;
	sub = (i - BU_HIST_LIN) % BU_HIST_SUB;
	return (int64_t)(BU_HIST_SUB + sub) << (e - 6);
}

static inline void
bu_hist_add(struct bu_hist *h, int64_t v)
{
	if (v < 0) {
		h->below++;
		v = 0;
	}
	h->b[bu_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static inline void
bu_hist_merge(struct bu_hist *to, const struct bu_hist *from)
{
	int	 i;

	for (i = 0; i < BU_HIST_N; i++)
		to->b[i] += from->b[i];
	to->count += from->count;
	to->below += from->below;
	to->sum += from->sum;
	if (from->max > to->max)
		to->max = from->max;
}

/* the value at quantile q (0..1); -1 if empty */
static inline int64_t
bu_hist_quantile(const struct bu_hist *h, double q)
{
	uint64_t	 rank, seen = 0;
	int		 i;

	if (h->count == 0)
		return -1;
	rank = (uint64_t)(q * (double)(h->count - 1)) + 1;
	for (i = 0; i < BU_HIST_N; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return bu_hist_value(i) > h->max ? h->max : bu_hist_value(i);
	}
	return h->max;
}

static inline int
bu_cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* quantile q of n sorted values */
static inline uint64_t
bu_sorted_quantile(const uint64_t *v, size_t n, double q)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Raise the soft limit of open files to the hard limit. */
static inline void
bu_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif /* BENCH_BENCHUTIL_H */
