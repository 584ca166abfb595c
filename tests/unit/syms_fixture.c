/*
 * A program only read, never run, by the symbolization unit tests: the
 * Makefile builds it with a separate debug file, stripped, so the tests
 * can find these functions through .gnu_debuglink and the build id.
 */
#include <stdio.h>

__attribute__((noinline)) int fixture_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int fixture_beta(int x)
{
	return fixture_alpha(x) * 7 - 2;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", fixture_beta(argc));
	return 0;
}
