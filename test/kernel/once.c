// SPDX-License-Identifier: GPL-2.0
/*
 * An open by handle resolves its mount fd and checks the permission once,
 * however many times io_uring issues it: handle_to_path_ctx_init() (which
 * does both, for the syscall too) is called once per request, counted with
 * the function tracer, whether the request completes inline (warm), goes
 * to io-wq at once (IOSQE_ASYNC) or is tried inline and retried there (a
 * FIFO, whose open must not get the inline O_NONBLOCK; a cold file on a
 * filesystem with a block device; a lease to break).  A check repeated on
 * the retry would be a second capability check, audited twice by a
 * security module.  Skips without the function tracer (or when the
 * function is not traceable), or under the selfcheck emulation.
 */
#include "ktest.h"
#include <signal.h>
#include <sys/sysmacros.h>

#define TRACING		"/sys/kernel/tracing"
#define FUNC		"handle_to_path_ctx_init"

static struct io_uring ring;

static bool write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

static void tracer_off(void)
{
	write_str(TRACING "/current_tracer", "nop");
	write_str(TRACING "/set_ftrace_filter", "");
}

static int calls(void)
{
	FILE *f = fopen(TRACING "/trace", "r");
	char line[512];
	int n = 0;

	if (!f)
		kt_fail("cannot read " TRACING "/trace: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#' && strstr(line, FUNC);
	fclose(f);
	return n;
}

static void reset(void)
{
	if (!write_str(TRACING "/trace", ""))
		kt_fail("cannot clear the trace");
}

/* Run the prepared open (it must open path) and count the calls. */
static void once(const char *what, const char *path)
{
	int fd, n;

	reset();
	fd = kt_run(&ring);
	n = calls();
	if (fd < 0)
		kt_fail("%s: %s", what, kt_res_str(fd));
	kt_expect_inode_of(what, fd, path);
	close(fd);
	printf("%-40s %d call(s) of " FUNC "\n", what, n);
	if (n != 1)
		kt_fail("%s: " FUNC "() ran %d times for one request, want "
			"once: the mount fd and the permission were looked at "
			"again on the retry", what, n);
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *pfh;
	const char *file, *fifo;
	int fd, n, mnt;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (getenv("KT_SELFCHECK"))
		kt_skip("the emulation does not run the kernel's code");
	if (!write_str(TRACING "/set_ftrace_filter", FUNC))
		kt_skip("cannot trace " FUNC "() (no function tracer in "
			"this kernel, or tracefs not at " TRACING ")");
	atexit(tracer_off);
	if (!write_str(TRACING "/current_tracer", "function"))
		kt_skip("cannot select the function tracer");

	file = kt_mkfile("file", "once\n");
	fifo = kt_path("fifo");
	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	fh = kt_fh_of(file, &mnt);
	pfh = kt_fh_of(fifo, &mnt);

	/* the reference: the syscall itself */
	reset();
	fd = kt_sys_open(kt.dirfd, fh, O_RDONLY);
	n = calls();
	if (fd < 0)
		kt_fail("open_by_handle_at: %s", kt_res_str(fd));
	close(fd);
	if (n != 1)
		kt_fail("open_by_handle_at(2) called " FUNC "() %d times; the "
			"function tracer does not count it", n);

	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
	once("warm, inline", file);
	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, IOSQE_ASYNC);
	once("IOSQE_ASYNC", file);
	/* a FIFO is decoded inline, then opened in io-wq */
	fd = kt_openf(fifo, O_RDONLY | O_NONBLOCK);
	kt_prep_open(&ring, kt.dirfd, pfh, O_WRONLY, 0);
	once("FIFO: tried inline, retried in io-wq", fifo);
	close(fd);
	if (major(kt_fstat("DIR", kt.dirfd).st_dev)) {
		if (kt_drop_caches())
			kt_skip("cannot drop caches");
		kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
		once("cold: tried inline, retried in io-wq", file);
	}

	free(fh);
	free(pfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
