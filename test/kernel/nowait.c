// SPDX-License-Identifier: GPL-2.0
/*
 * The inline attempt never waits for the device.  On a slow device (a read
 * takes L >= 20 ms; test/vm/nullb.sh makes one), with cold caches, one
 * io_uring_enter() submits NR cold encodes and NR cold opens by handle of
 * distinct inodes, two opens of an inode X that another thread is reading
 * in at that moment (blocked in open_by_handle_at(2)), and a NOP.  The
 * submitting thread must not sleep in it (no voluntary context switch),
 * the submit must take less than L / 4 and the NOP must have completed by
 * then, while no cold request completes sooner than a device read: the
 * waits happen in io-wq.  Every result is checked (handles equal to the
 * syscall's, fds on the right inodes).  The time limit is the one thing a
 * loaded host can break (TCG's vCPUs are host threads), so a run that only
 * misses it is tried again, up to ATTEMPTS times; a sleep fails at once.
 * Then the same batch on an SQPOLL
 * ring: the polling thread must not sleep while it consumes the batch and
 * the NOP queued behind it must complete within L / 4.
 *
 * io-wq creates a worker thread, in the submitting task, for each request
 * that finds none idle: CPU time, not a wait, but under TCG enough to blur
 * the timing.  So each ring first runs the batch once untimed, leaving
 * idle workers for the timed run.
 *
 * Skips where DIR has no block device (tmpfs) or its reads take less than
 * 20 ms (a null_blk device's completion time, else a measured read: under
 * TCG a virtio disk's can exceed 5 ms), and where caches cannot be dropped.
 */
#include "ktest.h"
#include <pthread.h>
#include <sys/sysmacros.h>

#define NR		6	/* cold encodes, and cold opens */
#define SPREAD		64	/* files apart: other inode blocks */
#define NFILES		(2 * NR * SPREAD + 1)
#define NREQ		(2 * NR + 3)
#define MIN_DEV_NS	20000000LL
#define ATTEMPTS	3

enum { REQ_X1, REQ_X2, REQ_NOP, REQ_ENC0, REQ_OPEN0 = REQ_ENC0 + NR };

static const char *set;		/* DIR/kt-nowait-PID-set */
static char names[2 * NR + 1][64];	/* relative to DIR: set/fK */
static struct file_handle *fhs[2 * NR + 1];	/* the syscall's handles */
static struct stat sts[2 * NR + 1];
static int64_t dev_ns;

/* file k of the request set: X is 0, encodes 1..NR, opens NR+1..2NR */
static int file_of(int k)
{
	return k * SPREAD;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t d = *(const int64_t *)a - *(const int64_t *)b;

	return d < 0 ? -1 : d > 0;
}

/*
 * A null_blk device's completion time, from its configfs folder (named as
 * the device, see test/vm/nullb.sh), or 0.
 */
static int64_t null_blk_ns(dev_t dev)
{
	char path[256], name[64] = "";
	long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev),
		 minor(dev));
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(path, sizeof(path), f))
		if (sscanf(path, "DEVNAME=%63s", name) == 1)
			break;
	fclose(f);
	snprintf(path, sizeof(path),
		 "/sys/kernel/config/nullb/%s/completion_nsec", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = 0;
	fclose(f);
	return ns;
}

/*
 * One read of DIR's block device, in ns: a null_blk device's completion
 * time, else the median of 5 direct 4 KiB reads; 0 if DIR has no device.
 */
static int64_t device_read_ns(void)
{
	struct stat st = kt_fstat("device", kt.dirfd);
	char node[128], sys[128];
	int64_t t[5];
	long long sectors = 0;
	void *buf;
	FILE *f;
	int fd, i;

	if (!major(st.st_dev))
		return 0;
	t[0] = null_blk_ns(st.st_dev);
	if (t[0])
		return t[0];
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/size",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(sys, "r");
	if (!f || fscanf(f, "%lld", &sectors) != 1 || sectors < 8 * 64)
		kt_skip("cannot read the size of DIR's device (%s)", sys);
	fclose(f);
	snprintf(node, sizeof(node), "%s/kt-nowait-%d-dev",
		 getenv("TMPDIR") ?: "/tmp", (int)getpid());
	unlink(node);
	if (mknod(node, S_IFBLK | 0600, st.st_dev))
		kt_skip("mknod %s: %s", node, strerror(errno));
	fd = open(node, O_RDONLY | O_DIRECT);
	unlink(node);
	if (fd < 0)
		kt_skip("open DIR's device: %s", strerror(errno));
	if (posix_memalign(&buf, 4096, 4096))
		kt_fail("posix_memalign failed");
	for (i = 0; i < 5; i++) {
		off_t off = (sectors * 512 / 8 * (i + 1)) & ~4095LL;

		t[i] = kt_now_ns();
		if (pread(fd, buf, 4096, off) != 4096)
			kt_fail("read DIR's device at %lld: %s",
				(long long)off, strerror(errno));
		t[i] = kt_now_ns() - t[i];
	}
	close(fd);
	free(buf);
	qsort(t, 5, sizeof(t[0]), cmp_i64);
	return t[2];
}

static void set_up(void)
{
	int k, mnt;

	set = kt_mkfileset("set", NFILES);
	for (k = 0; k <= 2 * NR; k++) {
		snprintf(names[k], sizeof(names[k]), "%s/f%d",
			 strrchr(set, '/') + 1, file_of(k));
		fhs[k] = kt_fh_new(KT_MAX_HANDLE_SZ);
		kt_expect_res("encode with the syscall",
			      kt_sys_encode(kt.dirfd, names[k], fhs[k], &mnt,
					    0), 0);
		if (fstatat(kt.dirfd, names[k], &sts[k], 0))
			kt_fail("stat %s: %s", names[k], strerror(errno));
	}
}

/* ---- the other thread, reading X in ---- */

struct reader {
	pthread_t thread;
	pid_t tid;
	int64_t start, end;
	int fd;
	volatile int started;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct file_handle *copy = kt_fh_dup(fhs[0]);

	r->tid = (pid_t)syscall(SYS_gettid);
	r->start = kt_now_ns();
	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	r->fd = kt_sys_open(kt.dirfd, copy, O_RDONLY);
	r->end = kt_now_ns();
	free(copy);
	return NULL;
}

/*
 * Start the reader and wait until it sleeps in D state (in the read).
 * False if it finished before it was seen there.
 */
static bool reader_start(struct reader *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (pthread_create(&r->thread, NULL, reader_main, r))
		kt_fail("pthread_create failed");
	while (!__atomic_load_n(&r->started, __ATOMIC_ACQUIRE))
		usleep(50);
	for (i = 0; i < 20000; i++) {
		if (kt_task_state(r->tid) == 'D')
			return true;
		if (r->end)
			return false;
		usleep(100);
	}
	return false;
}

static void reader_join(struct reader *r)
{
	pthread_join(r->thread, NULL);
	if (r->fd < 0)
		kt_fail("the reader's open_by_handle_at of X: %s",
			kt_res_str(r->fd));
	kt_expect_same_inode_st("the reader's open of X", r->fd, &sts[0]);
	close(r->fd);
}

/* ---- the batch ---- */

static struct file_handle *ring_fhs[NR];
static int mnt_ids[NR];

static void prep_batch(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	int k;

	sqe = kt_prep_open(ring, kt.dirfd, fhs[0], O_RDONLY, 0);
	sqe->user_data = REQ_X1;
	for (k = 0; k < NR; k++) {
		ring_fhs[k] = kt_fh_new(KT_MAX_HANDLE_SZ);
		sqe = kt_prep_encode(ring, kt.dirfd, names[1 + k], ring_fhs[k],
				     &mnt_ids[k], 0, 0);
		sqe->user_data = REQ_ENC0 + k;
	}
	for (k = 0; k < NR; k++) {
		sqe = kt_prep_open(ring, kt.dirfd, fhs[1 + NR + k], O_RDONLY,
				   0);
		sqe->user_data = REQ_OPEN0 + k;
	}
	sqe = kt_prep_open(ring, kt.dirfd, fhs[0], O_RDONLY, 0);
	sqe->user_data = REQ_X2;
	sqe = kt_sqe(ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = REQ_NOP;
}

/* the batch was not submitted after all */
static void unprep_batch(void)
{
	int k;

	for (k = 0; k < NR; k++)
		free(ring_fhs[k]);
}

static const char *req_name(int id)
{
	static char buf[64];

	if (id == REQ_X1 || id == REQ_X2)
		return id == REQ_X1 ? "open of X" : "second open of X";
	if (id == REQ_NOP)
		return "NOP";
	if (id < REQ_OPEN0)
		snprintf(buf, sizeof(buf), "encode of %s",
			 names[1 + id - REQ_ENC0]);
	else
		snprintf(buf, sizeof(buf), "open of %s",
			 names[1 + NR + id - REQ_OPEN0]);
	return buf;
}

/* The result of request id must be right. */
static void check_result(const char *mode, int id, int res)
{
	char check[160];
	int k;

	snprintf(check, sizeof(check), "%s: %s", mode, req_name(id));
	if (id == REQ_NOP) {
		kt_expect_res(check, res, 0);
	} else if (id == REQ_X1 || id == REQ_X2) {
		if (res < 0)
			kt_fail("%s: %s", check, kt_res_str(res));
		kt_expect_same_inode_st(check, res, &sts[0]);
		close(res);
	} else if (id < REQ_OPEN0) {
		k = id - REQ_ENC0;
		kt_expect_res(check, res, 0);
		if (!kt_fh_same(ring_fhs[k], fhs[1 + k]))
			kt_fail("%s: ring handle %s, syscall handle %s", check,
				kt_fh_str(ring_fhs[k]), kt_fh_str(fhs[1 + k]));
		free(ring_fhs[k]);
	} else {
		k = id - REQ_OPEN0;
		if (res < 0)
			kt_fail("%s: %s", check, kt_res_str(res));
		kt_expect_same_inode_st(check, res, &sts[1 + NR + k]);
		close(res);
	}
}

/*
 * Reap the NREQ completions, checking each; done[id] = when it arrived.
 * The NOP must be first; the cold ones no sooner than a device read after
 * the reader started (ext4 reads inode tables ahead, so a request may ride
 * on the reader's read), and the last one no sooner than a device read
 * after t0.
 */
static void reap_batch(struct io_uring *ring, const char *mode, int64_t t0,
		       int64_t t_reader, bool timed)
{
	int64_t done[NREQ] = { 0 }, last = 0, floor = t_reader + dev_ns * 9 / 10;
	uint64_t id;
	int i, res;

	for (i = 0; i < NREQ; i++) {
		res = kt_reap(ring, &id);
		if (id >= NREQ || done[id])
			kt_fail("%s: unexpected completion user_data %llu",
				mode, (unsigned long long)id);
		done[id] = kt_now_ns();
		if (!timed) {
			check_result(mode, id, res);
			continue;
		}
		if (i == 0 && id != REQ_NOP)
			kt_fail("%s: %s completed before the NOP queued behind "
				"it, after %.1f ms", mode, req_name(id),
				(done[id] - t0) / 1e6);
		if (id != REQ_NOP && done[id] < floor)
			kt_fail("%s: %s completed %.1f ms after the submit, "
				"sooner than a device read (%.1f ms) after the "
				"reader started: it did not read the device?",
				mode, req_name(id), (done[id] - t0) / 1e6,
				dev_ns / 1e6);
		check_result(mode, id, res);
		if (done[id] > last)
			last = done[id];
	}
	if (!timed)
		return;
	if (last - t0 < dev_ns * 9 / 10)
		kt_fail("%s: the whole batch completed %.1f ms after the "
			"submit, in less than one device read (%.1f ms)", mode,
			(last - t0) / 1e6, dev_ns / 1e6);
	printf("%s: the cold requests completed %.1f to %.1f ms after the "
	       "submit\n", mode, (floor - t0) / 1e6, (last - t0) / 1e6);
}

static void go_cold(void)
{
	int ret = kt_drop_caches();

	if (ret)
		kt_skip("cannot drop caches: %s", strerror(-ret));
}

/* The batch, cold, untimed: it leaves the workers it needs idle. */
static void warm_up(struct io_uring *ring, const char *mode)
{
	go_cold();
	prep_batch(ring);
	kt_submit(ring, NREQ);
	reap_batch(ring, mode, 0, 0, false);
}

/* How an attempt went: the caller tries again unless DONE. */
enum attempt { DONE, NO_READER, TOO_SLOW };

static const char *attempt_str(enum attempt a)
{
	return a == NO_READER ? "the reader's open of X was never seen in D "
		"state (reading)" : "the submit was never fast enough (above)";
}

/* The plain ring. */
static enum attempt plain_ring(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct reader r;
	int64_t t0, t1;
	long csw0, csw1;
	int ret;

	kt_ring_init(&ring, 32, 0);
	warm_up(&ring, "plain ring, warm-up");
	go_cold();
	prep_batch(&ring);
	if (!reader_start(&r)) {
		reader_join(&r);
		unprep_batch();
		io_uring_queue_exit(&ring);	/* the SQEs were not submitted */
		return NO_READER;
	}
	csw0 = kt_thread_nvcsw();
	t0 = kt_now_ns();
	ret = io_uring_submit(&ring);
	t1 = kt_now_ns();
	csw1 = kt_thread_nvcsw();
	if (ret != NREQ)
		kt_fail("io_uring_submit: %s, want %d", kt_res_str(ret), NREQ);
	if (csw1 != csw0)
		kt_fail("plain ring: the submitting thread slept in "
			"io_uring_enter() (%ld voluntary context switches, "
			"%.1f ms; one device read takes %.1f ms): an inline "
			"attempt waited", csw1 - csw0, (t1 - t0) / 1e6,
			dev_ns / 1e6);
	if (io_uring_peek_cqe(&ring, &cqe) || cqe->user_data != REQ_NOP)
		kt_fail("plain ring: the NOP had not completed when "
			"io_uring_submit() returned");
	printf("plain ring: submit %.2f ms, no sleep; device read %.1f ms\n",
	       (t1 - t0) / 1e6, dev_ns / 1e6);
	reap_batch(&ring, "plain ring", t0, r.start, true);
	reader_join(&r);
	io_uring_queue_exit(&ring);
	if ((t1 - t0) * 4 > dev_ns) {
		printf("plain ring: io_uring_submit() of %d requests took "
		       "%.1f ms, more than a quarter of one device read "
		       "(%.1f ms)\n", NREQ, (t1 - t0) / 1e6, dev_ns / 1e6);
		return TOO_SLOW;
	}
	return DONE;
}

static enum attempt sqpoll_ring(void)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQPOLL,
		.sq_thread_idle = 20000,	/* ms: it must not idle */
	};
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct reader r;
	long csw0, csw1;
	int64_t t0, t1;
	pid_t sq;
	int ret;

	ret = io_uring_queue_init_params(32, &ring, &p);
	if (ret == -EPERM || ret == -EINVAL)
		kt_skip("SQPOLL ring: %s", strerror(-ret));
	if (ret)
		kt_fail("io_uring_queue_init_params(SQPOLL): %s",
			strerror(-ret));
	/* wake the polling thread: it then polls for 20 s */
	io_uring_prep_nop(kt_sqe(&ring));
	kt_expect_res("SQPOLL warm-up NOP", kt_run(&ring), 0);
	sq = kt_find_thread("iou-sqp-");
	if (sq < 0)
		kt_fail("SQPOLL ring: no iou-sqp-* thread");
	warm_up(&ring, "SQPOLL ring, warm-up");

	go_cold();
	prep_batch(&ring);
	if (!reader_start(&r)) {
		reader_join(&r);
		unprep_batch();
		io_uring_queue_exit(&ring);
		return NO_READER;
	}
	csw0 = kt_task_status(sq, "voluntary_ctxt_switches");
	t0 = kt_now_ns();
	kt_submit(&ring, NREQ);
	/* the NOP behind the batch: the polling thread went through it */
	ret = io_uring_wait_cqe(&ring, &cqe);
	t1 = kt_now_ns();
	csw1 = kt_task_status(sq, "voluntary_ctxt_switches");
	if (ret)
		kt_fail("io_uring_wait_cqe: %s", strerror(-ret));
	if (cqe->user_data != REQ_NOP)
		kt_fail("SQPOLL ring: %s completed first, before the NOP "
			"queued behind it, after %.1f ms",
			req_name(cqe->user_data), (t1 - t0) / 1e6);
	if (csw0 < 0 || csw1 != csw0)
		kt_fail("SQPOLL ring: the polling thread slept while it "
			"consumed the batch (%ld voluntary context switches, "
			"%.1f ms; one device read takes %.1f ms): an inline "
			"attempt waited", csw1 - csw0, (t1 - t0) / 1e6,
			dev_ns / 1e6);
	printf("SQPOLL ring: NOP after %.2f ms, polling thread did not "
	       "sleep\n", (t1 - t0) / 1e6);
	reap_batch(&ring, "SQPOLL ring", t0, r.start, true);
	reader_join(&r);
	io_uring_queue_exit(&ring);
	if ((t1 - t0) * 4 > dev_ns) {
		printf("SQPOLL ring: the NOP behind %d requests completed "
		       "after %.1f ms, more than a quarter of one device read "
		       "(%.1f ms)\n", NREQ - 1, (t1 - t0) / 1e6, dev_ns / 1e6);
		return TOO_SLOW;
	}
	return DONE;
}

int main(int argc, char **argv)
{
	enum attempt a = DONE;
	struct io_uring ring;
	int i;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	io_uring_queue_exit(&ring);

	dev_ns = device_read_ns();
	if (!dev_ns)
		kt_skip("%s has no block device (%s)", kt.dir, kt_fstype());
	if (dev_ns < MIN_DEV_NS)
		kt_skip("a read from %s's device takes %.2f ms, not >= %.0f "
			"ms: too fast to tell (test/vm/nullb.sh makes a slow "
			"one)", kt.dir, dev_ns / 1e6, MIN_DEV_NS / 1e6);
	set_up();

	for (i = 0; i < ATTEMPTS && (a = plain_ring()) != DONE; i++)
		;
	if (a != DONE)
		kt_fail("plain ring, %d attempts: %s", ATTEMPTS,
			attempt_str(a));
	for (i = 0; i < ATTEMPTS && (a = sqpoll_ring()) != DONE; i++)
		;
	if (a != DONE)
		kt_fail("SQPOLL ring, %d attempts: %s", ATTEMPTS,
			attempt_str(a));
	kt_pass();
}
