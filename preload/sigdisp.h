/*
 * sigdisp.h - the dispositions of the watched signals: where the program
 * has SIG_DFL for a signal whose default action ends the process, the
 * kernel holds the shim's handler (fatal.h) instead, and the program is
 * shown its own SIG_DFL action.
 *
 * Two classes are watched:
 * - SIGDISP_FAULT: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and
 *   SIGSYS, armed at load: the guard (guard.h) needs the handler on
 *   SIGSEGV and SIGBUS from the first hooked call on;
 * - SIGDISP_END: those that end a process without a fault (SIGHUP,
 *   SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2,
 *   SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR, and
 *   SIGRTMIN to SIGRTMAX), armed when the process first has a line to
 *   lose (the pipeline starts; or at load, should a line have been
 *   captured before the shim's constructor ran): a process that never
 *   logs keeps plain SIG_DFL, and pays no system call for them at start.
 * SIGKILL and SIGSTOP cannot be caught; the signals whose default is to
 * be ignored or to stop are not watched.
 *
 * A disposition is armed while it is SIG_DFL (sigdisp_arm), and again
 * whenever the program sets SIG_DFL through a hook (sigdisp_adopt). A
 * handler or SIG_IGN the program sets replaces the shim's handler; a
 * signal ignored when it is armed stays ignored. Every change of a
 * watched disposition made through the shim happens between
 * sigdisp_enter and sigdisp_leave: every signal is blocked on the
 * calling thread, and no other thread changes one meanwhile.
 *
 * Everything here is async-signal-safe once sigdisp_init has run, and
 * does nothing in a vfork child (whose table is its own).
 */
#ifndef MPLOG_SIGDISP_H
#define MPLOG_SIGDISP_H

#include <signal.h>

enum sigdisp_class {
	SIGDISP_FAULT = 1,
	SIGDISP_END = 2,
};

/* The handler's own flags: its mask blocks every signal while it runs. */
#define SIGDISP_FLAGS (SA_SIGINFO | SA_ONSTACK | SA_RESTART)

/* Set the handler the armed signals get; once, at load, before any arm. */
void sigdisp_init(void (*handler)(int, siginfo_t *, void *));

/* The class of sig (enum sigdisp_class), or 0 when it is not watched. */
int sigdisp_class(int sig);

/* 1 when sig is watched, whatever its class. */
int sigdisp_watched(int sig);

/* Put the handler in place of every signal of the classes (a mask of
 * enum sigdisp_class) now at SIG_DFL; a class is armed once. */
void sigdisp_arm(int classes);

/* Block every signal and take the disposition lock, which the thread
 * holding it may take again; *saved gets the mask to give back to
 * sigdisp_leave. */
void sigdisp_enter(sigset_t *saved);

/* Release the lock and restore the mask. */
void sigdisp_leave(const sigset_t *saved);

/* 1 when h is the shim's handler. */
int sigdisp_is_handler(__sighandler_t h);

/* Rewrite an action the kernel reported for sig as the program sees it:
 * the shim's handler reads as the program's own SIG_DFL action. */
void sigdisp_view(int sig, struct sigaction *sa);

/* The program has just set sig's disposition (through the C library):
 * if it is now SIG_DFL and sig's class is armed, remember that action
 * as the program's and put the handler in its place. */
void sigdisp_adopt(int sig);

/* siginterrupt(sig, interrupt) has just run: if the handler sits, give
 * the program's SIG_DFL action the flags that call gave it. */
void sigdisp_interrupt(int sig, int interrupt);

/* 1 when the handler sits on sig now. */
int sigdisp_sits(int sig);

/* In a child made by fork or _Fork: no thread holds the lock. */
void sigdisp_atfork_child(void);

#endif
