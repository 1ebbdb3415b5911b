/*
 * hook.h - attributes shared by the interposed libc functions.
 *
 * The hooks are the only symbols the shim exports (see exports.map); each
 * returns what the real function returns, with errno as it left it, and
 * passes straight through whenever mplog is not capturing.
 */
#ifndef MPLOG_HOOK_H
#define MPLOG_HOOK_H

#define HOOK_EXPORT __attribute__((visibility("default")))

#endif
