// SPDX-License-Identifier: GPL-2.0
/*
 * Symlinks: without AT_SYMLINK_FOLLOW the handle is the link's own, with it
 * the target's; opening a link's handle gives -ELOOP without O_PATH and an
 * O_PATH fd on the link with it (O_NOFOLLOW or not); a dangling link
 * encodes only unfollowed.
 */
#include "ktest.h"

int main(int argc, char **argv)
{
	struct file_handle *tfh, *lfh, *ffh, *dfh;
	const char *target, *link, *dangling, *dir, *dlink;
	struct io_uring ring;
	char buf[256];
	ssize_t n;
	int fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	target = kt_mkfile("target", "target\n");
	link = kt_mksymlink("link", strrchr(target, '/') + 1);
	dangling = kt_mksymlink("dangling", "does-not-exist");
	dir = kt_mkdir("dir");
	dlink = kt_mksymlink("dirlink", strrchr(dir, '/') + 1);

	kt_expect_res("encode target", kt_encode_both("encode target", &ring,
			AT_FDCWD, target, 0, KT_MAX_HANDLE_SZ, 0, &tfh), 0);
	kt_expect_res("encode link, no follow", kt_encode_both(
			"encode link, no follow", &ring, AT_FDCWD, link, 0,
			KT_MAX_HANDLE_SZ, 0, &lfh), 0);
	if (kt_fh_same(lfh, tfh))
		kt_fail("encode link, no follow: got the target's handle %s",
			kt_fh_str(lfh));
	kt_expect_res("encode link, AT_SYMLINK_FOLLOW", kt_encode_both(
			"encode link, AT_SYMLINK_FOLLOW", &ring, AT_FDCWD,
			link, AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, 0, &ffh),
		      0);
	if (!kt_fh_same(ffh, tfh))
		kt_fail("encode link, AT_SYMLINK_FOLLOW: handle %s, target %s",
			kt_fh_str(ffh), kt_fh_str(tfh));

	/* the link's handle: -ELOOP unless O_PATH */
	kt_expect_res("open link's handle O_RDONLY", kt_open_both(
			"open link's handle O_RDONLY", &ring, kt.dirfd, lfh,
			O_RDONLY, 0), -ELOOP);
	kt_expect_res("open link's handle O_RDWR", kt_open_both(
			"open link's handle O_RDWR", &ring, kt.dirfd, lfh,
			O_RDWR, 0), -ELOOP);
	fd = kt_open_both("open link's handle O_PATH", &ring, kt.dirfd, lfh,
			  O_PATH, 0);
	if (fd < 0)
		kt_fail("open link's handle O_PATH: %s", kt_res_str(fd));
	kt_expect_inode_of("open link's handle O_PATH", fd, link);
	if (!S_ISLNK(kt_fstat("O_PATH link", fd).st_mode))
		kt_fail("open link's handle O_PATH: not a symlink");
	n = readlinkat(fd, "", buf, sizeof(buf) - 1);
	if (n < 0 || (buf[n] = 0, strcmp(buf, strrchr(target, '/') + 1)))
		kt_fail("readlinkat(O_PATH fd): %zd %s", n,
			n < 0 ? strerror(errno) : buf);
	close(fd);
	/* O_NOFOLLOW changes nothing: the handle is the link's own */
	fd = kt_open_both("open link's handle O_PATH|O_NOFOLLOW", &ring,
			  kt.dirfd, lfh, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0)
		kt_fail("open link's handle O_PATH|O_NOFOLLOW: %s",
			kt_res_str(fd));
	kt_expect_inode_of("open link's handle O_PATH|O_NOFOLLOW", fd, link);
	close(fd);
	fd = kt_open_both("open link's handle O_PATH|O_NOFOLLOW, IOSQE_ASYNC",
			  &ring, kt.dirfd, lfh, O_PATH | O_NOFOLLOW,
			  IOSQE_ASYNC);
	kt_expect_inode_of("open link's handle O_PATH|O_NOFOLLOW, async", fd,
			   link);
	close(fd);
	kt_expect_res("open link's handle O_RDONLY|O_NOFOLLOW", kt_open_both(
			"open link's handle O_RDONLY|O_NOFOLLOW", &ring,
			kt.dirfd, lfh, O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
	fd = kt_open_both("open link's handle O_PATH", &ring, kt.dirfd, lfh,
			  O_PATH, 0);
	/* AT_EMPTY_PATH on that fd encodes the link itself */
	kt_expect_res("AT_EMPTY_PATH on the link's O_PATH fd", kt_encode_both(
			"AT_EMPTY_PATH on the link's O_PATH fd", &ring, fd, "",
			AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	if (!kt_fh_same(dfh, lfh))
		kt_fail("AT_EMPTY_PATH on the link's fd: %s, link %s",
			kt_fh_str(dfh), kt_fh_str(lfh));
	free(dfh);
	close(fd);

	/* the followed handle opens the target */
	fd = kt_open_both("open followed handle", &ring, kt.dirfd, ffh,
			  O_RDONLY, 0);
	kt_expect_inode_of("open followed handle", fd, target);
	close(fd);

	/* a dangling link: its own handle yes, followed ENOENT */
	kt_expect_res("encode dangling link", kt_encode_both(
			"encode dangling link", &ring, AT_FDCWD, dangling, 0,
			KT_MAX_HANDLE_SZ, 0, NULL), 0);
	kt_expect_res("encode dangling link, follow", kt_encode_both(
			"encode dangling link, follow", &ring, AT_FDCWD,
			dangling, AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, 0,
			NULL), -ENOENT);

	/* a link to a directory, followed, is the directory */
	kt_expect_res("encode dir link, follow", kt_encode_both(
			"encode dir link, follow", &ring, AT_FDCWD, dlink,
			AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	fd = kt_open_both("open dir link's followed handle", &ring, kt.dirfd,
			  dfh, O_RDONLY | O_DIRECTORY, 0);
	kt_expect_inode_of("open dir link's followed handle", fd, dir);
	close(fd);
	free(dfh);
	/* a path through a symlinked directory component is followed */
	snprintf(buf, sizeof(buf), "%s/", dlink);
	kt_expect_res("encode \"dirlink/\"", kt_encode_both("encode dirlink/",
			&ring, AT_FDCWD, buf, 0, KT_MAX_HANDLE_SZ, 0, NULL), 0);

	free(tfh);
	free(lfh);
	free(ffh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
