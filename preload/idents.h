/*
 * idents.h - the names a process gives, each under a small index that
 * its records carry from the hook to the pipeline thread (which writes
 * the name itself into the lane: shm/lane.h): the syslog idents it
 * opened, and its threads' names (threadname.h).
 *
 * Index 0 is the default ident (the program's name). openlog adds an
 * ident, or finds the index it had; the table grows in chunks of
 * IDENTS_CHUNK entries, mapped as they are first needed, up to
 * IDENTS_MAX - 1 idents a process (past that, openlog's ident is
 * recorded as the default). Entries are never freed: a process keeps its
 * idents for its life, and they go with it.
 *
 * Ordering: an entry's name is written, then its ready flag stored with
 * release; idents_get loads the flag with acquire. A chunk pointer is
 * installed with a release compare-and-swap and loaded with acquire.
 * Thread-safe; lock-free; async-signal-safe (mmap is).
 */
#ifndef MPLOG_IDENTS_H
#define MPLOG_IDENTS_H

#include <stdint.h>

#include "seg.h"

#define IDENTS_CHUNK  256u      /* entries mapped at a time: 9 KiB */
#define IDENTS_MAX    65536u    /* indexes, 0 included: a record's u16 */

/* The index of ident (NULL: 0), adding it (cut to SEG_NAME_MAX - 1
 * bytes) if new; 0 when the table is full or memory is short. */
uint16_t idents_add(const char *ident);

/* The ident at index i, NUL-terminated; NULL for 0 or none. */
const char *idents_get(uint16_t i);

#endif
