// SPDX-License-Identifier: GPL-2.0
/*
 * Cold opens by handle, tried inline and retried in io-wq (where DIR's
 * filesystem has a block device; tracefs shows it), still put the file
 * where they were asked to and fail as the syscall does when there is no
 * room:
 *   - into a given fixed slot: 0, and the slot reads the file, replacing
 *     the file that was there;
 *   - into a slot the kernel picks (IORING_FILE_INDEX_ALLOC): the slot;
 *   - IORING_FILE_INDEX_ALLOC with every slot taken: -ENFILE;
 *   - a normal fd with RLIMIT_NOFILE reached: -EMFILE, as from the
 *     syscall; and a stale handle then gives -ESTALE, as from the syscall
 *     (the decode comes first);
 * and no fd is left behind by a failed retry.
 */
#include "ktest.h"
#include <sys/sysmacros.h>

static struct io_uring ring;
static bool block_fs, traced;

static int drop_fd = -1;	/* /proc/sys/vm/drop_caches, open early */

static void cold(void)
{
	sync();
	if (pwrite(drop_fd, "3", 1, 0) != 1)
		kt_fail("cannot drop caches: %s", strerror(errno));
	/* fails without free fds: then the test cannot tell where */
	traced = kt_trace_async_reset();
}

static void went_to_iowq(const char *what)
{
	if (traced && block_fs && !kt_trace_async_count())
		kt_fail("%s: a cold open was not retried in io-wq", what);
}

/* Read slot's file with IOSQE_FIXED_FILE: it must hold want. */
static void slot_reads(const char *what, int slot, const char *want)
{
	struct io_uring_sqe *sqe = kt_sqe(&ring);
	char buf[32] = "";
	int res;

	io_uring_prep_read(sqe, slot, buf, sizeof(buf) - 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	res = kt_run(&ring);
	if (res != (int)strlen(want) || strncmp(buf, want, res))
		kt_fail("%s: slot %d read %s \"%s\", want \"%s\"", what, slot,
			kt_res_str(res), buf, want);
}

int main(int argc, char **argv)
{
	struct file_handle *afh, *bfh, *dfh, *gone;
	struct io_uring_sqe *sqe;
	const char *a, *b, *c, *d;
	int slots[2] = { -1, -1 }, fds_before, sys, res, mnt, i;
	struct rlimit old, lim;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	block_fs = major(kt_fstat("DIR", kt.dirfd).st_dev) != 0;
	drop_fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (drop_fd < 0)
		kt_skip("cannot drop caches: %s", strerror(errno));

	a = kt_mkfile("a", "file a");
	b = kt_mkfile("b", "file b");
	c = kt_mkfile("c", "file c");
	d = kt_mkfile("d", "file d");
	afh = kt_fh_of(a, &mnt);
	bfh = kt_fh_of(b, &mnt);
	gone = kt_fh_of(c, &mnt);
	dfh = kt_fh_of(d, &mnt);
	if (unlink(c))
		kt_fail("unlink: %s", strerror(errno));
	if (io_uring_register_files(&ring, slots, 2))
		kt_fail("io_uring_register_files failed");

	/* a given slot, then the same slot again: the file is replaced */
	cold();
	sqe = kt_prep_open(&ring, kt.dirfd, afh, O_RDONLY, 0);
	sqe->file_index = 1;
	kt_expect_res("cold open into slot 0", kt_run(&ring), 0);
	went_to_iowq("cold open into slot 0");
	slot_reads("cold open into slot 0", 0, "file a");
	cold();
	sqe = kt_prep_open(&ring, kt.dirfd, bfh, O_RDONLY, 0);
	sqe->file_index = 1;
	kt_expect_res("cold open into slot 0, taken", kt_run(&ring), 0);
	went_to_iowq("cold open into slot 0, taken");
	slot_reads("cold open into slot 0, taken", 0, "file b");

	/* a slot the kernel picks: the only free one, then none */
	cold();
	sqe = kt_prep_open(&ring, kt.dirfd, afh, O_RDONLY, 0);
	sqe->file_index = IORING_FILE_INDEX_ALLOC;
	kt_expect_res("cold open, allocated slot", kt_run(&ring), 1);
	went_to_iowq("cold open, allocated slot");
	slot_reads("cold open, allocated slot", 1, "file a");
	/* d: the slots keep a and b in memory */
	cold();
	sqe = kt_prep_open(&ring, kt.dirfd, dfh, O_RDONLY, 0);
	sqe->file_index = IORING_FILE_INDEX_ALLOC;
	kt_expect_res("cold open, allocated slot, table full", kt_run(&ring),
		      -ENFILE);
	went_to_iowq("cold open, allocated slot, table full");
	io_uring_unregister_files(&ring);

	/* no fd left under RLIMIT_NOFILE: -EMFILE after the retry */
	fds_before = kt_count_fds();
	if (getrlimit(RLIMIT_NOFILE, &old))
		kt_fail("getrlimit: %s", strerror(errno));
	for (i = 0; fcntl(i, F_GETFD) >= 0; i++)
		;
	lim = old;
	lim.rlim_cur = i;	/* i is the lowest free fd: no fd is left */
	if (setrlimit(RLIMIT_NOFILE, &lim))
		kt_fail("setrlimit: %s", strerror(errno));
	cold();
	sys = kt_sys_open(kt.dirfd, afh, O_RDONLY);
	cold();
	res = kt_ring_open(&ring, kt.dirfd, afh, O_RDONLY, 0);
	went_to_iowq("cold open at RLIMIT_NOFILE");
	kt_expect_err("cold open at RLIMIT_NOFILE", res, sys, -EMFILE);
	cold();
	sys = kt_sys_open(kt.dirfd, gone, O_RDONLY);
	res = kt_ring_open(&ring, kt.dirfd, gone, O_RDONLY, 0);
	kt_expect_err("cold open of a removed file at RLIMIT_NOFILE", res, sys,
		      -ESTALE);
	if (setrlimit(RLIMIT_NOFILE, &old))
		kt_fail("setrlimit: %s", strerror(errno));
	if (kt_count_fds() != fds_before)
		kt_fail("%d fds open after the failed opens, %d before",
			kt_count_fds(), fds_before);

	free(afh);
	free(bfh);
	free(dfh);
	free(gone);
	io_uring_queue_exit(&ring);
	kt_pass();
}
