// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD shim over liburing's submit and wait calls, to give the
 * engine what a kernel rarely does, on demand (FH_SHIM):
 *
 *   partial  the kernel takes all but the last new SQE of each call, as
 *            when it stops at a failed SQE (never inside a linked chain)
 *   busy     -EBUSY (no room for completions) from every other call that
 *            finds a completion still to be reaped, as the kernel does
 *   slowwait every call that waits for a completion first sleeps 200 ms
 *   again    -EAGAIN from every submit-and-wait, with nothing submitted
 *   waitfail every wait for a completion that must block fails with -EIO
 *   zero     every other call that has SQEs to submit takes none and
 *            returns 0; the next one sleeps 200 ms before it submits, so
 *            that an io_u stamped as issued by the first shows 200 ms of
 *            clat that is not the kernel's
 *
 * FH_SHIM is a comma separated list of these.
 *
 * At exit it prints "shim: N calls, N partial, N busy, N zero" to
 * stderr, so a test can tell that the shim did act.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#define SHIM_WAIT_USEC	200000

static unsigned long calls, partials, busies, zeros;
static int busy_toggle, zero_toggle;

/*
 * The engine's liburing: fio dlopens the engine, so liburing is not in
 * the global scope that RTLD_NEXT searches.
 */
static void *shim_real(const char *name)
{
	void *lib = dlopen("liburing.so.2", RTLD_NOW | RTLD_NOLOAD);
	void *sym = lib ? dlsym(lib, name) : NULL;

	if (!sym) {
		fprintf(stderr, "shim: no %s in liburing.so.2\n", name);
		abort();
	}
	return sym;
}

static const char *shim_mode(void)
{
	const char *m = getenv("FH_SHIM");

	return m ? m : "";
}

static int shim_on(const char *mode)
{
	char list[64];
	char *tok, *save = NULL;

	snprintf(list, sizeof(list), "%s", shim_mode());
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, mode))
			return 1;
	return 0;
}

/* Hide the last new SQE from the kernel for one call. */
static unsigned int shim_hide(struct io_uring *ring)
{
	unsigned int mask = ring->sq.ring_entries - 1;
	struct io_uring_sqe *before;

	if (!shim_on("partial") || ring->sq.sqe_tail - ring->sq.sqe_head < 2)
		return 0;
	before = &ring->sq.sqes[(ring->sq.sqe_tail - 2) & mask];
	if (before->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK))
		return 0;
	ring->sq.sqe_tail--;
	partials++;
	return 1;
}

static int shim_busy(struct io_uring *ring)
{
	if (!shim_on("busy") || !io_uring_cq_ready(ring))
		return 0;
	busy_toggle = !busy_toggle;
	if (busy_toggle)
		busies++;
	return busy_toggle;
}

/* zero: whether this call takes nothing; the one after it sleeps first */
static int shim_zero(struct io_uring *ring)
{
	if (!shim_on("zero") || !io_uring_sq_ready(ring))
		return 0;
	zero_toggle = !zero_toggle;
	if (zero_toggle) {
		zeros++;
		return 1;
	}
	usleep(SHIM_WAIT_USEC);
	return 0;
}

static void shim_before_wait(void)
{
	if (shim_on("slowwait"))
		usleep(SHIM_WAIT_USEC);
}

int io_uring_submit_and_wait(struct io_uring *ring, unsigned int wait_nr)
{
	static int (*real)(struct io_uring *, unsigned int);
	unsigned int hidden;
	int ret;

	if (!real)
		real = (int (*)(struct io_uring *, unsigned int))
			shim_real("io_uring_submit_and_wait");
	calls++;
	if (shim_busy(ring))
		return -EBUSY;
	if (wait_nr && shim_on("again"))
		return -EAGAIN;
	if (shim_zero(ring))
		return 0;
	hidden = shim_hide(ring);
	if (wait_nr && !hidden)
		shim_before_wait();
	ret = real(ring, hidden ? 0 : wait_nr);
	ring->sq.sqe_tail += hidden;
	return ret;
}

int io_uring_submit(struct io_uring *ring)
{
	static int (*real)(struct io_uring *);
	unsigned int hidden;
	int ret;

	if (!real)
		real = (int (*)(struct io_uring *))
			shim_real("io_uring_submit");
	calls++;
	if (shim_busy(ring))
		return -EBUSY;
	if (shim_zero(ring))
		return 0;
	hidden = shim_hide(ring);
	ret = real(ring);
	ring->sq.sqe_tail += hidden;
	return ret;
}

/* io_uring_wait_cqe() and friends end here when they must wait. */
int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
		       unsigned int submit, unsigned int wait_nr,
		       sigset_t *sigmask)
{
	static int (*real)(struct io_uring *, struct io_uring_cqe **,
			   unsigned int, unsigned int, sigset_t *);

	if (!real)
		real = (int (*)(struct io_uring *, struct io_uring_cqe **,
				unsigned int, unsigned int, sigset_t *))
			shim_real("__io_uring_get_cqe");
	if (wait_nr && !io_uring_cq_ready(ring)) {
		if (shim_on("waitfail"))
			return -EIO;
		shim_before_wait();
	}
	return real(ring, cqe_ptr, submit, wait_nr, sigmask);
}

__attribute__((destructor)) static void shim_report(void)
{
	if (*shim_mode())
		fprintf(stderr, "shim: %lu calls, %lu partial, %lu busy, "
			"%lu zero\n", calls, partials, busies, zeros);
}
