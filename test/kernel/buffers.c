// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel copies the path (encode) and the handle (open) at submission:
 * overwriting them right after io_uring_submit returns changes nothing.
 * Inline completion would pass trivially, so each check is also done with
 * IOSQE_ASYNC (executed later by io-wq) and behind a 20ms timeout that the
 * operation is hard-linked to, which defers it past the overwrite for sure.
 * The overwrite is a *valid* other value (another file's path or handle),
 * so reading it late would show as the wrong file, not just an error.
 */
#include "ktest.h"

enum mode { INLINE, ASYNC, LINKED, NMODES };
static const char *const mode_name[NMODES] = {
	"inline", "IOSQE_ASYNC", "after a hard-linked timeout",
};

static struct io_uring ring;

/* An sqe for the operation, behind a hard-linked timeout in LINKED mode. */
static struct io_uring_sqe *prep_sqe(enum mode mode)
{
	static struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct io_uring_sqe *sqe;

	if (mode == LINKED) {
		sqe = kt_sqe(&ring);
		io_uring_prep_timeout(sqe, &ts, 0, 0);
		sqe->flags |= IOSQE_IO_HARDLINK;
		sqe->user_data = 1;
	}
	sqe = kt_sqe(&ring);
	sqe->user_data = 2;
	return sqe;
}

/* Submit the prepared operation (and its timeout). */
static void submit_op(enum mode mode, struct io_uring_sqe *sqe)
{
	if (mode == ASYNC)
		sqe->flags |= IOSQE_ASYNC;
	kt_submit(&ring, mode == LINKED ? 2 : 1);
}

/* Wait for the operation (and the timeout); returns the operation's res. */
static int wait_op(enum mode mode)
{
	int i, res, op_res = 0;
	uint64_t ud;

	for (i = 0; i < (mode == LINKED ? 2 : 1); i++) {
		res = kt_reap(&ring, &ud);
		if (ud == 2)
			op_res = res;
		else if (res != -ETIME)
			kt_fail("linked timeout completed with %s",
				kt_res_str(res));
	}
	return op_res;
}

int main(int argc, char **argv)
{
	struct file_handle *afh, *bfh, *fh;
	struct io_uring_sqe *sqe;
	const char *a, *b;
	char *path;
	int mnt, res, fd;
	enum mode m;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	a = kt_mkfile("a", "a\n");
	b = kt_mkfile("b", "b\n");
	kt_expect_res("encode a", kt_encode_both("encode a", &ring, AT_FDCWD,
			a, 0, KT_MAX_HANDLE_SZ, 0, &afh), 0);
	kt_expect_res("encode b", kt_encode_both("encode b", &ring, AT_FDCWD,
			b, 0, KT_MAX_HANDLE_SZ, 0, &bfh), 0);
	if (kt_fh_same(afh, bfh))
		kt_fail("two files have the same handle %s", kt_fh_str(afh));

	for (m = INLINE; m < NMODES; m++) {
		/* encode: the path buffer becomes b's path */
		path = strdup(a);
		fh = kt_fh_new(KT_MAX_HANDLE_SZ);
		sqe = prep_sqe(m);
		fh_prep_name_to_handle(sqe, KT_OP_ENCODE, AT_FDCWD,
				       path, fh, &mnt, 0);
		submit_op(m, sqe);
		strcpy(path, b);
		res = wait_op(m);
		if (res || !kt_fh_same(fh, afh))
			kt_fail("path overwritten after submit (%s): encode "
				"gave %s, handle %s; a's is %s, b's %s",
				mode_name[m], kt_res_str(res), kt_fh_str(fh),
				kt_fh_str(afh), kt_fh_str(bfh));
		free(path);
		free(fh);

		/* open: the handle buffer becomes b's handle */
		fh = kt_fh_dup(afh);
		sqe = prep_sqe(m);
		fh_prep_open_by_handle(sqe, KT_OP_OPEN, kt.dirfd, fh,
				       O_RDONLY);
		submit_op(m, sqe);
		memcpy(fh, bfh, sizeof(*fh) + bfh->handle_bytes);
		fd = wait_op(m);
		if (fd < 0)
			kt_fail("handle overwritten after submit (%s): open "
				"gave %s", mode_name[m], kt_res_str(fd));
		kt_expect_inode_of(mode_name[m], fd, a);
		close(fd);

		/* open: the handle buffer becomes garbage (handle_bytes 0) */
		memcpy(fh, afh, sizeof(*fh) + afh->handle_bytes);
		sqe = prep_sqe(m);
		fh_prep_open_by_handle(sqe, KT_OP_OPEN, kt.dirfd, fh,
				       O_RDONLY);
		submit_op(m, sqe);
		memset(fh, 0, sizeof(*fh) + afh->handle_bytes);
		fd = wait_op(m);
		if (fd < 0)
			kt_fail("handle zeroed after submit (%s): open gave %s",
				mode_name[m], kt_res_str(fd));
		kt_expect_inode_of(mode_name[m], fd, a);
		close(fd);
		free(fh);
	}

	free(afh);
	free(bfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
