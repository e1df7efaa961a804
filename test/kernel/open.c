// SPDX-License-Identifier: GPL-2.0
/*
 * OPEN_BY_HANDLE_AT through the ring opens the inode the handle names, as
 * the syscall does: with DIR, another fd on the filesystem or AT_FDCWD as
 * the mount fd, with handles from the ring and from the syscall, after a
 * rename, through a hard link, and each open gives a new fd.
 */
#include "ktest.h"

static void expect_content(const char *check, int fd, const char *want)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0 || strcmp(buf, want))
		kt_fail("%s: read %zd bytes \"%s\" (%s), want \"%s\"", check,
			n, buf, n < 0 ? strerror(errno) : "ok", want);
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *sfh, *lfh;
	const char *file, *moved, *hlink;
	int fd, fd2, anyfd, mnt;
	struct io_uring ring;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "open by handle\n");
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);

	fd = kt_open_both("mount fd DIR", &ring, kt.dirfd, fh, O_RDONLY, 0);
	kt_expect_res("mount fd DIR: fd >= 0", fd < 0 ? fd : 0, 0);
	kt_expect_inode_of("mount fd DIR", fd, file);
	expect_content("mount fd DIR: content", fd, "open by handle\n");

	/* a second open gives another fd on the same file */
	fd2 = kt_open_both("second open", &ring, kt.dirfd, fh, O_RDONLY, 0);
	if (fd2 < 0 || fd2 == fd)
		kt_fail("second open: got %s, first fd %d", kt_res_str(fd2),
			fd);
	kt_expect_inode_of("second open", fd2, file);
	close(fd2);

	/* any fd on the filesystem will do as the mount fd */
	anyfd = fd;
	fd2 = kt_open_both("mount fd = the file's fd", &ring, anyfd, fh,
			   O_RDONLY, 0);
	kt_expect_inode_of("mount fd = the file's fd", fd2, file);
	close(fd2);
	close(fd);

	/* the syscall accepts AT_FDCWD (cwd is DIR): so must the ring */
	fd = kt_open_both("mount fd AT_FDCWD", &ring, AT_FDCWD, fh, O_RDONLY,
			  0);
	kt_expect_inode_of("mount fd AT_FDCWD", fd, file);
	close(fd);

	/* a handle from the syscall opens through the ring */
	sfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("syscall encode", kt_sys_encode(AT_FDCWD, file, sfh,
			&mnt, 0), 0);
	fd = kt_ring_open(&ring, kt.dirfd, sfh, O_RDONLY, 0);
	if (fd < 0)
		kt_fail("syscall's handle: ring open gave %s",
			kt_res_str(fd));
	kt_expect_inode_of("syscall's handle", fd, file);
	close(fd);
	free(sfh);

	/* handles survive a rename */
	moved = kt_path("moved");
	if (rename(file, moved))
		kt_fail("rename: %s", strerror(errno));
	fd = kt_open_both("after rename", &ring, kt.dirfd, fh, O_RDONLY, 0);
	kt_expect_inode_of("after rename", fd, moved);
	expect_content("after rename: content", fd, "open by handle\n");
	close(fd);

	/* a hard link has the same handle, which opens the same inode */
	hlink = kt_path("hardlink");
	if (link(moved, hlink))
		kt_fail("link: %s", strerror(errno));
	kt_expect_res("encode hard link", kt_encode_both("encode hard link",
			&ring, AT_FDCWD, hlink, 0, KT_MAX_HANDLE_SZ, 0, &lfh),
		      0);
	if (!kt_fh_same(lfh, fh))
		kt_fail("hard link: handle %s, original %s", kt_fh_str(lfh),
			kt_fh_str(fh));
	fd = kt_open_both("hard link", &ring, kt.dirfd, lfh, O_RDWR, 0);
	kt_expect_inode_of("hard link", fd, hlink);
	if (pwrite(fd, "W", 1, 0) != 1)
		kt_fail("hard link: pwrite: %s", strerror(errno));
	close(fd);
	fd = kt_openf(moved, O_RDONLY);
	expect_content("write through the handle's fd", fd,
		       "Wpen by handle\n");
	close(fd);

	free(fh);
	free(lfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
