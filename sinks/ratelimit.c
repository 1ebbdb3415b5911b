/* ratelimit.c - suppress one process's flood, and say how much. */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ratelimit_init(struct ratelimit *rl, uint32_t nlanes, uint32_t burst, int64_t interval_ns)
{
	memset(rl, 0, sizeof(*rl));
	if (burst == 0)
		return 0;
	rl->lanes = calloc(nlanes, sizeof(*rl->lanes));
	if (rl->lanes == NULL)
		return -1;
	rl->burst = burst;
	rl->interval_ns = interval_ns;
	rl->nlanes = nlanes;
	return 0;
}

/* Take the count of l's suppressed records into *rep, if its window is
 * over. */
static int
ratelimit_due(struct ratelimit_lane *l, int over, struct ratelimit_report *rep)
{
	if (l->suppressed == 0 || !over)
		return 0;
	*rep = (struct ratelimit_report){ l->pid, l->proc, l->suppressed };
	l->suppressed = 0;
	return 1;
}

int
ratelimit_take(struct ratelimit *rl, uint32_t lane, int32_t pid, const char *proc,
    int64_t now, struct ratelimit_report *rep)
{
	struct ratelimit_lane *l;

	rep->suppressed = 0;
	if (rl->burst == 0 || lane >= rl->nlanes)
		return 1;
	l = &rl->lanes[lane];
	if (l->pid != pid || now - l->start >= rl->interval_ns) {
		ratelimit_due(l, 1, rep);
		l->pid = pid;
		l->start = now;
		l->count = 0;
		l->suppressed = 0;
	}
	if (l->count < rl->burst) {
		l->count++;
		return 1;
	}
	if (l->suppressed++ == 0)
		snprintf(l->proc, sizeof(l->proc), "%s", proc);
	return 0;
}

int
ratelimit_sweep(struct ratelimit *rl, uint32_t *lane, int64_t now,
    struct ratelimit_report *rep)
{
	for (; *lane < rl->nlanes; (*lane)++)
		if (ratelimit_due(&rl->lanes[*lane], now - rl->lanes[*lane].start >=
		    rl->interval_ns, rep))
			return 1;
	return 0;
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl->lanes);
	memset(rl, 0, sizeof(*rl));     /* off, as before ratelimit_init */
}
