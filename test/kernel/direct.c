// SPDX-License-Identifier: GPL-2.0
/*
 * Direct opens into the ring's fixed-file table, as IORING_OP_OPENAT's
 * direct mode: into a given slot (res 0, then read through the slot with
 * IOSQE_FIXED_FILE and close it with close_direct), with
 * IORING_FILE_INDEX_ALLOC (res = the slot), and the same errors as OPENAT
 * direct for no table, a slot out of range, a full table and O_CLOEXEC.
 */
#include "ktest.h"

#define NSLOTS	4
#define DATA	"direct open\n"

static struct io_uring ring;
static struct file_handle *fh;
static const char *file;

static unsigned int slot_field(unsigned int slot)
{
	return slot == IORING_FILE_INDEX_ALLOC ? slot : slot + 1;
}

static int open_direct(int flags, unsigned int slot, unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = kt_sqe(&ring);

	fh_prep_open_by_handle_direct(sqe, KT_OP_OPEN, kt.dirfd, fh, flags,
				      slot);
	sqe->flags |= sqe_flags;
	return kt_run(&ring);
}

/* The reference: IORING_OP_OPENAT, direct, on the same file and slot. */
static int openat_direct(int flags, unsigned int slot)
{
	struct io_uring_sqe *sqe = kt_sqe(&ring);

	io_uring_prep_openat(sqe, AT_FDCWD, file, flags, 0);
	sqe->file_index = slot_field(slot);
	return kt_run(&ring);
}

static int close_direct(unsigned int slot)
{
	io_uring_prep_close_direct(kt_sqe(&ring), slot);
	return kt_run(&ring);
}

static void expect_fixed_read(const char *check, unsigned int slot)
{
	struct io_uring_sqe *sqe = kt_sqe(&ring);
	char buf[64] = "";
	int res;

	io_uring_prep_read(sqe, slot, buf, sizeof(buf) - 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	res = kt_run(&ring);
	if (res != (int)strlen(DATA) || strcmp(buf, DATA))
		kt_fail("%s: read through fixed slot %u gave %s \"%s\"", check,
			slot, kt_res_str(res), buf);
}

static void expect_like_openat(const char *check, int flags,
			       unsigned int slot)
{
	int want = openat_direct(flags, slot);
	int res = open_direct(flags, slot, 0);

	if (res != want)
		kt_fail("%s: direct open gave %s, OPENAT direct %s", check,
			kt_res_str(res), kt_res_str(want));
}

/* The lowest free fd: a direct open must not install a normal fd. */
static int lowest_fd(void)
{
	int fd = kt_openf("/dev/null", O_RDONLY);

	close(fd);
	return fd;
}

int main(int argc, char **argv)
{
	int res, a, b, fd0, i;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", DATA);
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);

	res = open_direct(O_RDONLY, 0, 0);
	if (res >= 0)
		kt_fail("no file table: direct open gave %s", kt_res_str(res));
	expect_like_openat("no file table", O_RDONLY, 0);

	res = io_uring_register_files_sparse(&ring, NSLOTS);
	if (res)
		kt_fail("io_uring_register_files_sparse: %s", strerror(-res));

	/* a given slot */
	fd0 = lowest_fd();
	kt_expect_res("slot 2", open_direct(O_RDONLY, 2, 0), 0);
	kt_expect_res("slot 2: no normal fd installed", lowest_fd(), fd0);
	expect_fixed_read("slot 2", 2);
	kt_expect_res("slot 2: close_direct", close_direct(2), 0);
	kt_expect_res("slot 2: close_direct again", close_direct(2), -EBADF);

	/* an occupied slot is replaced, as with OPENAT */
	kt_expect_res("slot 1", open_direct(O_RDWR, 1, 0), 0);
	expect_like_openat("occupied slot 1", O_RDONLY, 1);
	expect_fixed_read("occupied slot 1", 1);
	kt_expect_res("slot 1: close_direct", close_direct(1), 0);

	/* IORING_FILE_INDEX_ALLOC: res is the slot */
	a = open_direct(O_RDONLY, IORING_FILE_INDEX_ALLOC, 0);
	b = open_direct(O_RDONLY, IORING_FILE_INDEX_ALLOC, 0);
	if (a < 0 || a >= NSLOTS || b < 0 || b >= NSLOTS || a == b)
		kt_fail("IORING_FILE_INDEX_ALLOC: slots %s and %s of %d",
			kt_res_str(a), kt_res_str(b), NSLOTS);
	kt_expect_res("alloc: no normal fd installed", lowest_fd(), fd0);
	expect_fixed_read("alloc, first slot", a);
	expect_fixed_read("alloc, second slot", b);
	kt_expect_res("alloc: close first", close_direct(a), 0);
	kt_expect_res("alloc: close second", close_direct(b), 0);

	/* a full table: the same error as OPENAT's alloc */
	for (i = 0; i < NSLOTS; i++) {
		res = open_direct(O_RDONLY, IORING_FILE_INDEX_ALLOC, 0);
		if (res < 0)
			kt_fail("filling the table: %s", kt_res_str(res));
	}
	res = open_direct(O_RDONLY, IORING_FILE_INDEX_ALLOC, 0);
	if (res >= 0)
		kt_fail("full table: alloc gave slot %d", res);
	expect_like_openat("full table", O_RDONLY, IORING_FILE_INDEX_ALLOC);
	for (i = 0; i < NSLOTS; i++)
		kt_expect_res("emptying the table", close_direct(i), 0);

	/* errors as OPENAT direct */
	res = open_direct(O_RDONLY, NSLOTS + 3, 0);
	if (res >= 0)
		kt_fail("slot out of range: gave %s", kt_res_str(res));
	expect_like_openat("slot out of range", O_RDONLY, NSLOTS + 3);
	res = open_direct(O_RDONLY | O_CLOEXEC, 0, 0);
	expect_like_openat("O_CLOEXEC into a slot", O_RDONLY | O_CLOEXEC, 0);
	if (res == 0)
		close_direct(0);

	/* through io-wq too */
	kt_expect_res("slot 3, IOSQE_ASYNC", open_direct(O_RDONLY, 3,
			IOSQE_ASYNC), 0);
	expect_fixed_read("slot 3, IOSQE_ASYNC", 3);
	a = open_direct(O_RDONLY, IORING_FILE_INDEX_ALLOC, IOSQE_ASYNC);
	if (a < 0 || a >= NSLOTS || a == 3)
		kt_fail("alloc, IOSQE_ASYNC: gave %s", kt_res_str(a));
	expect_fixed_read("alloc, IOSQE_ASYNC", a);
	kt_expect_res("close slot 3", close_direct(3), 0);
	kt_expect_res("close alloc'd slot", close_direct(a), 0);

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
