/*
 * The system calls under newlib: console output through HC_CONSOLE_WRITE, the heap inside
 * [start_info->heap_start, heap_end), exit through HC_EXIT, time through HC_TIME. There are
 * no files: fds 0-2 are the console, everything else fails with a POSIX errno.
 *
 * newlib built with --disable-newlib-supplied-syscalls calls these by their POSIX names
 * (write, sbrk, ...; its _syslist.h maps _write to write), except _exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <courier/guest.h>
#include <courier/hypercall.h>
#include "runtime.h"

#define NS_PER_SEC      1000000000ull
#define NS_PER_USEC     1000ull
/* A write the hypervisor accepts nothing of this many times in a row is given up. */
#define WRITE_STALLS    8
/* Bytes per HC_CONSOLE_WRITE: well below any limit the hypervisor puts on one call. */
#define WRITE_CHUNK     4096

static uintptr_t brk_cur, brk_end;

void heap_init(void)
{
	brk_cur = start_info->heap_start;
	brk_end = start_info->heap_end;
	if (brk_end < brk_cur)
		brk_end = brk_cur;
}

static bool is_console(int fd)
{
	return fd >= 0 && fd <= 2;
}

_READ_WRITE_RETURN_TYPE write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	unsigned stalls = 0;

	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	while (done < len && stalls < WRITE_STALLS) {
		size_t chunk = len - done < WRITE_CHUNK ? len - done : WRITE_CHUNK;
		int64_t n = hc_console_write(p + done, chunk);
		if (n < 0) {
			errno = EIO;
			return done ? (_READ_WRITE_RETURN_TYPE)done : -1;
		}
		stalls = n ? 0 : stalls + 1;
		done += (size_t)n;
	}
	return (_READ_WRITE_RETURN_TYPE)done;
}

_READ_WRITE_RETURN_TYPE read(int fd, void *buf, size_t len)
{
	if (!is_console(fd)) {
		errno = EBADF;
		return -1;
	}
	return 0;       /* no console input: end of file */
}

int open(const char *path, int flags, ...)
{
	errno = ENOENT;
	return -1;
}

int close(int fd)
{
	if (is_console(fd))
		return 0;
	errno = EBADF;
	return -1;
}

int fstat(int fd, struct stat *st)
{
	if (!is_console(fd)) {
		errno = EBADF;
		return -1;
	}
	*st = (struct stat){ .st_mode = S_IFCHR };
	return 0;
}

int stat(const char *path, struct stat *st)
{
	errno = ENOENT;
	return -1;
}

int isatty(int fd)
{
	if (is_console(fd))
		return 1;
	errno = EBADF;
	return 0;
}

off_t lseek(int fd, off_t off, int whence)
{
	errno = is_console(fd) ? ESPIPE : EBADF;
	return -1;
}

void *sbrk(ptrdiff_t incr)
{
	uintptr_t old = brk_cur;

	if (incr > 0 ? (uintptr_t)incr > brk_end - brk_cur
		     : (uintptr_t)0 - (uintptr_t)incr > brk_cur - start_info->heap_start) {
		errno = ENOMEM;
		return (void *)-1;
	}
	brk_cur += (uintptr_t)incr;
	return (void *)old;
}

/* abort() and raise() end here: a signal to ourselves ends the guest with 128 + sig. */
int kill(pid_t pid, int sig)
{
	if (pid == getpid())
		hc_exit(128 + sig);
	errno = ESRCH;
	return -1;
}

pid_t getpid(void)
{
	return 1;
}

void _exit(int code)
{
	hc_exit(code);
}

int gettimeofday(struct timeval *tv, void *tz)
{
	uint64_t ns = hc_time();

	if (tv) {
		tv->tv_sec = (time_t)(ns / NS_PER_SEC);
		tv->tv_usec = (suseconds_t)(ns % NS_PER_SEC / NS_PER_USEC);
	}
	return 0;
}

/* All of the guest's time counts as user time since the hypervisor booted. */
clock_t times(struct tms *t)
{
	clock_t ticks = (clock_t)(hc_time() / (NS_PER_SEC / CLOCKS_PER_SEC));

	if (t)
		*t = (struct tms){ .tms_utime = ticks };
	return ticks;
}

int link(const char *old, const char *new)
{
	errno = EMLINK;
	return -1;
}

int unlink(const char *path)
{
	errno = ENOENT;
	return -1;
}

pid_t fork(void)
{
	errno = ENOSYS;
	return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	errno = ENOSYS;
	return -1;
}

pid_t wait(int *status)
{
	errno = ECHILD;
	return -1;
}
