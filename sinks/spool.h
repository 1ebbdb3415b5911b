/*
 * spool.h - a forwarding sink's queue on disk, for outages longer than
 * its memory queue lasts (spool=DIR, spool-max=SIZE).
 *
 * Entries (one message each, as it is sent, without a transport's
 * framing) are appended to numbered files DIR/spool.N (a new one past
 * SPOOL_FILE_MAX bytes) and handed back oldest first, a batch at a time.
 * DIR/spool.pos names the first entry not yet known to be sent: a batch
 * counts as sent only when the next one is taken (the forwarder takes one
 * once it has sent everything before), so after a restart at most the
 * last batch is sent again. Files wholly sent are removed. What would take
 * the spool past its maximum is refused, and the caller counts it lost.
 * DIR holds one spool: it is locked (flock) while open.
 *
 * mplogd's main thread only. Appends are not synced: the spool survives a
 * restart or a crash of mplogd, not a crash of the machine.
 */
#ifndef MPLOG_SPOOL_H
#define MPLOG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_FILE_MAX    (8u << 20)        /* bytes of one spool file */
#define SPOOL_ENTRY_MAX   (1u << 20)        /* longest entry; a longer one is damage */
#define SPOOL_MAX_DEFAULT (1024ull << 20)   /* spool-max when not given */
#define SPOOL_FIRST       (UINT64_C(1) << 32)  /* number of the first file; older
                                                 * ones may be made in front of it */

struct spool;

/* Open (making DIR, mode 0700, when missing) the spool in dir, at most
 * max bytes. NULL with a message naming dir in why. */
struct spool *spool_open(const char *dir, uint64_t max, char *why, size_t len);

/* 1 while the spool holds entries not handed out yet, or handed out but
 * not known to be sent: new entries must then follow them. */
int spool_active(const struct spool *sp);

/* Append an entry. 0, or -1: ENOSPC past the maximum, or the error of the
 * write. */
int spool_put(struct spool *sp, const char *p, size_t n);

/* Put entries in front of every other (the memory queue of a forwarder
 * that stops, older than what it spooled): spool_front_begin(), then
 * spool_put_front() for each, oldest first, then spool_front_end(). Only
 * while nothing of the spool was handed out: -1 otherwise. */
int spool_front_begin(struct spool *sp);
int spool_put_front(struct spool *sp, const char *p, size_t n);
void spool_front_end(struct spool *sp);

/* The previous batch was sent: mark it so, then hand out the next entries,
 * oldest first, up to about max bytes, to fn (which returns -1 to stop
 * early: that entry and those after stay). The number handed out. */
size_t spool_take(struct spool *sp, size_t max, int (*fn)(void *arg, const char *p, size_t n),
    void *arg);

/* Bytes of entries waiting, about (whole files; what was sent of the
 * first one included). */
uint64_t spool_bytes(const struct spool *sp);

/* Close; sent says whether the last batch was sent. */
void spool_close(struct spool *sp, int sent);

#endif
