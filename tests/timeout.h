/*
 * timeout.h - a test's time bound. The sanitizer builds (make asan,
 * ubsan, tsan) run everything several times slower and set TEST_SLOW:
 * every .timeout is TEST_TIMEOUT(seconds), scaled by it, so that a test
 * near its bound in a plain build is not cut short there; so is every
 * bound a test sets on waiting for something (harness_wait,
 * harness_read_line, the suites' *_WAIT_MS and *_POLL_MS).
 */
#ifndef MPLOG_TIMEOUT_H
#define MPLOG_TIMEOUT_H

#ifndef TEST_SLOW
#define TEST_SLOW 1
#endif

#define TEST_TIMEOUT(seconds) ((seconds) * TEST_SLOW)

#endif
