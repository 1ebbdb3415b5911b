/*
 * snap.h - a printf call taken apart at the call and put together later:
 * the format and the values of its arguments (a snapshot), formatted into
 * exactly the bytes vsnprintf(3) would have made at the call.
 *
 * The syslog hooks, and in capture mode the printf-style stderr hooks,
 * take a snapshot instead of formatting (snap_take):
 * the format is parsed, each argument read from the va_list by the type
 * its conversion says, strings copied, and %m's text (strerror of errno
 * at the call) copied once. mplogd formats a syslog snapshot, the shim's
 * pipeline thread a stderr one, whose lines are cut at its newlines
 * (snap_format): one conversion at a time, a bare string, character or
 * integer (no flag, width or precision) written directly, any other
 * through the C library's own snprintf with the same flags, width,
 * precision and length, so every conversion comes out as glibc makes it;
 * positional arguments (%2$s) are read by position.
 *
 * What is not taken, so that the caller formats as before: %n (it writes
 * to memory), wide characters and strings (%lc, %ls, %C, %S: their
 * multibyte form depends on the caller's locale), the ' and I flags
 * (locale digits), %#m (errno's name), the q length by position (glibc
 * reads it as an int there), floating conversions while the caller's decimal point
 * is not '.', conversions a program registered (register_printf_specifier),
 * unknown conversions, a format mixing positional and plain arguments or
 * leaving a position unused, and more than SNAP_ARGS_MAX arguments. The
 * shim also formats at the call a syslog call made from a signal handler
 * that interrupted a hook: snap_take uses about 5 KiB of stack.
 *
 * Layout of a snapshot, native byte order (it never leaves the machine):
 *   struct snap_hdr, then the format's bytes (fmt_len of them, no NUL) or,
 *   for SNAP_FMT_PTR, a pointer to the NUL-terminated format in memory
 *   that stays mapped (snap_resolve copies it in), then %m's text
 *   (err_len bytes), then the arguments: each a one-byte type and its
 *   value, strings as a 4-byte length and their bytes.
 * snap_format trusts nothing in a snapshot: lengths, types and the format
 * are checked against each other, and a snapshot that does not add up is
 * reported as such (-1), never read outside its bounds.
 */
#ifndef MPLOG_SNAP_H
#define MPLOG_SNAP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_ARGS_MAX  64
#define SNAP_FMT_PTR   0xffffu  /* fmt_len: a pointer follows instead */

struct snap_hdr {
	uint16_t fmt_len;       /* format bytes, or SNAP_FMT_PTR */
	uint16_t err_len;       /* bytes of %m's text */
	uint16_t nargs;
	uint16_t reserved;
};

/*
 * Take a snapshot of the call (fmt, ap) into buf (cap bytes). fmt_ptr:
 * store fmt as a pointer (the caller knows it stays mapped until
 * snap_resolve), else copy its bytes. err is errno at the call. The
 * snapshot's length, or -1 when the call is not one this takes (see
 * above) or does not fit: format it at the call instead. ap is consumed.
 *
 * text_len, when not NULL, receives the length of the text, what
 * vsnprintf would return, counted without formatting (fprintf must
 * return it at the call): the call is then taken only when it has no
 * floating conversion (whose length only formatting tells) and its text
 * is at most INT_MAX bytes.
 */
int snap_take(char *buf, size_t cap, const char *fmt, int fmt_ptr, int err, va_list ap,
    int *text_len);

/* The size of the snapshot once its format is copied in (snap_resolve),
 * or -1 when the snapshot is not one snap_take made. */
int snap_resolved_size(const char *snap, size_t len);

/* Copy snap (len bytes) to out with its format copied in: the size of
 * the copy, or -1. out holds snap_resolved_size bytes. */
int snap_resolve(const char *snap, size_t len, char *out, size_t cap);

/*
 * Format the snapshot snap (len bytes, its format copied in) into out
 * (cap bytes; the text is cut there, and not NUL-terminated). The
 * length of the text, or -1 when the snapshot does not add up.
 */
int snap_format(const char *snap, size_t len, char *out, size_t cap);

#endif
