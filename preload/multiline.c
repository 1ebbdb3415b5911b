/* multiline.c - a thread's continuation lines joined into one record. */
#include "multiline.h"

#include <string.h>
#include <sys/mman.h>

#include "heapring.h"

/* Where a held record stands, for the lines that may follow it. */
enum multiline_state {
	ML_PLAIN = 0,
	ML_PY,          /* in a Python traceback's frames */
	ML_PY_END,      /* after its exception line: a chain may follow */
	ML_CONTEXT,     /* after a gcc context line: the next line belongs */
};

#define ML_PY_OPEN "Traceback (most recent call last):"

/* Does line l (n bytes) start with the string s? */
static int
ml_starts(const char *l, uint32_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(l, s, k) == 0;
}

/* Does line l end with the string s? */
static int
ml_ends(const char *l, uint32_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(l + n - k, s, k) == 0;
}

/* Is l a line of Python's exception chaining? */
static int
ml_py_chain(const char *l, uint32_t n)
{
	return ml_starts(l, n, "During handling of the above exception") ||
	    ml_starts(l, n, "The above exception was the direct cause") ||
	    ml_starts(l, n, ML_PY_OPEN);
}

/* Is l a gcc or clang context line, which the next line belongs to? */
static int
ml_context(const char *l, uint32_t n)
{
	/* The quotes around the name are the locale's. */
	return ml_starts(l, n, "In file included from ") ||
	    (ml_ends(l, n, ":") && (memmem(l, n, ": In function ", 14) != NULL ||
	    memmem(l, n, ": In member function ", 21) != NULL ||
	    memmem(l, n, ": In instantiation of ", 22) != NULL ||
	    memmem(l, n, ": In lambda function", 20) != NULL)) ||
	    ml_ends(l, n, ": At top level:");
}

/* The state a record is in once line l (n bytes) joined it in state st. */
static uint8_t
ml_next_state(uint8_t st, const char *l, uint32_t n)
{
	int indented = n > 0 && (l[0] == ' ' || l[0] == '\t');

	if (n == sizeof(ML_PY_OPEN) - 1 && memcmp(l, ML_PY_OPEN, n) == 0)
		return ML_PY;
	if (st == ML_PY && n > 0 && !indented && !ml_py_chain(l, n))
		return ML_PY_END;
	if (st == ML_PY || st == ML_PY_END)
		return st;
	if (ml_context(l, n))
		return ML_CONTEXT;
	return indented ? st : ML_PLAIN;
}

/* Does line l continue held record g, in content? */
static int
ml_continues(const struct multiline_group *g, const char *l, uint32_t n)
{
	if (n > 0 && (l[0] == ' ' || l[0] == '\t'))
		return 1;
	switch (g->state) {
	case ML_PY:
		return 1;       /* a frame, an empty line, or the exception */
	case ML_PY_END:
		return n == 0 || ml_py_chain(l, n);
	case ML_CONTEXT:
		return 1;
	default:
		return ml_starts(l, n, "Caused by: ") || ml_starts(l, n, "Suppressed: ");
	}
}

/* The held record of thread tid, or NULL. */
static struct multiline_group *
ml_find(struct multiline *m, int32_t tid)
{
	for (int i = 0; i < MULTILINE_GROUPS; i++)
		if (m->g[i].tid == tid && tid != 0)
			return &m->g[i];
	return NULL;
}

/* Send held record g out and free it. */
static void
ml_emit(struct multiline_group *g, lines_emit_fn emit, void *arg)
{
	struct lines_line l = { .ts_ns = g->ts, .tid = g->tid, .kind = g->kind, .pri = g->pri,
	    .flags = g->lines > 1 ? LINES_F_MULTI : 0, .level = g->level, .ident = g->ident,
	    .data = g->buf, .len = g->len };

	g->tid = 0;
	emit(arg, &l);
}

/* A free slot (the oldest held record goes out when none is), or NULL
 * when no memory could be mapped. */
static struct multiline_group *
ml_slot(struct multiline *m, lines_emit_fn emit, void *arg)
{
	struct multiline_group *oldest = &m->g[0];

	if (m->arena == NULL) {
		void *a = mmap(NULL, (size_t)MULTILINE_GROUPS * LINES_MAX, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (a == MAP_FAILED)
			return NULL;
		m->arena = a;
		for (int i = 0; i < MULTILINE_GROUPS; i++)
			m->g[i].buf = m->arena + (size_t)i * LINES_MAX;
	}
	for (int i = 0; i < MULTILINE_GROUPS; i++) {
		if (m->g[i].tid == 0)
			return &m->g[i];
		if (m->g[i].last_ts < oldest->last_ts)
			oldest = &m->g[i];
	}
	ml_emit(oldest, emit, arg);
	return oldest;
}

/* Hold line l in a new record; 0, or -1 when it cannot be held. */
static int
ml_hold(struct multiline *m, const struct lines_line *l, lines_emit_fn emit, void *arg)
{
	struct multiline_group *g = ml_slot(m, emit, arg);

	if (g == NULL)
		return -1;
	g->tid = l->tid;
	g->kind = l->kind;
	g->pri = l->pri;
	g->level = l->level;
	g->ident = l->ident;
	g->ts = g->last_ts = l->ts_ns;
	g->lines = 1;
	g->len = l->len;
	g->state = ml_next_state(ML_PLAIN, l->data, l->len);
	memcpy(g->buf, l->data, l->len);
	return 0;
}

void
multiline_add(struct multiline *m, const struct lines_line *l, lines_emit_fn emit, void *arg)
{
	struct multiline_group *g = ml_find(m, l->tid);
	int groupable = heapring_is_stream(l->kind) && !(l->flags & LINES_F_SPLIT);

	if (g != NULL && groupable && g->kind == l->kind && l->ts_ns >= g->last_ts &&
	    l->ts_ns - g->last_ts <= (uint64_t)MULTILINE_GAP_NS &&
	    (uint64_t)g->len + 1 + l->len <= LINES_MAX && ml_continues(g, l->data, l->len)) {
		g->buf[g->len++] = '\n';
		memcpy(g->buf + g->len, l->data, l->len);
		g->len += l->len;
		g->lines++;
		g->last_ts = l->ts_ns;
		g->state = ml_next_state(g->state, l->data, l->len);
		return;
	}
	if (g != NULL)
		ml_emit(g, emit, arg);
	if (!groupable || ml_hold(m, l, emit, arg) == -1)
		emit(arg, l);
}

void
multiline_flush(struct multiline *m, uint64_t before_ns, int32_t tid, lines_emit_fn emit,
    void *arg)
{
	for (int i = 0; i < MULTILINE_GROUPS; i++)
		if (m->g[i].tid != 0 && (m->g[i].last_ts < before_ns || m->g[i].tid == tid))
			ml_emit(&m->g[i], emit, arg);
}

int
multiline_pending(const struct multiline *m)
{
	for (int i = 0; i < MULTILINE_GROUPS; i++)
		if (m->g[i].tid != 0)
			return 1;
	return 0;
}
