// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD shim that makes the engine's own calls to a few libc
 * functions fail or slow down, to reach paths a healthy system never
 * takes.
 *
 *   FH_FAULT=NAME[:N]    NAME fails with EIO, on every call from the
 *                        engine, or on its Nth call only (counted per
 *                        process)
 *   FH_FAULT=slow:NAME   each call of NAME from the engine first sleeps
 *                        FH_SLOW_MS milliseconds (default 20)
 *   FH_FAULT=hang:NAME   each call of NAME from the engine sleeps 600 s
 *
 * NAME is one of getrlimit, mkdtemp, pipe2, fork, open, write, rename,
 * ioctl, name_to_handle_at.  Only calls made from the engine (a shared
 * object whose path contains "fhandle") are touched: fio's own go
 * through.  At exit a process whose calls it touched prints "fault: SPEC
 * acted N times" to stderr, so a test can tell that the shim did act.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>

static unsigned long calls, acted;

static void *fault_real(const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);

	if (!sym) {
		fprintf(stderr, "fault: no %s\n", name);
		abort();
	}
	return sym;
}

static void fault_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Whether this call of name, made from caller, is to fail (errno set). */
static int fault_now(const char *name, const void *caller)
{
	const char *spec = getenv("FH_FAULT"), *slow;
	size_t len = strlen(name);
	unsigned long nth = 0, n;
	Dl_info info;

	if (!spec || !dladdr(caller, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "fhandle"))
		return 0;
	if (!strncmp(spec, "slow:", 5) || !strncmp(spec, "hang:", 5)) {
		if (strcmp(spec + 5, name))
			return 0;
		slow = getenv("FH_SLOW_MS");
		__atomic_add_fetch(&acted, 1, __ATOMIC_SEQ_CST);
		fault_sleep_ms(spec[0] == 'h' ? 600000 :
			       slow ? strtol(slow, NULL, 10) : 20);
		return 0;
	}
	if (strncmp(spec, name, len) || (spec[len] != '\0' && spec[len] != ':'))
		return 0;
	if (spec[len] == ':')
		nth = strtoul(spec + len + 1, NULL, 10);
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	if (nth && n != nth)
		return 0;
	__atomic_add_fetch(&acted, 1, __ATOMIC_SEQ_CST);
	errno = EIO;
	return 1;
}

/* real_: the real fn (the function of that name after the shim's) */
#define REAL(fn)							\
	static __typeof__(&fn) real_;					\
	if (!real_)							\
		real_ = (__typeof__(&fn))fault_real(#fn)

int getrlimit64(__rlimit_resource_t resource, struct rlimit64 *rlim)
{
	REAL(getrlimit64);
	if (fault_now("getrlimit", __builtin_return_address(0)))
		return -1;
	return real_(resource, rlim);
}

char *mkdtemp(char *template)
{
	REAL(mkdtemp);
	if (fault_now("mkdtemp", __builtin_return_address(0)))
		return NULL;
	return real_(template);
}

int pipe2(int fds[2], int flags)
{
	REAL(pipe2);
	if (fault_now("pipe2", __builtin_return_address(0)))
		return -1;
	return real_(fds, flags);
}

pid_t fork(void)
{
	REAL(fork);
	if (fault_now("fork", __builtin_return_address(0)))
		return -1;
	return real_();
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL(open64);
	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fault_now("open", __builtin_return_address(0)))
		return -1;
	return real_(path, flags, mode);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write);
	if (fault_now("write", __builtin_return_address(0)))
		return -1;
	return real_(fd, buf, len);
}

int rename(const char *from, const char *to)
{
	REAL(rename);
	if (fault_now("rename", __builtin_return_address(0)))
		return -1;
	return real_(from, to);
}

int ioctl(int fd, unsigned long request, ...)
{
	void *arg;
	va_list ap;

	REAL(ioctl);
	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fault_now("ioctl", __builtin_return_address(0)))
		return -1;
	return real_(fd, request, arg);
}

int name_to_handle_at(int dfd, const char *path, struct file_handle *fh,
		      int *mount_id, int flags)
{
	REAL(name_to_handle_at);
	if (fault_now("name_to_handle_at", __builtin_return_address(0)))
		return -1;
	return real_(dfd, path, fh, mount_id, flags);
}

__attribute__((destructor)) static void fault_report(void)
{
	const char *spec = getenv("FH_FAULT");

	if (spec && acted)
		fprintf(stderr, "fault: %s acted %lu times\n", spec, acted);
}
