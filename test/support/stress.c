/* Concurrency stress scenarios for chan and msg (see stress.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/stress.h"
#include "wshub/chan.h"
#include "wshub/msg.h"
#include "wshub/xmalloc.h"

/* An item carries (producer, sequence) packed into a pointer-sized value. */
#define SEQ_BITS 32
#define ITEM(p, s) ((void *)(uintptr_t)(((uint64_t)(p) << SEQ_BITS) | (uint64_t)(s)))
#define ITEM_PRODUCER(v) ((int)((uintptr_t)(v) >> SEQ_BITS))
#define ITEM_SEQ(v) ((uint32_t)((uintptr_t)(v) & 0xffffffffu))

struct mpmc {
	chan_t *ch;
	int producers;
	int per_producer;
	atomic_int next_producer;
	atomic_int errors;
	atomic_uchar *seen; /* producers * per_producer flags */
};

static void *
producer_main(void *arg)
{
	struct mpmc *t = arg;
	int id = atomic_fetch_add(&t->next_producer, 1);

	for (int s = 0; s < t->per_producer; s++)
		if (chan_send(t->ch, ITEM(id, s + 1)) != CHAN_OK)
			atomic_fetch_add(&t->errors, 1);
	return NULL;
}

static void *
consumer_main(void *arg)
{
	struct mpmc *t = arg;
	uint32_t *last = xcalloc((size_t)t->producers, sizeof(*last));
	void *v;

	while (chan_recv(t->ch, &v) == CHAN_OK) {
		int p = ITEM_PRODUCER(v);
		uint32_t s = ITEM_SEQ(v);

		/* One consumer sees a producer's items in increasing order. */
		if (p < 0 || p >= t->producers || s <= last[p] ||
		    atomic_fetch_add(&t->seen[(size_t)p * t->per_producer + s - 1], 1))
			atomic_fetch_add(&t->errors, 1);
		else
			last[p] = s;
	}
	free(last);
	return NULL;
}

int
stress_chan_mpmc(int producers, int consumers, int per_producer, int cap)
{
	struct mpmc t = { .producers = producers, .per_producer = per_producer };
	pthread_t *pt = xcalloc((size_t)producers, sizeof(*pt));
	pthread_t *ct = xcalloc((size_t)consumers, sizeof(*ct));
	size_t total = (size_t)producers * per_producer, missing = 0;

	t.ch = chan_new((size_t)cap, 0);
	t.seen = xcalloc(total, sizeof(*t.seen));
	for (int i = 0; i < consumers; i++)
		pthread_create(&ct[i], NULL, consumer_main, &t);
	for (int i = 0; i < producers; i++)
		pthread_create(&pt[i], NULL, producer_main, &t);
	for (int i = 0; i < producers; i++)
		pthread_join(pt[i], NULL);
	chan_close(t.ch); /* consumers drain what is left, then see CLOSED */
	for (int i = 0; i < consumers; i++)
		pthread_join(ct[i], NULL);
	for (size_t i = 0; i < total; i++)
		missing += atomic_load(&t.seen[i]) != 1;
	if (missing || atomic_load(&t.errors))
		fprintf(stderr, "stress_chan_mpmc: %zu items missing or repeated, "
		    "%d out of order or refused\n", missing, atomic_load(&t.errors));
	chan_free(t.ch);
	free(t.seen);
	free(pt);
	free(ct);
	return missing || atomic_load(&t.errors) ? -1 : 0;
}

struct unref_job {
	msg_t *m;
	int refs;
	pthread_barrier_t *start;
};

static void *
unref_main(void *arg)
{
	struct unref_job *j = arg;

	pthread_barrier_wait(j->start);
	for (int i = 0; i < j->refs; i++)
		msg_unref(j->m);
	return NULL;
}

int
stress_msg_unref(int threads, int refs_each)
{
	pthread_t *tid = xcalloc((size_t)threads, sizeof(*tid));
	struct unref_job *jobs = xcalloc((size_t)threads, sizeof(*jobs));
	pthread_barrier_t start;
	long base = msg_live();
	msg_t *m = msg_new_frame(MSG_TEXT, "shared", 6);
	int rc = 0;

	/* The creator's reference plus threads * refs_each more. */
	for (int i = 0; i < threads * refs_each; i++)
		msg_ref(m);
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct unref_job){ m, refs_each, &start };
		pthread_create(&tid[i], NULL, unref_main, &jobs[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	/* Every thread's unref is done and ours keeps it alive: bytes intact. */
	if (msg_payload_len(m) != 6 || msg_payload(m)[0] != 's') {
		fprintf(stderr, "stress_msg_unref: message damaged\n");
		rc = -1;
	}
	if (msg_live() != base + 1) {
		fprintf(stderr, "stress_msg_unref: freed before the last unref\n");
		rc = -1;
	}
	msg_unref(m); /* the last reference frees it, exactly once */
	if (msg_live() != base) {
		fprintf(stderr, "stress_msg_unref: not freed by the last unref\n");
		rc = -1;
	}
	pthread_barrier_destroy(&start);
	free(jobs);
	free(tid);
	return rc;
}
