/* The C entry of a guest: check the start info, set up the runtime, run main(), exit. */
#include <stdlib.h>
#include <string.h>
#include <courier/events.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include "runtime.h"

/* Exit code when the hypervisor and the runtime disagree about the ABI. */
#define EXIT_BAD_START  127

const struct courier_start_info *start_info;
struct courier_shared_info *shared_info;

/* From guests/lib/guest.ld.S. */
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(int argc, char **argv);

static __attribute__((noreturn)) void bad_start(const char *why)
{
	static const char prefix[] = "guest runtime: ";

	hc_console_write(prefix, sizeof(prefix) - 1);
	hc_console_write(why, strlen(why));
	hc_exit(EXIT_BAD_START);
}

void courier_start(const struct courier_start_info *si)
{
	int argc;
	char **argv;

	if (!si)
		bad_start("no start info in RDI\n");
	if (si->abi_version != COURIER_ABI_VERSION)
		bad_start("start info has another ABI version\n");
	if (!si->shared_info)
		bad_start("no shared-info page\n");
	start_info = si;
	shared_info = (struct courier_shared_info *)si->shared_info;
	heap_init();
	args_init(&argc, &argv);
	if (evt_init() < 0)
		guest_puts("guest runtime: no upcall: handlers run only in evt_dispatch(), "
			   "evt_block() and evt_wait()\n");
	for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ctor++)
		(*ctor)();
	exit(main(argc, argv));
}
