// SPDX-License-Identifier: GPL-2.0
/*
 * Requests cancelled after prep (when the path or handle has been copied
 * into the kernel) complete as IORING_OP_OPENAT's do and leak nothing: no
 * fd, no FIFO end left open (the debug kernel's kmemleak checks memory).
 *  - behind a failed link head: -ECANCELED, nothing written, no fd;
 *  - IORING_OP_ASYNC_CANCEL of a blocking FIFO open parked in io-wq: the
 *    same results as for an OPENAT of the FIFO parked the same way;
 *  - the ring's task exits with a FIFO open parked in io-wq (with and
 *    without io_uring_queue_exit() first): the task exits, and no reader
 *    is left on the FIFO.
 */
#include "ktest.h"

#define WAIT_S		60
#define UD_TARGET	1
#define UD_CANCEL	2

static struct io_uring ring;
static struct file_handle *fh, *ffh;
static const char *file, *fifo;
static bool queue_exit_first;

/* No reader on the FIFO: a non-blocking writer gets ENXIO. */
static void expect_no_reader(const char *check)
{
	int fd = open(fifo, O_WRONLY | O_NONBLOCK);

	if (fd >= 0 || errno != ENXIO)
		kt_fail("%s: a reader is left on the FIFO (writer open: %s)",
			check, fd >= 0 ? "ok" : strerror(errno));
}

static void linked_after_failed_head(void)
{
	struct file_handle *out = kt_fh_new(KT_MAX_HANDLE_SZ);
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct io_uring_sqe *sqe;
	int i, n, res, mnt = -7, fds = kt_count_fds();
	uint64_t ud;

	for (i = 0; i < 2; i++) {
		memset(out->f_handle, 0xa5, KT_MAX_HANDLE_SZ);
		out->handle_type = 0x5a5a;
		sqe = kt_sqe(&ring);
		io_uring_prep_openat(sqe, AT_FDCWD, "nonexistent", O_RDONLY, 0);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = 10;
		kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY,
			     IOSQE_IO_LINK | sqe_flags[i])->user_data = 11;
		kt_prep_encode(&ring, AT_FDCWD, file, out, &mnt, 0,
			       sqe_flags[i])->user_data = 12;
		kt_submit(&ring, 3);
		for (n = 0; n < 3; n++) {
			res = kt_reap(&ring, &ud);
			if (ud == 10)
				kt_expect_res("failed link head", res, -ENOENT);
			else
				kt_expect_res(ud == 11 ? "open behind it" :
					      "encode behind it", res,
					      -ECANCELED);
		}
		if (out->handle_type != 0x5a5a || mnt != -7 ||
		    out->handle_bytes != KT_MAX_HANDLE_SZ ||
		    out->f_handle[0] != 0xa5)
			kt_fail("cancelled encode wrote: %s mount id %d",
				kt_fh_str(out), mnt);
	}
	if (kt_count_fds() != fds)
		kt_fail("linked: %d fds open after, %d before",
			kt_count_fds(), fds);
	free(out);
}

/* Submit a blocking open of the FIFO, by handle or (reference) by path. */
static void park(bool by_handle)
{
	struct io_uring_sqe *sqe;

	if (by_handle) {
		sqe = kt_prep_open(&ring, kt.dirfd, ffh, O_RDONLY, 0);
	} else {
		sqe = kt_sqe(&ring);
		io_uring_prep_openat(sqe, AT_FDCWD, fifo, O_RDONLY, 0);
	}
	sqe->user_data = UD_TARGET;
	kt_submit(&ring, 1);
}

/*
 * Park an open of the FIFO in io-wq and cancel it: the cancel's result
 * and the open's.  *parked: whether the open was seen waiting.
 */
static void cancel_parked(bool by_handle, int *cancel_res, int *open_res,
			  bool *parked)
{
	struct __kernel_timespec ts = { .tv_sec = WAIT_S };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int i, ret;

	park(by_handle);
	*parked = kt_fifo_open_parked(10);
	sqe = kt_sqe(&ring);
	io_uring_prep_cancel64(sqe, UD_TARGET, 0);
	sqe->user_data = UD_CANCEL;
	kt_submit(&ring, 1);
	for (i = 0; i < 2; i++) {
		ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
		if (ret)
			kt_fail("cancel of a parked FIFO open %s: no "
				"completion within %d s: %s",
				by_handle ? "by handle" : "(OPENAT)", WAIT_S,
				strerror(-ret));
		if (cqe->user_data == UD_CANCEL)
			*cancel_res = cqe->res;
		else
			*open_res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	if (*open_res >= 0)
		kt_fail("cancel of a parked FIFO open %s: the open gave fd %d",
			by_handle ? "by handle" : "(OPENAT)", *open_res);
}

static void async_cancel(void)
{
	int ref_cancel, ref_open, cancel, open, fds = kt_count_fds();
	bool ref_parked, parked;

	cancel_parked(false, &ref_cancel, &ref_open, &ref_parked);
	expect_no_reader("OPENAT cancelled");
	cancel_parked(true, &cancel, &open, &parked);
	expect_no_reader("open by handle cancelled");
	printf("ASYNC_CANCEL of a parked FIFO open: OPENAT cancel %s open %s "
	       "(%sseen parked); by handle cancel %s open %s (%sseen "
	       "parked)\n", kt_res_str(ref_cancel), kt_res_str(ref_open),
	       ref_parked ? "" : "not ", kt_res_str(cancel), kt_res_str(open),
	       parked ? "" : "not ");
	if (parked && ref_parked &&
	    (cancel != ref_cancel || open != ref_open))
		kt_fail("ASYNC_CANCEL of a parked FIFO open by handle: cancel "
			"%s, open %s; OPENAT: cancel %s, open %s",
			kt_res_str(cancel), kt_res_str(open),
			kt_res_str(ref_cancel), kt_res_str(ref_open));
	if (!(cancel == 0 && open == -ECANCELED) &&
	    !(cancel == -EALREADY && (open == -EINTR || open == -ECANCELED)))
		kt_fail("ASYNC_CANCEL of a parked FIFO open by handle: cancel "
			"%s, open %s", kt_res_str(cancel), kt_res_str(open));
	if (kt_count_fds() != fds)
		kt_fail("async cancel: %d fds open after, %d before",
			kt_count_fds(), fds);
}

/* In a child: park an open by handle, then exit with it in flight. */
static void exit_with_parked_open(void)
{
	struct io_uring r;

	kt_ring_init(&r, 4, 0);
	kt_prep_open(&r, kt.dirfd, ffh, O_RDONLY, 0);
	kt_submit(&r, 1);
	if (!kt_fifo_open_parked(10))
		printf("note: the open was not seen parked\n");
	if (queue_exit_first)
		io_uring_queue_exit(&r);
}

static void ring_exit(bool queue_exit)
{
	queue_exit_first = queue_exit;
	kt_run_child(queue_exit ? "io_uring_queue_exit, then exit" :
		     "exit with the ring open", exit_with_parked_open);
	expect_no_reader(queue_exit ? "after io_uring_queue_exit and exit" :
			 "after exit");
}

int main(int argc, char **argv)
{
	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "cancel\n");
	fifo = kt_path("fifo");
	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	kt_expect_res("encode fifo", kt_encode_both("encode fifo", &ring,
			AT_FDCWD, fifo, 0, KT_MAX_HANDLE_SZ, 0, &ffh), 0);

	linked_after_failed_head();
	async_cancel();
	ring_exit(false);
	ring_exit(true);

	free(fh);
	free(ffh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
