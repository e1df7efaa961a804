// SPDX-License-Identifier: GPL-2.0
/*
 * -ESTALE: the handle of a file or directory that has been removed, opened
 * right after unlink and close and again after sync and dropping caches
 * (when /proc/sys/vm/drop_caches is writable), inline and through io-wq,
 * as the syscall.  A new file that gets the inode number of a removed one
 * (ext4 and xfs reuse them; tmpfs does not) must not open through the old
 * handle.  An unlinked file that is still open: ring and syscall must
 * agree (which way is the filesystem's business).
 */
#include "ktest.h"

static struct io_uring ring;

static void expect_stale(const char *check, struct file_handle *fh)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	char name[128];
	unsigned int i;
	int res;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s%s", check,
			 sqe_flags[i] ? ", IOSQE_ASYNC" : "");
		res = kt_open_both(name, &ring, kt.dirfd, fh, O_RDONLY,
				   sqe_flags[i]);
		if (res >= 0)
			close(res);
		/* kt_open_both has checked the syscall gave the same */
		if (res != -ESTALE)
			kt_fail("%s: ring and syscall both gave %s, want %s",
				name, kt_res_str(res), kt_res_str(-ESTALE));
	}
}

#define REUSE_TRIES	32

/*
 * The old handle of a removed file whose inode number a new file got: the
 * generation differs, so -ESTALE, also inline where the new inode is in the
 * cache.  Returns false if no new file got the number.
 */
static bool reused_inode(void)
{
	const char *victim = kt_mkfile("victim", "old\n"), *p = NULL;
	struct file_handle *fh;
	struct stat st, nst;
	char leaf[32];
	int i, fd;

	kt_expect_res("encode victim", kt_encode_both("encode victim", &ring,
			AT_FDCWD, victim, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	if (stat(victim, &st) || unlink(victim))
		kt_fail("stat/unlink %s: %s", victim, strerror(errno));
	for (i = 0; i < REUSE_TRIES; i++) {
		snprintf(leaf, sizeof(leaf), "new%d", i);
		p = kt_mkfile(leaf, "new\n");
		if (stat(p, &nst))
			kt_fail("stat %s: %s", p, strerror(errno));
		if (nst.st_ino == st.st_ino)
			break;
	}
	if (i == REUSE_TRIES) {
		free(fh);
		return false;
	}
	fd = kt_openf(p, O_RDONLY);	/* keep the new inode cached */
	expect_stale("inode number reused by a new file", fh);
	close(fd);
	free(fh);
	return true;
}

int main(int argc, char **argv)
{
	struct file_handle *ffh, *dfh, *ofh;
	const char *file, *dir, *open_file;
	int fd, res, dropped;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "stale\n");
	dir = kt_mkdir("dir");
	open_file = kt_mkfile("open", "still open\n");
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &ffh), 0);
	kt_expect_res("encode dir", kt_encode_both("encode dir", &ring,
			AT_FDCWD, dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	kt_expect_res("encode open file", kt_encode_both("encode open file",
			&ring, AT_FDCWD, open_file, 0, KT_MAX_HANDLE_SZ, 0,
			&ofh), 0);

	/* opened once, so that the inode has been in use */
	fd = kt_ring_open(&ring, kt.dirfd, ffh, O_RDONLY, 0);
	if (fd < 0)
		kt_fail("open before unlink: %s", kt_res_str(fd));
	close(fd);
	if (unlink(file) || rmdir(dir))
		kt_fail("unlink/rmdir: %s", strerror(errno));

	expect_stale("deleted file, right after unlink", ffh);
	expect_stale("deleted dir, right after rmdir", dfh);

	dropped = kt_drop_caches();
	if (!dropped) {
		expect_stale("deleted file, after drop_caches", ffh);
		expect_stale("deleted dir, after drop_caches", dfh);
	}

	/* unlinked while open: whatever the syscall does */
	fd = kt_openf(open_file, O_RDONLY);
	if (unlink(open_file))
		kt_fail("unlink: %s", strerror(errno));
	res = kt_open_both("unlinked but open", &ring, kt.dirfd, ofh,
			   O_RDONLY, 0);
	if (res >= 0) {
		kt_expect_same_inode("unlinked but open", res, fd);
		close(res);
	}
	res = kt_open_both("unlinked but open, IOSQE_ASYNC", &ring, kt.dirfd,
			   ofh, O_RDONLY, IOSQE_ASYNC);
	if (res >= 0)
		close(res);
	close(fd);

	if (!reused_inode())
		printf("note: no new file got a removed file's inode number: "
		       "reuse not checked\n");

	free(ffh);
	free(dfh);
	free(ofh);
	io_uring_queue_exit(&ring);
	if (dropped)
		printf("note: drop_caches not writable (%s): checked only "
		       "right after unlink\n", strerror(-dropped));
	kt_pass();
}
