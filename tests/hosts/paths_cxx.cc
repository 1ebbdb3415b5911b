/*
 * paths-cxx - the C++ standard error streams, for tests/test_conform.c.
 *
 *   paths-cxx [wide] [nosync] PATH...
 *
 * "wide" makes C.UTF-8 the global locale (C and C++); "nosync" calls
 * std::ios::sync_with_stdio(false) before any output, so the streams
 * write to the descriptor through their own buffers instead of through
 * stdio. "wide", when given, comes first: the unsynchronised wcerr
 * converts with the locale that is global when its buffer is made. Each
 * PATH writes one line, M being "@PATH@" (its record under mplog has the
 * text without the newline, source stderr, severity info):
 *
 *   cerr    "M streamed 21\n": several insertions, then std::endl
 *   clog    "M streamed 22\n": insertions, '\n', then std::flush
 *   wcerr   "M é 23\n" in UTF-8 (needs "wide"), then std::endl
 *
 * To stdout: "id pid=PID" first, and "FAIL ..." when a stream is in a
 * failed state afterwards. Exits 0, or 2 for an unknown argument.
 */
#include <clocale>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <locale>
#include <unistd.h>

int
main(int argc, char **argv)
{
	std::printf("id pid=%ld\n", static_cast<long>(getpid()));
	std::fflush(stdout);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (std::strcmp(a, "wide") == 0) {
			std::locale::global(std::locale("C.UTF-8"));
		} else if (std::strcmp(a, "nosync") == 0) {
			std::ios::sync_with_stdio(false);
		} else if (std::strcmp(a, "cerr") == 0) {
			std::cerr << "@cerr@" << ' ' << "streamed " << 21 << std::endl;
		} else if (std::strcmp(a, "clog") == 0) {
			std::clog << "@clog@ streamed " << 22 << '\n' << std::flush;
		} else if (std::strcmp(a, "wcerr") == 0) {
			std::wcerr << L"@wcerr@ \u00e9 " << 23 << std::endl;
		} else {
			std::fprintf(stdout, "paths-cxx: unknown argument %s\n", a);
			return 2;
		}
	}
	if (!std::cerr || !std::clog || !std::wcerr)
		std::printf("FAIL a stream failed: cerr %d clog %d wcerr %d\n",
		    static_cast<int>(!std::cerr), static_cast<int>(!std::clog),
		    static_cast<int>(!std::wcerr));
	return 0;
}
