// SPDX-License-Identifier: GPL-2.0
/*
 * Handles of inodes that are cached without a dentry: an inotify watch
 * pins the inode of a nested directory (and of a file in it) while
 * `echo 2 > /proc/sys/vm/drop_caches` drops the dentries only.  Where the
 * kernel has no inotify, the inodes are dirtied (utimensat, no sync)
 * before each drop instead: the shrinker frees no dirty inode (ext4), and
 * xfs keeps its inodes as reclaimable, the other case of interest.  Decoding
 * then finds the inode but must build a disconnected dentry and, for a
 * directory, reconnect it to the tree by looking up its parents, which
 * may read the disk: inline, the kernel must give up (-EAGAIN) and finish
 * in io-wq.  Either way the open succeeds on the right inode, inline and
 * with IOSQE_ASYNC, as the syscall does.  Where tracefs is mounted, the
 * test says which opens went to io-wq, and on ext4 and xfs (whose
 * dentries the drop frees, unlike tmpfs's) an inline open of the
 * directory that did not go to io-wq fails.  Skips when drop_caches cannot
 * be written.
 */
#include "ktest.h"
#include <sys/inotify.h>

static struct io_uring ring;
static const char *deep, *file;
static bool watched;	/* pinned by inotify, else dirtied before drops */
static bool reconnects;	/* ext4, xfs: dentries go, inodes stay */

/* Drop unused dentries (and inodes), not our two inodes. */
static void drop_dentries(void)
{
	int fd;

	if (!watched && (utimensat(AT_FDCWD, deep, NULL, 0) ||
			 utimensat(AT_FDCWD, file, NULL, 0)))
		kt_fail("utimensat: %s", strerror(errno));
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "2", 1) != 1)
		kt_skip("cannot drop dentries: /proc/sys/vm/drop_caches: %s",
			strerror(errno));
	close(fd);
}

static void open_pinned(const char *check, struct file_handle *fh,
			const char *path, int flags, unsigned int sqe_fl)
{
	int fd, sfd, async;
	bool traced;

	drop_dentries();
	traced = kt_trace_async_reset();
	fd = kt_ring_open(&ring, kt.dirfd, fh, flags, sqe_fl);
	if (fd < 0)
		kt_fail("%s: %s", check, kt_res_str(fd));
	async = traced ? kt_trace_async_count() : -1;
	printf("%s: %s\n", check, async < 0 ? "done (no tracefs)" :
	       async ? "went to io-wq" : "completed inline");
	if (!async && S_ISDIR(kt_fstat(check, fd).st_mode) && reconnects)
		kt_fail("%s: completed inline: either the directory's dentry "
			"was not dropped or the kernel reconnected it inline "
			"(which may read the disk)", check);
	kt_expect_inode_of(check, fd, path);
	drop_dentries();
	sfd = kt_sys_open(kt.dirfd, fh, flags);
	if (sfd < 0)
		kt_fail("%s: the syscall gave %s", check, kt_res_str(sfd));
	if (fcntl(fd, F_GETFL) != fcntl(sfd, F_GETFL))
		kt_fail("%s: F_GETFL ring %#x, syscall %#x", check,
			fcntl(fd, F_GETFL), fcntl(sfd, F_GETFL));
	close(sfd);
	close(fd);
}

int main(int argc, char **argv)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *dfh, *ffh, *again;
	char check[96];
	unsigned int i;
	const char *fs;
	int ino;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	fs = kt_fstype();
	reconnects = !strcmp(fs, "ext2/ext3") || !strcmp(fs, "xfs");
	kt_mkdir("a");
	kt_mkdir("a/b");
	deep = kt_mkdir("a/b/c");
	file = kt_mkfile("a/b/c/f", "pinned\n");
	kt_expect_res("encode dir", kt_encode_both("encode dir", &ring,
			AT_FDCWD, deep, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &ffh), 0);

	ino = inotify_init1(IN_CLOEXEC);
	if (ino >= 0) {
		if (inotify_add_watch(ino, deep, IN_ATTRIB) < 0 ||
		    inotify_add_watch(ino, file, IN_ATTRIB) < 0)
			kt_fail("inotify_add_watch: %s", strerror(errno));
		watched = true;
	} else {
		printf("note: inotify_init1: %s: dirty inodes instead\n",
		       strerror(errno));
	}

	for (i = 0; i < 2; i++) {
		snprintf(check, sizeof(check), "pinned dir a/b/c%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		open_pinned(check, dfh, deep, O_RDONLY | O_DIRECTORY,
			    sqe_flags[i]);
		snprintf(check, sizeof(check), "pinned dir a/b/c, O_PATH%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		open_pinned(check, dfh, deep, O_PATH, sqe_flags[i]);
		snprintf(check, sizeof(check), "pinned file a/b/c/f%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		open_pinned(check, ffh, file, O_RDONLY, sqe_flags[i]);

		/* encoding by path after the drop gives the same handle */
		drop_dentries();
		snprintf(check, sizeof(check), "encode a/b/c after the drop%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		kt_expect_res(check, kt_encode_both(check, &ring, AT_FDCWD,
				deep, 0, KT_MAX_HANDLE_SZ, sqe_flags[i],
				&again), 0);
		if (!kt_fh_same(again, dfh))
			kt_fail("%s: %s, before %s", check, kt_fh_str(again),
				kt_fh_str(dfh));
		free(again);
	}

	if (watched)
		close(ino);
	free(dfh);
	free(ffh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
