// SPDX-License-Identifier: GPL-2.0
/*
 * Which requests complete inline and which go to io-wq (counted with the
 * io_uring:io_uring_queue_async_work tracepoint), asserted case by case:
 *
 *   - warm (the inode and its dentries cached): every encode (file, dir,
 *     symlink, FIFO, AT_EMPTY_PATH, AT_HANDLE_FID, AT_HANDLE_MNT_ID_UNIQUE)
 *     and every open that needs no write access to the filesystem (file
 *     with each access mode and O_NONBLOCK, dir, fixed slot, allocated
 *     slot, O_PATH on a file, a FIFO and a symlink, O_PATH | O_TRUNC,
 *     which opens nothing for writing) completes inline;
 *   - IOSQE_ASYNC, O_TRUNC, O_CREAT, O_TMPFILE and a FIFO opened without
 *     O_PATH go to io-wq;
 *   - cold (after dropping the caches) on a filesystem with a block device
 *     the open of a file and of a directory and the encode go to io-wq,
 *     and the same request right after completes inline; on tmpfs,
 *     which cannot be cold, they all complete inline;
 *   - a removed file's handle gives -ESTALE (where is not asserted: XFS
 *     decides it inline while the inode waits for inactivation).
 *
 * Every result is checked too.  Skips without tracefs.
 */
#include "ktest.h"
#include <sys/sysmacros.h>

enum where { INLINE, IOWQ, COLD, ANYWHERE };

static struct io_uring ring;
static bool block_fs;
static struct file_handle *ffh, *dfh, *pfh, *lfh;
static const char *file, *dir, *fifo, *link_;
static int failures;

static const char *where_str(enum where w)
{
	switch (w) {
	case INLINE:
		return "inline";
	case IOWQ:
		return "io-wq";
	case COLD:
		return block_fs ? "io-wq (cold)" : "inline (tmpfs)";
	default:
		return "either";
	}
}

/*
 * Submit the one prepared SQE and wait; the request must have gone where
 * want says.  Returns cqe->res.
 */
static int place(const char *what, enum where want)
{
	bool async;
	int res, n;

	if (!kt_trace_async_reset())
		kt_fail("%s: cannot reset the trace", what);
	res = kt_run(&ring);
	n = kt_trace_async_count();
	if (n < 0)
		kt_fail("%s: cannot read the trace", what);
	async = n > 0;
	printf("%-44s res=%-5d %s\n", what, res, async ? "io-wq" : "inline");
	if ((want == INLINE && async) || (want == IOWQ && !async) ||
	    (want == COLD && async != block_fs)) {
		fprintf(stderr, "FAIL: %s: %s: went to %s, want %s\n", kt.name,
			what, async ? "io-wq" : "inline", where_str(want));
		failures++;
	}
	return res;
}

/*
 * Encode path (relative to DIR unless dfd is given) through the ring, then
 * the syscall: the same handle.  Relative, as the walk from / would cross
 * the VM's 9p root, whose dentries LOOKUP_CACHED cannot revalidate.
 */
static void encode(const char *what, const char *path, int dfd, int flags,
		   unsigned int sqe_flags, enum where want)
{
	struct file_handle *rfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	struct file_handle *sfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	uint64_t rmnt = 0, smnt = 0;
	int res;

	if (dfd == AT_FDCWD) {
		dfd = kt.dirfd;
		path = strrchr(path, '/') + 1;
	}
	kt_prep_encode(&ring, dfd, path, rfh, (int *)&rmnt, flags, sqe_flags);
	res = place(what, want);
	kt_expect_res(what, res, 0);
	kt_expect_res(what, kt_sys_encode(dfd, path, sfh, (int *)&smnt,
					  flags), 0);
	if (!kt_fh_same(rfh, sfh) || rmnt != smnt)
		kt_fail("%s: ring handle %s mount id %llu, syscall %s %llu",
			what, kt_fh_str(rfh), (unsigned long long)rmnt,
			kt_fh_str(sfh), (unsigned long long)smnt);
	free(rfh);
	free(sfh);
}

/* An open by handle that must open path's inode. */
static void open_(const char *what, struct file_handle *fh, int flags,
		  unsigned int sqe_flags, const char *path, enum where want)
{
	int fd;

	kt_prep_open(&ring, kt.dirfd, fh, flags, sqe_flags);
	fd = place(what, want);
	if (fd < 0)
		kt_fail("%s: %s", what, kt_res_str(fd));
	kt_expect_inode_of(what, fd, path);
	close(fd);
}

static void cold(void)
{
	int ret = kt_drop_caches();

	if (ret)
		kt_skip("cannot drop caches: %s", strerror(-ret));
}

int main(int argc, char **argv)
{
	struct io_uring_sqe *sqe;
	int slots[2] = { -1, -1 }, fd, res, mnt;
	struct stat st;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (!kt_trace_async_reset())
		kt_skip("no tracefs at /sys/kernel/tracing (or selfcheck)");
	block_fs = major(kt_fstat("DIR", kt.dirfd).st_dev) != 0;

	file = kt_mkfile("file", "0123456789");
	dir = kt_mkdir("dir");
	fifo = kt_path("fifo");
	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	link_ = kt_mksymlink("link", file);
	ffh = kt_fh_new(KT_MAX_HANDLE_SZ);
	dfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	pfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	lfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("set-up", kt_sys_encode(AT_FDCWD, file, ffh, &mnt, 0), 0);
	kt_expect_res("set-up", kt_sys_encode(AT_FDCWD, dir, dfh, &mnt, 0), 0);
	kt_expect_res("set-up", kt_sys_encode(AT_FDCWD, fifo, pfh, &mnt, 0), 0);
	kt_expect_res("set-up", kt_sys_encode(AT_FDCWD, link_, lfh, &mnt, 0),
		      0);
	if (io_uring_register_files(&ring, slots, 2))
		kt_fail("io_uring_register_files failed");

	/* warm: everything cached */
	encode("encode file", file, AT_FDCWD, 0, 0, INLINE);
	encode("encode dir", dir, AT_FDCWD, 0, 0, INLINE);
	encode("encode symlink", link_, AT_FDCWD, 0, 0, INLINE);
	encode("encode FIFO", fifo, AT_FDCWD, 0, 0, INLINE);
	encode("encode AT_HANDLE_FID", file, AT_FDCWD, AT_HANDLE_FID, 0,
	       INLINE);
	encode("encode AT_HANDLE_MNT_ID_UNIQUE", file, AT_FDCWD,
	       AT_HANDLE_MNT_ID_UNIQUE, 0, INLINE);
	fd = kt_openf(file, O_RDONLY);
	encode("encode AT_EMPTY_PATH", "", fd, AT_EMPTY_PATH, 0, INLINE);
	close(fd);

	open_("open O_RDONLY", ffh, O_RDONLY, 0, file, INLINE);
	open_("open O_WRONLY", ffh, O_WRONLY, 0, file, INLINE);
	open_("open O_RDWR", ffh, O_RDWR, 0, file, INLINE);
	open_("open O_RDONLY | O_NONBLOCK", ffh, O_RDONLY | O_NONBLOCK, 0,
	      file, INLINE);
	open_("open O_PATH", ffh, O_PATH, 0, file, INLINE);
	open_("open O_PATH | O_TRUNC", ffh, O_PATH | O_TRUNC, 0, file, INLINE);
	if (stat(file, &st) || st.st_size != 10)
		kt_fail("open O_PATH | O_TRUNC: the file is %ld bytes, not 10",
			(long)st.st_size);
	open_("open dir O_DIRECTORY", dfh, O_RDONLY | O_DIRECTORY, 0, dir,
	      INLINE);
	open_("open FIFO O_PATH", pfh, O_PATH, 0, fifo, INLINE);
	open_("open symlink O_PATH | O_NOFOLLOW", lfh, O_PATH | O_NOFOLLOW, 0,
	      link_, INLINE);

	sqe = kt_prep_open(&ring, kt.dirfd, ffh, O_RDONLY, 0);
	sqe->file_index = 2;	/* slot 1 */
	kt_expect_res("open into slot 1", place("open into slot 1", INLINE),
		      0);
	sqe = kt_prep_open(&ring, kt.dirfd, ffh, O_RDONLY, 0);
	sqe->file_index = IORING_FILE_INDEX_ALLOC;
	kt_expect_res("open, allocated slot",
		      place("open, allocated slot", INLINE), 0);

	/* what must go to io-wq */
	encode("encode IOSQE_ASYNC", file, AT_FDCWD, 0, IOSQE_ASYNC, IOWQ);
	open_("open IOSQE_ASYNC", ffh, O_RDONLY, IOSQE_ASYNC, file, IOWQ);
	open_("open O_WRONLY | O_TRUNC", ffh, O_WRONLY | O_TRUNC, 0, file,
	      IOWQ);
	open_("open O_RDWR | O_CREAT", ffh, O_RDWR | O_CREAT, 0, file, IOWQ);
	kt_prep_open(&ring, kt.dirfd, dfh, O_TMPFILE | O_RDWR, 0);
	res = place("open dir O_TMPFILE", IOWQ);
	if (res < 0)
		kt_fail("open dir O_TMPFILE: %s", kt_res_str(res));
	close(res);
	/* a reader and a writer of its own: the open completes */
	fd = kt_openf(fifo, O_RDONLY | O_NONBLOCK);
	open_("open FIFO O_WRONLY", pfh, O_WRONLY, 0, fifo, IOWQ);
	close(fd);
	open_("open FIFO O_RDWR", pfh, O_RDWR, 0, fifo, IOWQ);
	open_("open FIFO O_RDONLY | O_NONBLOCK", pfh, O_RDONLY | O_NONBLOCK, 0,
	      fifo, IOWQ);

	/* cold: a block device's filesystem reads, tmpfs cannot be cold */
	io_uring_unregister_files(&ring);	/* the slots keep the file */
	cold();
	open_("open file, cold", ffh, O_RDONLY, 0, file, COLD);
	open_("open file, right after", ffh, O_RDONLY, 0, file, INLINE);
	cold();
	open_("open dir, cold", dfh, O_RDONLY | O_DIRECTORY, 0, dir, COLD);
	open_("open dir, right after", dfh, O_RDONLY | O_DIRECTORY, 0, dir,
	      INLINE);
	cold();
	encode("encode file, cold", file, AT_FDCWD, 0, 0, COLD);
	encode("encode file, right after", file, AT_FDCWD, 0, 0, INLINE);

	if (unlink(file))
		kt_fail("unlink: %s", strerror(errno));
	cold();
	kt_prep_open(&ring, kt.dirfd, ffh, O_RDONLY, 0);
	kt_expect_res("open of a removed file",
		      place("open of a removed file", ANYWHERE), -ESTALE);

	io_uring_queue_exit(&ring);
	if (failures)
		kt_fail("%d requests went the wrong way (above)", failures);
	kt_pass();
}
