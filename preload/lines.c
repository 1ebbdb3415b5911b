/* lines.c - per-thread line assembly for the pipeline thread. */
#include "lines.h"

#include <stdlib.h>
#include <string.h>

#include "pri.h"

/* Hand a line to emit; the first piece of a stderr or stdout line gives up
 * its "<N>" priority prefix, which sets the priority of the whole line. */
static void
lines_deliver(struct lines_line *l, int first, lines_emit_fn emit, void *arg)
{
	if (first && heapring_is_stream(l->kind)) {
		size_t k = pri_prefix(l->data, l->len, &l->pri);

		l->data += k;
		l->len -= (uint32_t)k;
	}
	emit(arg, l);
}

/* Deliver data as one or more lines of at most LINES_MAX bytes; first
 * when no piece of the line has gone yet. */
static void
lines_emit_all(struct lines_line *l, const char *data, uint32_t len, int first,
    lines_emit_fn emit, void *arg)
{
	while (len > LINES_MAX) {
		l->data = data;
		l->len = LINES_MAX;
		l->flags = LINES_F_SPLIT;
		lines_deliver(l, first, emit, arg);
		first = 0;
		data += LINES_MAX;
		len -= LINES_MAX;
	}
	l->data = data;
	l->len = len;
	l->flags = 0;
	lines_deliver(l, first, emit, arg);
}

/* Deliver a thread's unfinished line and remove it from the table. */
static void
lines_emit_part(struct lines *ls, uint32_t i, lines_emit_fn emit, void *arg)
{
	struct lines_part *p = &ls->parts[i];
	struct lines_line l = {
		.ts_ns = p->ts_ns, .tid = p->tid, .kind = p->kind, .pri = p->pri,
		.level = p->level,
	};

	lines_emit_all(&l, p->buf, p->len, !p->cont, emit, arg);
	free(p->buf);
	ls->parts[i] = ls->parts[--ls->nparts];
}

/* The unfinished line of tid on the stream of kind, or NULL. */
static struct lines_part *
lines_find(struct lines *ls, int32_t tid, uint8_t kind)
{
	for (uint32_t i = 0; i < ls->nparts; i++)
		if (ls->parts[i].tid == tid && ls->parts[i].kind == kind)
			return &ls->parts[i];
	return NULL;
}

/* Start an unfinished line for rec's thread, making room if needed. */
static struct lines_part *
lines_start(struct lines *ls, const struct heapring_rec *rec, lines_emit_fn emit, void *arg)
{
	struct lines_part *p;

	if (ls->nparts == LINES_PARTS) {
		uint32_t oldest = 0;

		for (uint32_t i = 1; i < ls->nparts; i++)
			if (ls->parts[i].last_ns < ls->parts[oldest].last_ns)
				oldest = i;
		lines_emit_part(ls, oldest, emit, arg);
	}
	p = &ls->parts[ls->nparts];
	p->buf = malloc(LINES_MAX);
	if (p->buf == NULL)
		return NULL;
	ls->nparts++;
	p->tid = rec->tid;
	p->kind = rec->kind;
	p->pri = rec->pri;
	p->ts_ns = rec->ts_ns;
	p->level = rec->level;
	p->len = 0;
	p->cont = 0;
	return p;
}

/*
 * Append bytes to tid's unfinished line. A full buffer leaves as a split
 * piece only when more bytes of the line follow: a line of exactly
 * LINES_MAX bytes whose newline comes in a later record is one line.
 */
static void
lines_append(struct lines *ls, const struct heapring_rec *rec, const char *data,
    uint32_t len, lines_emit_fn emit, void *arg)
{
	struct lines_part *p = lines_find(ls, rec->tid, rec->kind);

	while (len > 0) {
		if (p == NULL && (p = lines_start(ls, rec, emit, arg)) == NULL) {
			struct lines_line l = { .ts_ns = rec->ts_ns, .tid = rec->tid,
			    .kind = rec->kind, .pri = rec->pri, .level = rec->level };
			lines_emit_all(&l, data, len, 1, emit, arg);   /* no memory */
			return;
		}
		if (p->len == LINES_MAX) {
			struct lines_line l = { .ts_ns = p->ts_ns, .tid = p->tid,
			    .kind = p->kind, .pri = p->pri, .level = p->level,
			    .flags = LINES_F_SPLIT, .data = p->buf, .len = p->len };
			lines_deliver(&l, !p->cont, emit, arg);
			p->pri = l.pri;
			p->cont = 1;
			p->len = 0;
			p->ts_ns = rec->ts_ns;
		}
		uint32_t n = LINES_MAX - p->len < len ? LINES_MAX - p->len : len;
		memcpy(p->buf + p->len, data, n);
		p->len += n;
		p->last_ns = rec->ts_ns;
		data += n;
		len -= n;
	}
}

/* Feed stderr or stdout bytes: each newline ends the thread's current
 * line on that stream. */
static void
lines_feed_bytes(struct lines *ls, const struct heapring_rec *rec,
    lines_emit_fn emit, void *arg)
{
	const char *p = rec->data, *end = rec->data + rec->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			lines_append(ls, rec, p, (uint32_t)(end - p), emit, arg);
			return;
		}
		struct lines_part *part = lines_find(ls, rec->tid, rec->kind);
		if (part != NULL) {
			lines_append(ls, rec, p, (uint32_t)(nl - p), emit, arg);
			part = lines_find(ls, rec->tid, rec->kind);
			if (part != NULL)
				lines_emit_part(ls, (uint32_t)(part - ls->parts), emit, arg);
		} else {
			struct lines_line l = { .ts_ns = rec->ts_ns, .tid = rec->tid,
			    .kind = rec->kind, .pri = rec->pri, .level = rec->level };
			lines_emit_all(&l, p, (uint32_t)(nl - p), 1, emit, arg);
		}
		p = nl + 1;
	}
}

void
lines_feed(struct lines *ls, const struct heapring_rec *rec, lines_emit_fn emit, void *arg)
{
	struct lines_line l = {
		.ts_ns = rec->ts_ns, .tid = rec->tid, .kind = rec->kind,
		.pri = rec->pri, .level = rec->level, .ident = rec->ident,
	};
	uint32_t len = rec->len;

	if (heapring_is_stream(rec->kind)) {
		lines_feed_bytes(ls, rec, emit, arg);
		return;
	}
	if (len > 0 && rec->data[len - 1] == '\n')
		len--;
	lines_emit_all(&l, rec->data, len, 1, emit, arg);
}

void
lines_flush(struct lines *ls, uint64_t cutoff_ns, lines_emit_fn emit, void *arg)
{
	for (uint32_t i = 0; i < ls->nparts;) {
		if (ls->parts[i].last_ns <= cutoff_ns)
			lines_emit_part(ls, i, emit, arg);
		else
			i++;
	}
}

void
lines_reset(struct lines *ls)
{
	for (uint32_t i = 0; i < ls->nparts; i++)
		free(ls->parts[i].buf);
	ls->nparts = 0;
}
