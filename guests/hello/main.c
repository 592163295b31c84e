/* The smallest guest: one line through newlib's printf, then exit 0. */
#include <stdio.h>
#include <courier/guest.h>

int main(int argc, char **argv)
{
	printf("hello from %s on cpu %u\n", argv[0], start_info->cpu);
	return 0;
}
