/* fuzz_init.c - what every fuzz target sets up first, as mplogd's main
 * does: the locale texts are made in, and the time zone. */
#include <locale.h>
#include <time.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setlocale(LC_CTYPE, "C.UTF-8");
	tzset();
	return 0;
}
