// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD shim that makes the engine's own calls to a few libc
 * functions fail, to reach error paths a healthy system never takes.
 *
 *   FH_FAULT=NAME[:N]   NAME fails with EIO (or ENOMEM for mmap), on every
 *                       call from the engine, or on its Nth call only
 *
 * NAME is one of shm_open, ftruncate, mmap, getrlimit.  Only calls made
 * from the engine (a shared object whose path contains "fhandle") fail:
 * fio's own calls go through.  At exit it prints "fault: NAME failed N
 * times" to stderr, so a test can tell that the shim did act.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>

static unsigned long calls, faults;

static void *fault_real(const char *name)
{
	void *sym = dlsym(RTLD_NEXT, name);

	if (!sym) {
		fprintf(stderr, "fault: no %s\n", name);
		abort();
	}
	return sym;
}

/* Whether this call, made from @caller, is to fail (setting errno). */
static int fault_now(const char *name, const void *caller, int err)
{
	const char *spec = getenv("FH_FAULT");
	size_t len = strlen(name);
	unsigned long nth = 0, n;
	Dl_info info;

	if (!spec || strncmp(spec, name, len) ||
	    (spec[len] != '\0' && spec[len] != ':'))
		return 0;
	if (!dladdr(caller, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "fhandle"))
		return 0;
	if (spec[len] == ':')
		nth = strtoul(spec + len + 1, NULL, 10);
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	if (nth && n != nth)
		return 0;
	__atomic_add_fetch(&faults, 1, __ATOMIC_SEQ_CST);
	errno = err;
	return 1;
}

int shm_open(const char *name, int oflag, mode_t mode)
{
	static int (*real)(const char *, int, mode_t);

	if (fault_now("shm_open", __builtin_return_address(0), EIO))
		return -1;
	if (!real)
		real = (int (*)(const char *, int, mode_t))
			fault_real("shm_open");
	return real(name, oflag, mode);
}

int ftruncate64(int fd, off64_t length)
{
	static int (*real)(int, off64_t);

	if (fault_now("ftruncate", __builtin_return_address(0), EIO))
		return -1;
	if (!real)
		real = (int (*)(int, off64_t))fault_real("ftruncate64");
	return real(fd, length);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd,
	     off64_t offset)
{
	static void *(*real)(void *, size_t, int, int, int, off64_t);

	if (fault_now("mmap", __builtin_return_address(0), ENOMEM))
		return MAP_FAILED;
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off64_t))
			fault_real("mmap64");
	return real(addr, length, prot, flags, fd, offset);
}

int getrlimit64(__rlimit_resource_t resource, struct rlimit64 *rlim)
{
	static int (*real)(__rlimit_resource_t, struct rlimit64 *);

	if (fault_now("getrlimit", __builtin_return_address(0), EIO))
		return -1;
	if (!real)
		real = (int (*)(__rlimit_resource_t, struct rlimit64 *))
			fault_real("getrlimit64");
	return real(resource, rlim);
}

__attribute__((destructor)) static void fault_report(void)
{
	const char *spec = getenv("FH_FAULT");

	if (spec)
		fprintf(stderr, "fault: %s failed %lu times\n", spec, faults);
}
