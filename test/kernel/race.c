// SPDX-License-Identifier: GPL-2.0
/*
 * Opens by handle racing with creation, unlinking and eviction of the
 * inodes they name, to stress the inline (non-blocking) decode where the
 * inode is new (I_NEW), being freed (I_FREEING) or, on xfs, reclaimable:
 * NTHREADS threads, each with its own ring, share NSLOTS file names and
 * loop creating a file, encoding it through the ring, unlinking one and
 * opening a handle by it (inline, and every fourth time with IOSQE_ASYNC),
 * while one thread also drops the dentry and inode caches now and then.
 * Every result must be one the syscall may give: encode 0 or -ENOENT;
 * open -ESTALE, -ENOMEM (seen from the syscall on ext4 in that race), or
 * an fd on the very inode the handle names (its own handle is the same).
 * The VM runner fails the run on any kernel warning.
 */
#include "ktest.h"
#include <pthread.h>

#define NTHREADS	4
#define NSLOTS		16
#define ITERS		3000
#define MAX_SECONDS	60
#define DROP_EVERY	64

static struct {
	pthread_mutex_t lock;
	const char *path;
	struct file_handle *fh;	/* the last handle encoded, or NULL */
} slots[NSLOTS];

static pthread_barrier_t barrier;
static time_t deadline;
static bool can_drop;
static int counts[4];	/* opened, -ESTALE, -ENOMEM, encode -ENOENT */

static void count(int i)
{
	__atomic_add_fetch(&counts[i], 1, __ATOMIC_RELAXED);
}

static void create_and_encode(struct io_uring *ring, int me, int s)
{
	struct file_handle *fh = kt_fh_new(KT_MAX_HANDLE_SZ);
	int fd, res, mnt;

	fd = open(slots[s].path, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0 && errno != EEXIST)
		kt_fail("thread %d: create %s: %s", me, slots[s].path,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	res = kt_ring_encode(ring, AT_FDCWD, slots[s].path, fh, &mnt, 0, 0);
	if (res == -ENOENT) {
		count(3);
		free(fh);
		return;
	}
	if (res)
		kt_fail("thread %d: encode %s: %s, want 0 or -ENOENT", me,
			slots[s].path, kt_res_str(res));
	pthread_mutex_lock(&slots[s].lock);
	free(slots[s].fh);
	slots[s].fh = fh;
	pthread_mutex_unlock(&slots[s].lock);
}

/* The fd must be on the inode fh names: its own handle is fh. */
static void expect_named(int me, int fd, const struct file_handle *fh)
{
	struct file_handle *own = kt_fh_new(KT_MAX_HANDLE_SZ);
	int mnt, res = kt_sys_encode(fd, "", own, &mnt, AT_EMPTY_PATH);

	if (res || !kt_fh_same(own, fh))
		kt_fail("thread %d: opened by handle %s, an fd whose handle "
			"is %s (%s)", me, kt_fh_str(fh), kt_fh_str(own),
			kt_res_str(res));
	free(own);
}

static void open_slot(struct io_uring *ring, int me, int s,
		      unsigned int sqe_fl)
{
	struct file_handle *fh = NULL;
	int fd;

	pthread_mutex_lock(&slots[s].lock);
	if (slots[s].fh)
		fh = kt_fh_dup(slots[s].fh);
	pthread_mutex_unlock(&slots[s].lock);
	if (!fh)
		return;
	fd = kt_ring_open(ring, kt.dirfd, fh, O_RDONLY, sqe_fl);
	if (fd >= 0) {
		expect_named(me, fd, fh);
		close(fd);
		count(0);
	} else if (fd == -ESTALE) {
		count(1);
	} else if (fd == -ENOMEM) {
		count(2);
	} else {
		kt_fail("thread %d: open by handle %s: %s, want an fd, "
			"-ESTALE or -ENOMEM", me, kt_fh_str(fh),
			kt_res_str(fd));
	}
	free(fh);
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "2", 1) != 1)
			can_drop = false;
		close(fd);
	}
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg, i, s;
	struct io_uring ring;

	kt_ring_init(&ring, 8, 0);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < ITERS && time(NULL) < deadline; i++) {
		s = (i * 7 + me * 5) % NSLOTS;
		switch ((i + me) % 3) {
		case 0:
			create_and_encode(&ring, me, s);
			break;
		case 1:
			if (unlink(slots[s].path) && errno != ENOENT)
				kt_fail("thread %d: unlink: %s", me,
					strerror(errno));
			break;
		default:
			open_slot(&ring, me, (s + 3) % NSLOTS,
				  (i & 3) == 3 ? IOSQE_ASYNC : 0);
			break;
		}
		if (!me && can_drop && i % DROP_EVERY == DROP_EVERY - 1)
			drop_caches();
	}
	io_uring_queue_exit(&ring);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[NTHREADS];
	struct io_uring ring;
	char leaf[16];
	int i, err;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	io_uring_queue_exit(&ring);

	for (i = 0; i < NSLOTS; i++) {
		snprintf(leaf, sizeof(leaf), "slot%d", i);
		slots[i].path = kt_path(leaf);
		pthread_mutex_init(&slots[i].lock, NULL);
	}
	can_drop = !geteuid();
	deadline = time(NULL) + MAX_SECONDS;
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		err = pthread_create(&tids[i], NULL, worker,
				     (void *)(intptr_t)i);
		if (err)
			kt_fail("pthread_create: %s", strerror(err));
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tids[i], NULL);
	printf("opens: %d fds, %d -ESTALE, %d -ENOMEM; encodes -ENOENT: %d; "
	       "caches dropped: %s\n", counts[0], counts[1], counts[2],
	       counts[3], can_drop ? "yes" : "no");
	if (!counts[0] || !counts[1])
		kt_fail("the race never opened a file (%d) or never met a "
			"removed one (%d): it tested nothing", counts[0],
			counts[1]);
	for (i = 0; i < NSLOTS; i++)
		free(slots[i].fh);
	kt_pass();
}
