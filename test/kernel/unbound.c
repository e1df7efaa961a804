// SPDX-License-Identifier: GPL-2.0
/*
 * A blocking FIFO open by handle waits in io-wq for the other end, maybe
 * for ever: it must wait in an unbound worker (the opcode is marked
 * unbound_nonreg_file), never in a bound one, where it would starve the
 * task's bound work (reads and writes of regular files).  With the bound
 * workers limited to one (IORING_REGISTER_IOWQ_MAX_WORKERS), a FIFO open
 * parked in io-wq, then an IOSQE_ASYNC read of a regular file: the read
 * must complete while the open still waits; then a writer releases the
 * open.  A kernel that parks the open in the one bound worker holds the
 * read back: after WAIT_S seconds the test releases the open and fails.
 */
#include "ktest.h"

#define WAIT_S		60
#define UD_OPEN		1
#define UD_READ		2

static struct io_uring ring;

/* The next completion within WAIT_S seconds; false if none came. */
static bool next_cqe(uint64_t *ud, int *res)
{
	struct __kernel_timespec ts = { .tv_sec = WAIT_S };
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);

	if (ret == -ETIME)
		return false;
	if (ret)
		kt_fail("io_uring_wait_cqe_timeout: %s", strerror(-ret));
	*ud = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return true;
}

int main(int argc, char **argv)
{
	unsigned int limits[2] = { 1, 0 };	/* bound 1, unbound as is */
	struct io_uring_sqe *sqe;
	struct file_handle *fh;
	const char *fifo, *file;
	char buf[16] = "";
	int ret, res, fd, writer;
	bool parked, read_done;
	uint64_t ud;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	fifo = kt_path("fifo");
	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	file = kt_mkfile("file", "unbound\n");
	kt_expect_res("encode fifo", kt_encode_both("encode fifo", &ring,
			AT_FDCWD, fifo, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	fd = kt_openf(file, O_RDONLY);

	ret = io_uring_register_iowq_max_workers(&ring, limits);
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		kt_skip("no IORING_REGISTER_IOWQ_MAX_WORKERS: %s",
			strerror(-ret));
	kt_expect_res("IORING_REGISTER_IOWQ_MAX_WORKERS", ret, 0);
	limits[0] = 1;
	limits[1] = 0;
	kt_expect_res("IORING_REGISTER_IOWQ_MAX_WORKERS again",
		      io_uring_register_iowq_max_workers(&ring, limits), 0);
	if (limits[0] != 1)
		kt_fail("bound io-wq workers limited to %u, want 1", limits[0]);

	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0)->user_data = UD_OPEN;
	kt_submit(&ring, 1);
	parked = kt_fifo_open_parked(10);
	printf("FIFO open %sseen parked in io-wq\n", parked ? "" : "not ");

	sqe = kt_sqe(&ring);
	io_uring_prep_read(sqe, fd, buf, sizeof(buf) - 1, 0);
	sqe->flags |= IOSQE_ASYNC;
	sqe->user_data = UD_READ;
	kt_submit(&ring, 1);
	read_done = next_cqe(&ud, &res);
	if (read_done && ud == UD_OPEN)
		kt_fail("the blocking FIFO open completed with %s without a "
			"writer", kt_res_str(res));

	/* release the open in any case */
	writer = kt_openf(fifo, O_WRONLY | O_NONBLOCK);
	if (!read_done)
		kt_fail("an IOSQE_ASYNC read of a regular file did not "
			"complete within %d s while a FIFO open by handle "
			"waited in io-wq with one bound worker allowed: the "
			"open took the bound worker", WAIT_S);
	kt_expect_res("the read", res, 8);
	if (strcmp(buf, "unbound\n"))
		kt_fail("the read gave \"%s\"", buf);
	if (!next_cqe(&ud, &res) || ud != UD_OPEN)
		kt_fail("the FIFO open did not complete once a writer came");
	if (res < 0)
		kt_fail("the FIFO open gave %s once a writer came",
			kt_res_str(res));
	kt_expect_inode_of("the FIFO open", res, fifo);
	close(res);
	close(writer);
	close(fd);
	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
