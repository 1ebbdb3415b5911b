#!/usr/bin/env python3
"""snapgen.py - write the corpus of the snapshot differential test.

    snapgen.py OUT.c [COUNT] [SEED]

Writes C source with COUNT calls SNAPT(err, fmt, args...) drawn from a
seeded generator: conversions d i o u x X c s p e E f F g G a A m and %%,
every flag, literal and '*' widths and precisions (negative ones too),
the length modifiers hh h l ll q j z Z t L, and positional arguments
(reused, and '*' by position). tests/test_snap.c compares, for each call,
what vsnprintf(3) makes at the call with what snap_format makes of the
snapshot snap_take took. The corpus is built without -Wformat: it holds, on purpose, the flag
combinations C leaves to the library (a '0' with '-', '#' with %d, a
precision on %c), whose glibc behaviour the snapshot must reproduce too;
the types of the arguments follow the conversions by construction.
"""
import random
import sys

INTS = ["0", "1", "-1", "7", "-42", "255", "256", "65535", "-32768", "2147483647",
        "(-2147483647 - 1)", "123456", "-99999"]
LONGS = ["0L", "-1L", "9223372036854775807L", "(-9223372036854775807L - 1)",
         "4294967296L", "-123456789012L"]
DOUBLES = ["0.0", "-0.0", "1.0", "-1.5", "3.14159265358979", "1e-300", "1e300",
           "123456789.125", "0.1", "2.5", "-2.5", "1e-320", "(1.0/0.0)", "(-1.0/0.0)",
           "(0.0/0.0)", "6.02214076e23", "0.000123"]
LDOUBLES = ["0.0L", "-1.25L", "3.14159265358979323846L", "1e4000L", "1e-4000L",
            "(1.0L/3.0L)", "(-1.0L/0.0L)", "123456789012345678.5L"]
STRINGS = ['""', '"a"', '"hello"', '"with space"', '"%d not a conversion"',
           '"\\xc3\\xa9t\\xc3\\xa9"', '"tab\\there"', '"\\x01\\x7f\\xff"',
           '"longer string of some length to cut"', "(char *)0"]
PTRS = ["(void *)0", "(void *)0x1234", "(void *)&snapt_anchor",
        "(void *)0xffffffffffffffffUL"]
ERRNOS = ["0", "ENOENT", "EINVAL", "EACCES", "12345"]

INT_LENGTHS = [("", "int", INTS), ("hh", "int", INTS), ("h", "int", INTS),
               ("l", "long", LONGS), ("ll", "long long", LONGS), ("q", "long long", LONGS),
               ("j", "intmax_t", LONGS), ("z", "size_t", LONGS), ("Z", "size_t", LONGS),
               ("t", "ptrdiff_t", LONGS)]


def flags(rng):
    return "".join(rng.sample("-+ #0", rng.randint(0, 3)))


def width_prec(rng, star_args, positional, next_pos):
    """Width and precision text; '*' arguments go to star_args."""
    text = ""
    for part in ("w", "p"):
        choice = rng.random()
        prefix = "." if part == "p" else ""
        if choice < 0.45:
            if part == "p" and rng.random() < 0.2:
                text += "."             # a bare '.' is precision 0
            continue
        if choice < 0.8:
            # A literal width of 0 would read as the '0' flag.
            text += prefix + str(rng.choice([1, 3, 8, 20] if part == "w" else [0, 1, 3, 8, 20]))
            continue
        value = str(rng.choice([0, 2, 5, 12, -1, -6]))
        if positional:
            n = next_pos[0]
            next_pos[0] += 1
            text += prefix + "*%d$" % n
        else:
            text += prefix + "*"
        star_args.append(("int", value))
    return text


def conversion(rng, star_args, positional, next_pos):
    """One conversion: (text, [(ctype, value)...]) or None for %% and %m."""
    kind = rng.random()
    if kind < 0.04:
        return "%%", []
    wp_args = []
    pos = ""
    if positional:
        n = next_pos[0]
        next_pos[0] += 1
        pos = "%d$" % n
    if kind < 0.08 and not positional:
        # %#m is errno's name, which the snapshot leaves to the caller.
        return "%" + flags(rng).replace("#", "") + width_prec(rng, wp_args, False, next_pos) + \
            "m", wp_args
    f = flags(rng)
    conv = rng.choice("diouxXcspeEfFgGaA")
    if conv in "diouxX":
        # By position glibc reads q as an int: the snapshot refuses it.
        length, ctype, values = rng.choice([x for x in INT_LENGTHS
                                            if not (positional and x[0] == "q")])
    elif conv in "eEfFgGaA":
        length, ctype, values = ("L", "long double", LDOUBLES) if rng.random() < 0.3 else \
            (rng.choice(["", "l"]), "double", DOUBLES)
    elif conv == "c":
        length, ctype, values = "", "int", ["65", "97", "48", "32", "126"]
    elif conv == "s":
        length, ctype, values = "", "const char *", STRINGS
    else:
        length, ctype, values = "", "void *", PTRS
    wp = width_prec(rng, wp_args, positional, next_pos)
    value = rng.choice(values)
    if ctype in ("intmax_t", "size_t", "ptrdiff_t", "long long"):
        value = "(%s)%s" % (ctype, value)
    # Positions go value first, then width and precision: the order they
    # were numbered in; plain arguments go width, precision, value.
    if positional:
        return "%" + pos + f + wp + length + conv, [(ctype, value)] + wp_args
    return "%" + pos + f + wp + length + conv, wp_args + [(ctype, value)]


def case(rng, positional):
    next_pos = [1]
    text, args = "", []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.6:
            text += rng.choice(["x", " ", "[", "] ", "v=", "é", "\\t", ":"])
        conv, conv_args = conversion(rng, None, positional, next_pos)
        text += conv
        args += conv_args
    if positional and args and rng.random() < 0.5:
        # Reuse an argument already given: the same position, same type.
        for i, (ctype, _) in enumerate(args):
            if ctype == "const char *":
                text += " again %%%d$s" % (i + 1)
                break
            if ctype == "int" and not text.count("*"):
                text += " again %%%d$d" % (i + 1)
                break
    return text, args


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261125)
    lines = ["/* Generated by tests/snapgen.py: do not edit. */",
             '#include "snapt.h"', "", "void", "snapt_corpus(void)", "{"]
    for i in range(count):
        text, args = case(rng, rng.random() < 0.2)
        err = rng.choice(ERRNOS)
        values = "".join(", " + v for _, v in args)
        lines.append('\tSNAPT(%s, "%s"%s);' % (err, text.replace('"', '\\"'), values))
    lines.append("}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
