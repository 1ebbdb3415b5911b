/*
 * hook_exec.c - the exec family replaces the process image without
 * running destructors, so the lines still queued would go with it:
 * deliver them first (fatal_flush, bounded as at exit), then make the
 * real call. glibc's execl, execle, execlp, execv and execvp reach
 * execve without the PLT, so each has its own hook; the execl forms
 * build their argument vector on the stack, as glibc does, and make
 * glibc's own call. A failed exec returns what the real one did, with
 * its errno; lines cut off by the flush (a piece without its newline)
 * then stay separate records.
 *
 * A vfork child shares our queue but not our thread: it execs at once
 * (fatal_flush does nothing there). posix_spawn, system and popen need no
 * hook: the caller's image stays, and their child runs no hook before
 * its exec.
 *
 * Async-signal-safe, as execve is (fatal_flush is).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "fatal.h"
#include "hook.h"
#include "real.h"

HOOK_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	fatal_flush();
	return REAL(execve)(path, argv, envp);
}

HOOK_EXPORT int
execv(const char *path, char *const argv[])
{
	fatal_flush();
	return REAL(execv)(path, argv);
}

HOOK_EXPORT int
execvp(const char *file, char *const argv[])
{
	fatal_flush();
	return REAL(execvp)(file, argv);
}

HOOK_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	fatal_flush();
	return REAL(execvpe)(file, argv, envp);
}

HOOK_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	fatal_flush();
	return REAL(fexecve)(fd, argv, envp);
}

HOOK_EXPORT int
execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	fatal_flush();
	return REAL(execveat)(dirfd, path, argv, envp, flags);
}

/* The number of arguments from the first to the NULL that ends them, the
 * NULL included; -1 with E2BIG past INT_MAX, as glibc counts. */
static ptrdiff_t
hook_exec_count(va_list ap)
{
	ptrdiff_t argc;

	for (argc = 1; va_arg(ap, const char *) != NULL; argc++)
		if (argc == INT_MAX) {
			errno = E2BIG;
			return -1;
		}
	return argc;
}

/* Fill argv[0..argc] from arg and the arguments after it, up to the NULL. */
static void
hook_exec_fill(char **argv, ptrdiff_t argc, const char *arg, va_list *ap)
{
	argv[0] = (char *)arg;
	for (ptrdiff_t i = 1; i <= argc; i++)
		argv[i] = va_arg(*ap, char *);
}

HOOK_EXPORT int
execl(const char *path, const char *arg, ...)
{
	va_list ap;
	ptrdiff_t argc;

	va_start(ap, arg);
	argc = hook_exec_count(ap);
	va_end(ap);
	if (argc == -1)
		return -1;
	char *argv[argc + 1];
	va_start(ap, arg);
	hook_exec_fill(argv, argc, arg, &ap);
	va_end(ap);
	fatal_flush();
	return REAL(execve)(path, argv, environ);
}

HOOK_EXPORT int
execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	va_list ap;
	ptrdiff_t argc;

	va_start(ap, arg);
	argc = hook_exec_count(ap);
	va_end(ap);
	if (argc == -1)
		return -1;
	char *argv[argc + 1];
	va_start(ap, arg);
	hook_exec_fill(argv, argc, arg, &ap);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	fatal_flush();
	return REAL(execve)(path, argv, envp);
}

HOOK_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	ptrdiff_t argc;

	va_start(ap, arg);
	argc = hook_exec_count(ap);
	va_end(ap);
	if (argc == -1)
		return -1;
	char *argv[argc + 1];
	va_start(ap, arg);
	hook_exec_fill(argv, argc, arg, &ap);
	va_end(ap);
	fatal_flush();
	return REAL(execvpe)(file, argv, environ);
}
