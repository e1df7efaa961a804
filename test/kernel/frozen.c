// SPDX-License-Identifier: GPL-2.0
/*
 * Opens by handle that need write access to the filesystem (O_TRUNC, and
 * O_TMPFILE on a directory's handle) wait while it is frozen (FIFREEZE, as
 * fsfreeze -f does).  They must wait in io-wq, never inline in the
 * submitter: with the filesystem frozen, io_uring_submit() of such an open
 * and a NOP returns, the NOP completes, the open does not; after the thaw
 * the open completes with the right result.  A kernel that tries the open
 * inline sleeps in io_uring_submit() (with the ring's lock held) until the
 * thaw: a watchdog thread thaws the filesystem after WATCHDOG_S seconds
 * and the test fails instead of hanging.  Opens that need no write access
 * (O_RDONLY, O_RDWR without O_TRUNC, a directory, O_PATH) and encodes of
 * cached files complete while it is frozen, inline (where tracefs shows
 * it).  Skips where the filesystem cannot be frozen (or we are not root).
 */
#include "ktest.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define WATCHDOG_S	60
#define UD_OPEN		1
#define UD_NOP		2

static struct io_uring ring;
static int frozen;		/* FIFREEZE done and not yet thawed */
static int fired;		/* the watchdog thawed */
static time_t deadline;		/* 0: the watchdog is disarmed */

/* Thaw once; safe in a signal handler and from any thread. */
static void thaw(void)
{
	if (__atomic_exchange_n(&frozen, 0, __ATOMIC_SEQ_CST))
		ioctl(kt.dirfd, FITHAW, 0);
}

static void thaw_at_exit(void)
{
	thaw();
}

static void thaw_on_signal(int sig)
{
	thaw();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void *watchdog(void *arg)
{
	time_t d;

	(void)arg;
	for (;;) {
		sleep(1);
		d = __atomic_load_n(&deadline, __ATOMIC_SEQ_CST);
		if (d && time(NULL) >= d &&
		    __atomic_load_n(&frozen, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&fired, 1, __ATOMIC_SEQ_CST);
			thaw();
		}
	}
	return NULL;
}

/* Freeze DIR's filesystem; false (and errno) if it cannot be frozen. */
static bool freeze(void)
{
	sync();
	if (ioctl(kt.dirfd, FIFREEZE, 0))
		return false;
	__atomic_store_n(&frozen, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&deadline, time(NULL) + WATCHDOG_S,
			 __ATOMIC_SEQ_CST);
	return true;
}

static void expect_not_fired(const char *check, const char *what)
{
	if (__atomic_load_n(&fired, __ATOMIC_SEQ_CST))
		kt_fail("%s: %s until the watchdog thawed the filesystem "
			"after %d s: the open ran inline, not in io-wq", check,
			what, WATCHDOG_S);
}

/*
 * Submit the open (flags, on fh) and a NOP on the frozen filesystem; the
 * NOP must complete and the open not; thaw; returns the open's result.
 */
static int open_frozen(const char *check, const struct file_handle *fh,
		       int flags)
{
	struct __kernel_timespec ts = { .tv_sec = WATCHDOG_S };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	uint64_t ud;
	int ret, res;

	if (!freeze())
		kt_fail("%s: FIFREEZE: %s", check, strerror(errno));
	kt_prep_open(&ring, kt.dirfd, fh, flags, 0)->user_data = UD_OPEN;
	sqe = kt_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = UD_NOP;
	ret = io_uring_submit(&ring);
	expect_not_fired(check, "io_uring_submit() did not return");
	kt_expect_res("io_uring_submit of the open and a NOP", ret, 2);

	ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	expect_not_fired(check, "no completion came");
	if (ret)
		kt_fail("%s: no completion within %d s with the filesystem "
			"frozen: %s (the NOP should complete at once)", check,
			WATCHDOG_S, strerror(-ret));
	ud = cqe->user_data;
	res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	if (ud == UD_OPEN)
		kt_fail("%s: the open completed with %s while the filesystem "
			"was frozen", check, kt_res_str(res));
	kt_expect_res("the NOP", res, 0);
	if (!io_uring_peek_cqe(&ring, &cqe))
		kt_fail("%s: the open completed with %s while the filesystem "
			"was frozen", check, kt_res_str(cqe->res));

	__atomic_store_n(&deadline, 0, __ATOMIC_SEQ_CST);
	thaw();
	return kt_reap(&ring, NULL);
}

/*
 * With the filesystem frozen, warm encodes and opens that write nothing
 * complete, in one submit, inline; then thaw.
 */
static void read_only_frozen(const char *file, const char *dir,
			     const struct file_handle *fh,
			     const struct file_handle *dfh)
{
	static const struct {
		const char *what;
		int flags;
		bool is_dir;
	} opens[] = {
		{ "O_RDONLY", O_RDONLY, false },
		{ "O_RDWR", O_RDWR, false },
		{ "O_WRONLY | O_APPEND", O_WRONLY | O_APPEND, false },
		{ "O_PATH", O_PATH, false },
		{ "O_PATH | O_TRUNC", O_PATH | O_TRUNC, false },
		{ "a directory", O_RDONLY | O_DIRECTORY, true },
	};
	enum { NOPENS = sizeof(opens) / sizeof(opens[0]) };
	struct __kernel_timespec ts = { .tv_sec = WATCHDOG_S };
	struct file_handle *efh[2];
	struct io_uring_cqe *cqe;
	bool traced;
	int mnt[2], i, n;

	efh[0] = kt_fh_new(KT_MAX_HANDLE_SZ);
	efh[1] = kt_fh_new(KT_MAX_HANDLE_SZ);
	if (!freeze())
		kt_fail("read-only: FIFREEZE: %s", strerror(errno));
	traced = kt_trace_async_reset();
	for (i = 0; i < NOPENS; i++)
		kt_prep_open(&ring, kt.dirfd, opens[i].is_dir ? dfh : fh,
			     opens[i].flags, 0)->user_data = i;
	/* relative: a walk from / would cross the VM's 9p root */
	kt_prep_encode(&ring, kt.dirfd, strrchr(file, '/') + 1, efh[0],
		       &mnt[0], 0, 0)->user_data = NOPENS;
	kt_prep_encode(&ring, kt.dirfd, strrchr(dir, '/') + 1, efh[1],
		       &mnt[1], 0, 0)->user_data = NOPENS + 1;
	kt_expect_res("read-only: io_uring_submit", io_uring_submit(&ring),
		      NOPENS + 2);
	for (n = 0; n < NOPENS + 2; n++) {
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			kt_fail("read-only: with the filesystem frozen, only "
				"%d of %d encodes and opens completed", n,
				NOPENS + 2);
		i = cqe->user_data;
		if (i < NOPENS) {
			if (cqe->res < 0)
				kt_fail("read-only: open %s while frozen: %s",
					opens[i].what, kt_res_str(cqe->res));
			kt_expect_inode_of(opens[i].what, cqe->res,
					   opens[i].is_dir ? dir : file);
			close(cqe->res);
		} else {
			kt_expect_res("read-only: encode while frozen",
				      cqe->res, 0);
		}
		io_uring_cqe_seen(&ring, cqe);
	}
	expect_not_fired("read-only", "the encodes and opens waited");
	if (traced && kt_trace_async_count())
		kt_fail("read-only: %d of the encodes and opens went to io-wq "
			"while the filesystem was frozen, want all inline",
			kt_trace_async_count());
	if (!kt_fh_same(efh[0], fh) || !kt_fh_same(efh[1], dfh))
		kt_fail("read-only: the handles encoded while frozen differ");
	__atomic_store_n(&deadline, 0, __ATOMIC_SEQ_CST);
	thaw();
	free(efh[0]);
	free(efh[1]);
	printf("frozen: %d opens and 2 encodes that write nothing completed%s\n",
	       NOPENS, traced ? ", inline" : "");
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *dfh;
	const char *file, *dir;
	struct stat st;
	pthread_t tid;
	int fd, sfd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (geteuid())
		kt_skip("not root: cannot freeze %s", kt.dir);

	file = kt_mkfile("file", "frozen\n");
	dir = kt_mkdir("dir");
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	kt_expect_res("encode dir", kt_encode_both("encode dir", &ring,
			AT_FDCWD, dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);

	atexit(thaw_at_exit);
	signal(SIGTERM, thaw_on_signal);
	signal(SIGINT, thaw_on_signal);
	if (!freeze())
		kt_skip("%s (%s) cannot be frozen: FIFREEZE: %s", kt.dir,
			kt_fstype(), strerror(errno));
	thaw();
	if (pthread_create(&tid, NULL, watchdog, NULL))
		kt_fail("pthread_create failed");

	read_only_frozen(file, dir, fh, dfh);

	fd = open_frozen("O_WRONLY|O_TRUNC", fh, O_WRONLY | O_TRUNC);
	if (fd < 0)
		kt_fail("O_WRONLY|O_TRUNC: after the thaw: %s", kt_res_str(fd));
	kt_expect_inode_of("O_WRONLY|O_TRUNC", fd, file);
	if (stat(file, &st) || st.st_size)
		kt_fail("O_WRONLY|O_TRUNC: size %ld after the open, want 0",
			(long)st.st_size);
	sfd = kt_sys_open(kt.dirfd, fh, O_WRONLY | O_TRUNC);
	if (sfd < 0 || fcntl(fd, F_GETFL) != fcntl(sfd, F_GETFL))
		kt_fail("O_WRONLY|O_TRUNC: F_GETFL ring %#x, syscall %s %#x",
			fcntl(fd, F_GETFL), kt_res_str(sfd),
			fcntl(sfd, F_GETFL));
	close(sfd);
	close(fd);

	fd = open_frozen("O_TMPFILE|O_RDWR on a directory's handle", dfh,
			 O_TMPFILE | O_RDWR);
	if (fd < 0)
		kt_fail("O_TMPFILE: after the thaw: %s", kt_res_str(fd));
	st = kt_fstat("O_TMPFILE", fd);
	if (!S_ISREG(st.st_mode) || st.st_nlink ||
	    st.st_dev != kt_fstat("O_TMPFILE", kt.dirfd).st_dev)
		kt_fail("O_TMPFILE: mode %#o nlink %lu: want an unlinked "
			"regular file in %s", st.st_mode,
			(unsigned long)st.st_nlink, dir);
	if (pwrite(fd, "x", 1, 0) != 1)
		kt_fail("O_TMPFILE: write: %s", strerror(errno));
	close(fd);

	free(fh);
	free(dfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
