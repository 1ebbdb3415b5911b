/*
 * threadname.h - the name each thread of the process has when it logs
 * (what pthread_setname_np or prctl(PR_SET_NAME) set, else its comm),
 * for the pipeline to put in the thread's records.
 *
 * A thread learns its name (prctl(PR_GET_NAME), one system call) when it
 * first logs, and again after any thread was renamed: the rename hooks
 * bump a generation, which each capture compares with the one its slot
 * was filled in (two loads). Names are kept in the process's name table
 * (idents.h) and a slot holds a thread's id, the generation and the
 * name's index in one word. Before a rename takes effect, the hooks wait
 * (bounded) until the pipeline has every record pushed so far, so that
 * those carry the old name.
 *
 * Slots are THREADNAME_SLOTS, chosen by thread id: a thread whose slot
 * another thread took fills it again at its next capture; a record whose
 * slot its thread lost before the pipeline read it has no thread name.
 * Thread-safe, lock-free and async-signal-safe; errno is kept.
 */
#ifndef MPLOG_THREADNAME_H
#define MPLOG_THREADNAME_H

#include <stdint.h>

#define THREADNAME_SLOTS 4096u

/* Before a record of thread tid (the caller) is published: make sure
 * its slot holds its current name. */
void threadname_check(int32_t tid);

/* The name thread tid had at its last check, NUL-terminated; NULL when
 * unknown. For the pipeline thread. */
const char *threadname_get(int32_t tid);

/* A thread was renamed: every thread learns its name again. */
void threadname_renamed(void);

#endif
