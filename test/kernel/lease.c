// SPDX-License-Identifier: GPL-2.0
/*
 * Leases (F_SETLEASE): an open by handle that must break another process's
 * lease waits for the break in io-wq, never in the submitting task.  A
 * child holds a read lease on a file and, told to break it (SIGIO), gives
 * it up HOLD_MS later.  Then:
 *   - an O_RDONLY open does not conflict: it completes inline and the
 *     lease is not broken;
 *   - an O_WRONLY open: io_uring_submit() returns without the submitter
 *     sleeping, the open completes only after the child gave the lease up
 *     and opens the file, having gone to io-wq (where tracefs shows it);
 *   - an O_WRONLY | O_NONBLOCK open fails with -EWOULDBLOCK, as the
 *     syscall's does, and leaves the child breaking its lease.
 * Skips where leases cannot be taken.
 */
#include "ktest.h"
#include <signal.h>

#define HOLD_MS		300

static struct io_uring ring;
static const char *file;
static struct file_handle *fh;

struct holder {
	pid_t pid;
	int events;	/* read end: 'L' lease taken, 'B' told to break */
};

/* The child: take a read lease, wait for SIGIO, hold on, give it up. */
static void hold(int events)
{
	struct timespec ts = { .tv_sec = 30 };
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	fd = open(file, O_RDONLY);
	if (fd < 0 || fcntl(fd, F_SETLEASE, F_RDLCK)) {
		if (write(events, "E", 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (write(events, "L", 1) != 1 || sigtimedwait(&set, NULL, &ts) < 0)
		_exit(1);
	if (write(events, "B", 1) != 1)
		_exit(1);
	usleep(HOLD_MS * 1000);
	fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	_exit(0);
}

static void holder_start(struct holder *h)
{
	int p[2];
	char c;

	if (pipe(p))
		kt_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	h->pid = fork();
	if (h->pid < 0)
		kt_fail("fork: %s", strerror(errno));
	if (!h->pid) {
		close(p[0]);
		hold(p[1]);
	}
	close(p[1]);
	h->events = p[0];
	if (read(h->events, &c, 1) != 1)
		kt_fail("the lease holder died");
	if (c == 'E')
		kt_skip("cannot take a read lease on %s (%s)", file,
			kt_fstype());
}

/* Whether the holder was told to break its lease, within wait_ms. */
static bool holder_breaking(struct holder *h, int wait_ms)
{
	struct timeval tv = { .tv_usec = wait_ms * 1000 };
	fd_set rd;
	char c;

	FD_ZERO(&rd);
	FD_SET(h->events, &rd);
	if (select(h->events + 1, &rd, NULL, NULL, &tv) != 1)
		return false;
	return read(h->events, &c, 1) == 1 && c == 'B';
}

static void holder_end(struct holder *h)
{
	int status;

	kill(h->pid, SIGIO);	/* if it still waits for a break */
	if (waitpid(h->pid, &status, 0) != h->pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		kt_fail("the lease holder: status %#x", status);
	close(h->events);
}

int main(int argc, char **argv)
{
	struct io_uring_cqe *cqe;
	struct holder h;
	int64_t t0, t1, t2;
	long csw0, csw1;
	bool traced;
	int fd, mnt;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	file = kt_mkfile("file", "lease\n");
	fh = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, file, fh, &mnt, 0), 0);

	/* a reader does not break a read lease */
	holder_start(&h);
	traced = kt_trace_async_reset();
	fd = kt_ring_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
	if (fd < 0)
		kt_fail("O_RDONLY under a read lease: %s", kt_res_str(fd));
	kt_expect_inode_of("O_RDONLY under a read lease", fd, file);
	close(fd);
	if (traced && kt_trace_async_count())
		kt_fail("O_RDONLY under a read lease went to io-wq");
	if (holder_breaking(&h, 100))
		kt_fail("O_RDONLY broke the read lease");

	/* a writer breaks it, and waits for it in io-wq */
	traced = kt_trace_async_reset();
	kt_prep_open(&ring, kt.dirfd, fh, O_WRONLY, 0);
	csw0 = kt_thread_nvcsw();
	t0 = kt_now_ns();
	kt_submit(&ring, 1);
	t1 = kt_now_ns();
	csw1 = kt_thread_nvcsw();
	if (csw1 != csw0)
		kt_fail("O_WRONLY under a read lease: the submitter slept in "
			"io_uring_submit() (%.1f ms): the lease break was waited "
			"for inline", (t1 - t0) / 1e6);
	if (!holder_breaking(&h, 5000))
		kt_fail("O_WRONLY: the lease holder was not told to break");
	if (io_uring_wait_cqe(&ring, &cqe))
		kt_fail("io_uring_wait_cqe failed");
	t2 = kt_now_ns();
	fd = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (fd < 0)
		kt_fail("O_WRONLY under a read lease: %s", kt_res_str(fd));
	kt_expect_inode_of("O_WRONLY under a read lease", fd, file);
	close(fd);
	if ((t2 - t0) / 1000000 < HOLD_MS * 9 / 10)
		kt_fail("O_WRONLY completed %.1f ms after the submit, before "
			"the holder gave its lease up (%d ms)",
			(t2 - t0) / 1e6, HOLD_MS);
	if (traced && !kt_trace_async_count())
		kt_fail("O_WRONLY under a read lease did not go to io-wq");
	printf("O_WRONLY: submit %.2f ms without sleeping, completion after "
	       "%.0f ms (lease held %d ms after the break)\n",
	       (t1 - t0) / 1e6, (t2 - t0) / 1e6, HOLD_MS);
	holder_end(&h);

	/* O_NONBLOCK: -EWOULDBLOCK at once, as from the syscall */
	holder_start(&h);
	kt_expect_res("O_WRONLY | O_NONBLOCK under a read lease",
		      kt_ring_open(&ring, kt.dirfd, fh, O_WRONLY | O_NONBLOCK,
				   0), -EWOULDBLOCK);
	if (!holder_breaking(&h, 5000))
		kt_fail("O_WRONLY | O_NONBLOCK did not start the lease break");
	kt_expect_res("the syscall, O_WRONLY | O_NONBLOCK, lease breaking",
		      kt_sys_open(kt.dirfd, fh, O_WRONLY | O_NONBLOCK),
		      -EWOULDBLOCK);
	holder_end(&h);

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
