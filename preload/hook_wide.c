/*
 * hook_wide.c - wide-character output to a stream whose descriptor is
 * stderr: the wprintf family with its fortified forms, fputws, fputwc,
 * putwc, putwchar and their _unlocked forms. The text is captured in its
 * multibyte form, as the stream would have written it.
 */
/* This file defines functions the headers inline when optimising. */
#include <features.h>
#undef __USE_EXTERN_INLINES

#include "errout.h"
#include "hook.h"
#include "real.h"

static int
hook_vfwprintf(FILE *fp, int flag, const wchar_t *fmt, va_list ap)
{
	int r;

	if (errout_hvwprintf(fp, flag, fmt, ap, &r))
		return r;
	return flag < 0 ? REAL(vfwprintf)(fp, fmt, ap) : REAL(__vfwprintf_chk)(fp, flag, fmt, ap);
}

HOOK_EXPORT int
vfwprintf(FILE *fp, const wchar_t *fmt, va_list ap)
{
	return hook_vfwprintf(fp, -1, fmt, ap);
}

HOOK_EXPORT int
__vfwprintf_chk(FILE *fp, int flag, const wchar_t *fmt, va_list ap)
{
	return hook_vfwprintf(fp, flag, fmt, ap);
}

HOOK_EXPORT int
vwprintf(const wchar_t *fmt, va_list ap)
{
	return hook_vfwprintf(stdout, -1, fmt, ap);
}

HOOK_EXPORT int
__vwprintf_chk(int flag, const wchar_t *fmt, va_list ap)
{
	return hook_vfwprintf(stdout, flag, fmt, ap);
}

HOOK_VA(fwprintf, (FILE *fp, const wchar_t *fmt, ...), fmt, hook_vfwprintf(fp, -1, fmt, ap))
HOOK_VA(__fwprintf_chk, (FILE *fp, int flag, const wchar_t *fmt, ...), fmt,
    hook_vfwprintf(fp, flag, fmt, ap))
HOOK_VA(wprintf, (const wchar_t *fmt, ...), fmt, hook_vfwprintf(stdout, -1, fmt, ap))
HOOK_VA(__wprintf_chk, (int flag, const wchar_t *fmt, ...), fmt,
    hook_vfwprintf(stdout, flag, fmt, ap))

#define HOOK_FPUTWS(name)						\
HOOK_EXPORT int								\
name(const wchar_t *ws, FILE *fp)					\
{									\
	int r;								\
									\
	if (errout_hwput(fp, ws, wcslen(ws), &r))			\
		return r == 0 ? 1 : EOF;				\
	return REAL(name)(ws, fp);					\
}

HOOK_FPUTWS(fputws)
HOOK_FPUTWS(fputws_unlocked)

#define HOOK_FPUTWC(name)						\
HOOK_EXPORT wint_t							\
name(wchar_t wc, FILE *fp)						\
{									\
	int r;								\
									\
	if (errout_hwput(fp, &wc, 1, &r))				\
		return r == 0 ? (wint_t)wc : WEOF;			\
	return REAL(name)(wc, fp);					\
}

HOOK_FPUTWC(fputwc)
HOOK_FPUTWC(fputwc_unlocked)
HOOK_FPUTWC(putwc)
HOOK_FPUTWC(putwc_unlocked)

#define HOOK_PUTWCHAR(name)						\
HOOK_EXPORT wint_t							\
name(wchar_t wc)							\
{									\
	int r;								\
									\
	if (errout_hwput(stdout, &wc, 1, &r))				\
		return r == 0 ? (wint_t)wc : WEOF;			\
	return REAL(name)(wc);						\
}

HOOK_PUTWCHAR(putwchar)
HOOK_PUTWCHAR(putwchar_unlocked)
