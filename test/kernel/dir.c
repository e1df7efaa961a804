// SPDX-License-Identifier: GPL-2.0
/*
 * Directories: encode, open with O_DIRECTORY (and without), list and use
 * the fd as a dirfd; writable opens give -EISDIR and O_DIRECTORY on a
 * regular file's handle -ENOTDIR, as with the syscall.
 */
#include "ktest.h"
#include <dirent.h>

int main(int argc, char **argv)
{
	struct file_handle *dfh, *ffh, *rfh;
	const char *dir, *file;
	struct io_uring ring;
	struct dirent *de;
	bool found = false;
	int fd, fd2;
	DIR *d;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	dir = kt_mkdir("dir");
	file = kt_mkfile("dir/entry", "entry\n");

	kt_expect_res("encode directory", kt_encode_both("encode directory",
			&ring, AT_FDCWD, dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &ffh), 0);

	fd = kt_open_both("O_RDONLY|O_DIRECTORY", &ring, kt.dirfd, dfh,
			  O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		kt_fail("O_RDONLY|O_DIRECTORY: %s", kt_res_str(fd));
	kt_expect_inode_of("O_RDONLY|O_DIRECTORY", fd, dir);

	/* the fd works as a dirfd, for openat and for the ring's encode */
	fd2 = openat(fd, "entry", O_RDONLY);
	if (fd2 < 0)
		kt_fail("openat(dir fd, entry): %s", strerror(errno));
	kt_expect_inode_of("openat(dir fd, entry)", fd2, file);
	close(fd2);
	kt_expect_res("encode relative to the opened dir", kt_encode_both(
			"encode relative to the opened dir", &ring, fd, "entry",
			0, KT_MAX_HANDLE_SZ, 0, &rfh), 0);
	if (!kt_fh_same(rfh, ffh))
		kt_fail("encode relative to the opened dir: %s, want %s",
			kt_fh_str(rfh), kt_fh_str(ffh));
	free(rfh);

	/* and lists the directory */
	d = fdopendir(fd);
	if (!d)
		kt_fail("fdopendir: %s", strerror(errno));
	while ((de = readdir(d)))
		found |= !strcmp(de->d_name, "entry");
	if (!found)
		kt_fail("readdir of the opened dir: no \"entry\"");
	closedir(d);

	fd = kt_open_both("O_RDONLY (no O_DIRECTORY)", &ring, kt.dirfd, dfh,
			  O_RDONLY, 0);
	kt_expect_inode_of("O_RDONLY (no O_DIRECTORY)", fd, dir);
	close(fd);
	fd = kt_open_both("O_PATH|O_DIRECTORY", &ring, kt.dirfd, dfh,
			  O_PATH | O_DIRECTORY, 0);
	kt_expect_inode_of("O_PATH|O_DIRECTORY", fd, dir);
	close(fd);

	kt_expect_res("directory O_WRONLY", kt_open_both("directory O_WRONLY",
			&ring, kt.dirfd, dfh, O_WRONLY, 0), -EISDIR);
	kt_expect_res("directory O_RDWR", kt_open_both("directory O_RDWR",
			&ring, kt.dirfd, dfh, O_RDWR, 0), -EISDIR);
	kt_expect_res("file O_DIRECTORY", kt_open_both("file O_DIRECTORY",
			&ring, kt.dirfd, ffh, O_RDONLY | O_DIRECTORY, 0),
		      -ENOTDIR);

	/* the directory under test itself, opened by its handle */
	free(dfh);
	kt_expect_res("encode DIR", kt_encode_both("encode DIR", &ring,
			kt.dirfd, "", AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, &dfh),
		      0);
	fd = kt_open_both("open DIR", &ring, kt.dirfd, dfh,
			  O_RDONLY | O_DIRECTORY, 0);
	kt_expect_same_inode("open DIR", fd, kt.dirfd);
	close(fd);

	free(dfh);
	free(ffh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
