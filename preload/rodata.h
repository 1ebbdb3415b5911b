/*
 * rodata.h - is a format string in read-only memory that stays mapped?
 *
 * A syslog snapshot (shm/snap.h) keeps its format as a pointer when the
 * format lies in a read-only segment of an object loaded when the shim
 * started (the program, its libraries): the pipeline thread copies it in
 * later, and the caller copies nothing. Any other format is copied at
 * the call. The table of such segments is made at load; dlclose (hooked)
 * marks it changing, has the pipeline copy every pending format in, and
 * makes it again after the object is gone. Lookups are lock-free and
 * async-signal-safe; a lookup that meets the table changing says no.
 */
#ifndef MPLOG_RODATA_H
#define MPLOG_RODATA_H

/* Make the table (at load, and after a dlclose). */
void rodata_build(void);

/* A dlclose is coming: lookups say no until rodata_build. */
void rodata_changing(void);

/* 1 when the NUL-terminated string at p lies in a read-only segment of an
 * object the table holds. */
int rodata_has(const char *p);

#endif
