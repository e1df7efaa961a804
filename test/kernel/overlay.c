// SPDX-License-Identifier: GPL-2.0
/*
 * overlayfs with nfs_export=on (and index=on), on layers in DIR.  Its
 * export operations may copy up: encoding a directory of the lower layer
 * under a merged directory that is not indexed (a/ is in both layers)
 * copies it up, so that the handle can be decoded later.  So
 * overlayfs does not opt in to non-blocking encodes and decodes, and no
 * encode or open by handle on it may run inline: each goes to io-wq (the
 * tracepoint shows it; the upper layer holds the copy after the request,
 * made by the worker) and gives the syscall's result: the same handle for
 * a lower directory, a lower file and an upper file, and opens of those
 * handles on the same inodes as the merged paths.  Skips where overlayfs
 * cannot be mounted so (no overlayfs, or DIR's filesystem cannot be a
 * layer), or without tracefs.
 */
#include "ktest.h"
#include <sys/mount.h>

static struct io_uring ring;
static char merged[4096];
static bool mounted;

static void unmount(void)
{
	if (mounted && getpid() == kt.pid)
		umount2(merged, MNT_DETACH);
}

/* The ring's encode of path must go to io-wq and equal the syscall's. */
static struct file_handle *encode(const char *what, const char *path)
{
	struct file_handle *rfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	struct file_handle *sfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	int rmnt = -1, smnt = -1, res;

	if (!kt_trace_async_reset())
		kt_fail("cannot reset the trace");
	res = kt_ring_encode(&ring, AT_FDCWD, path, rfh, &rmnt, 0, 0);
	if (!kt_trace_async_count())
		kt_fail("%s: encoding on overlayfs ran inline", what);
	kt_expect_res(what, res, 0);
	kt_expect_res(what, kt_sys_encode(AT_FDCWD, path, sfh, &smnt, 0), 0);
	if (!kt_fh_same(rfh, sfh) || rmnt != smnt)
		kt_fail("%s: ring handle %s (mount %d), syscall %s (mount %d)",
			what, kt_fh_str(rfh), rmnt, kt_fh_str(sfh), smnt);
	free(sfh);
	return rfh;
}

/* Opening fh through the merged mount: io-wq, path's inode. */
static void open_(const char *what, int mfd, struct file_handle *fh,
		  int flags, const char *path)
{
	int fd;

	if (!kt_trace_async_reset())
		kt_fail("cannot reset the trace");
	fd = kt_open_both(what, &ring, mfd, fh, flags, 0);
	if (fd < 0)
		kt_fail("%s: %s", what, kt_res_str(fd));
	if (!kt_trace_async_count())
		kt_fail("%s: opening by handle on overlayfs ran inline", what);
	kt_expect_inode_of(what, fd, path);
	close(fd);
}

int main(int argc, char **argv)
{
	char opts[4096 * 3 + 64], path[4096 + 64], up[4096 + 64];
	const char *lower, *upper, *work, *mnt;
	struct file_handle *dfh, *ffh, *ufh;
	struct stat st;
	int mfd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (!kt_trace_async_reset())
		kt_skip("no tracefs at /sys/kernel/tracing (or selfcheck)");

	lower = kt_mkdir("lower");
	kt_mkdir("lower/a");
	kt_mkdir("lower/a/b");
	kt_mkfile("lower/a/b/file", "lower\n");
	upper = kt_mkdir("upper");
	kt_mkdir("upper/a");	/* a/ becomes a merged dir, not indexed */
	kt_mkfile("upper/top", "upper\n");
	work = kt_mkdir("work");
	mnt = kt_mkdir("merged");
	snprintf(merged, sizeof(merged), "%s", mnt);
	snprintf(opts, sizeof(opts),
		 "lowerdir=%s,upperdir=%s,workdir=%s,index=on,nfs_export=on",
		 lower, upper, work);
	if (mount("overlay", merged, "overlay", 0, opts))
		kt_skip("cannot mount overlayfs with nfs_export=on on layers "
			"in %s (%s): %s", kt.dir, kt_fstype(), strerror(errno));
	mounted = true;
	atexit(unmount);
	mfd = kt_openf(merged, O_RDONLY | O_DIRECTORY);

	/* a lower directory: the encode copies a/b up, in io-wq */
	snprintf(path, sizeof(path), "%s/a/b", merged);
	snprintf(up, sizeof(up), "%s/a/b", upper);
	dfh = encode("encode a lower directory", path);
	if (stat(up, &st))
		kt_fail("encode a lower directory: %s was not copied up: %s",
			up, strerror(errno));
	open_("open a lower directory", mfd, dfh, O_RDONLY | O_DIRECTORY, path);

	snprintf(path, sizeof(path), "%s/a/b/file", merged);
	ffh = encode("encode a lower file", path);
	open_("open a lower file", mfd, ffh, O_RDONLY, path);

	snprintf(path, sizeof(path), "%s/top", merged);
	ufh = encode("encode an upper file", path);
	open_("open an upper file", mfd, ufh, O_RDONLY, path);

	close(mfd);
	free(dfh);
	free(ffh);
	free(ufh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
