/*
 * fatal.h - the end of a process image: the flush that exec, _exit,
 * abort and daemon share, and the shim's handler for the signals that
 * kill by a fault or with a core dump (the watched signals: SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS).
 *
 * While the program's disposition of a watched signal is SIG_DFL, the
 * kernel holds the shim's handler in its place: put there at load
 * (fatal_arm) and again whenever the program sets SIG_DFL (fatal_adopt).
 * The handler delivers the queued lines, puts SIG_DFL back and lets the
 * signal kill the process as it would have: a fault is returned to, so
 * the instruction faults again; any other signal is raised again at the
 * same thread. The program never sees the handler: the disposition hooks
 * (hook_sigaction.c) report the program's own SIG_DFL action where it
 * sits (fatal_view), and a handler or SIG_IGN the program sets replaces
 * it. A signal ignored at load stays ignored.
 *
 * Every change of a watched disposition made through the shim happens
 * between fatal_enter and fatal_leave: every signal is blocked on the
 * calling thread, and no other thread changes one meanwhile.
 *
 * Everything here is async-signal-safe, once the shim is initialised.
 */
#ifndef MPLOG_FATAL_H
#define MPLOG_FATAL_H

#include <signal.h>

#define FATAL_WAIT_NS  (5000 * 1000000LL)  /* for another thread's flush */

/* Deliver every line pushed so far (pipeline_flush_sync: bounded), as
 * the process image is about to end without destructors. Nothing in a
 * vfork child, which shares our queue but is not us. errno is kept. */
void fatal_flush(void);

/* Put the handler in place of every watched signal now at SIG_DFL. */
void fatal_arm(void);

/* 1 when sig is a watched signal. */
int fatal_watched(int sig);

/* Block every signal and take the disposition lock, which the thread
 * holding it may take again; *saved gets the mask to give back to
 * fatal_leave. */
void fatal_enter(sigset_t *saved);

/* Release the lock and restore the mask. */
void fatal_leave(const sigset_t *saved);

/* 1 when h is the shim's handler. */
int fatal_is_handler(__sighandler_t h);

/* Rewrite an action the kernel reported for sig as the program sees it:
 * the shim's handler reads as the program's own SIG_DFL action. */
void fatal_view(int sig, struct sigaction *sa);

/* The program has just set sig's disposition (through the C library):
 * if it is now SIG_DFL, remember that action as the program's and put
 * the handler in its place. Nothing in a vfork child or before
 * fatal_arm. */
void fatal_adopt(int sig);

/* siginterrupt(sig, interrupt) has just run: if the handler sits, give
 * the program's SIG_DFL action the flags that call gave it. Nothing in a
 * vfork child. */
void fatal_interrupt(int sig, int interrupt);

/* 1 when the handler sits on sig now. */
int fatal_sits(int sig);

/* In a child made by fork or _Fork: no thread holds the lock or is
 * delivering. */
void fatal_atfork_child(void);

#endif
