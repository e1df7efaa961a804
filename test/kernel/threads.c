// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads at once, each with its own ring, loop encoding and opening
 * by handle (inline and through io-wq, their own file and the others'),
 * checking every handle against the syscall's and every fd's inode.
 */
#include "ktest.h"
#include <pthread.h>
#include <time.h>

#define NTHREADS	8
#define ITERS		400
#define MAX_SECONDS	20

static struct {
	const char *path;
	struct file_handle *fh;		/* the syscall's */
	int mnt;
	struct stat st;
} files[NTHREADS];

static pthread_barrier_t barrier;
static time_t deadline;

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg, i, res, fd, mnt, other;
	struct file_handle *fh = kt_fh_new(KT_MAX_HANDLE_SZ);
	unsigned int flags;
	struct io_uring ring;
	struct stat st;

	kt_ring_init(&ring, 8, 0);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < ITERS && time(NULL) < deadline; i++) {
		flags = (i & 1) ? IOSQE_ASYNC : 0;
		fh->handle_bytes = KT_MAX_HANDLE_SZ;
		mnt = -1;
		res = kt_ring_encode(&ring, AT_FDCWD, files[me].path, fh, &mnt,
				     0, flags);
		if (res || !kt_fh_same(fh, files[me].fh) ||
		    mnt != files[me].mnt)
			kt_fail("thread %d iter %d: encode gave %s handle %s "
				"mount id %d, want %s mount id %d", me, i,
				kt_res_str(res), kt_fh_str(fh), mnt,
				kt_fh_str(files[me].fh), files[me].mnt);

		other = (me + i) % NTHREADS;
		fd = kt_ring_open(&ring, kt.dirfd, files[other].fh,
				  (i & 2) ? O_RDWR : O_RDONLY, flags);
		if (fd < 0)
			kt_fail("thread %d iter %d: open of file %d gave %s",
				me, i, other, kt_res_str(fd));
		if (fstat(fd, &st))
			kt_fail("thread %d: fstat: %s", me, strerror(errno));
		if (st.st_ino != files[other].st.st_ino ||
		    st.st_dev != files[other].st.st_dev)
			kt_fail("thread %d iter %d: open of file %d is ino "
				"%lu, want %lu", me, i, other,
				(unsigned long)st.st_ino,
				(unsigned long)files[other].st.st_ino);
		close(fd);
	}
	io_uring_queue_exit(&ring);
	free(fh);
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

	for (i = 0; i < NTHREADS; i++) {
		snprintf(leaf, sizeof(leaf), "file%d", i);
		files[i].path = kt_mkfile(leaf, leaf);
		files[i].fh = kt_fh_new(KT_MAX_HANDLE_SZ);
		if (kt_sys_encode(AT_FDCWD, files[i].path, files[i].fh,
				  &files[i].mnt, 0) ||
		    stat(files[i].path, &files[i].st))
			kt_fail("set-up of %s: %s", files[i].path,
				strerror(errno));
	}

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
	for (i = 0; i < NTHREADS; i++)
		free(files[i].fh);
	kt_pass();
}
