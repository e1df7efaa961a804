// SPDX-License-Identifier: GPL-2.0
/*
 * Which file-handle requests complete inline and which go to io-wq, on the
 * filesystem of DIR, with warm and cold caches.  Counts the
 * io_uring:io_uring_queue_async_work tracepoint (tracefs must be mounted at
 * /sys/kernel/tracing).  Also checks that each request succeeds.
 *
 *   inline DIR        prints one line per case, exits 1 on any failure
 *
 * Build: gcc -O2 -Wall -Iengines -o inline kernel/smoke/inline.c -luring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fhandle_uring.h"

#define TRACING "/sys/kernel/tracing"

static int failures;

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

static int count_async(void)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(TRACING "/trace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, "io_uring_queue_async_work"))
			n++;
	fclose(f);
	return n;
}

static void drop_caches(void)
{
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
}

/* Submit one prepared SQE, wait, report; returns cqe->res. */
static int run(struct io_uring *ring, const char *what, int expect_ok)
{
	struct io_uring_cqe *cqe;
	int res, n;

	write_file(TRACING "/trace", "");
	if (io_uring_submit(ring) != 1) {
		fprintf(stderr, "submit failed\n");
		exit(2);
	}
	if (io_uring_wait_cqe(ring, &cqe)) {
		fprintf(stderr, "wait failed\n");
		exit(2);
	}
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	n = count_async();
	printf("%-40s res=%-5d %s%s\n", what, res,
	       n < 0 ? "unknown" : n ? "io-wq" : "inline",
	       (expect_ok && res < 0) ? "  FAIL" : "");
	if (expect_ok && res < 0)
		failures++;
	return res;
}

int main(int argc, char **argv)
{
	char file[4096], dir[4096];
	const char *fname = "inline-smoke-file", *dname = "inline-smoke-dir";
	struct {
		struct file_handle fh;
		unsigned char buf[MAX_HANDLE_SZ];
	} h, hd;
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int fd, dfd, mnt_id, res, slots[4] = { -1, -1, -1, -1 };
	uint64_t mnt_id_unique;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(file, sizeof(file), "%s/inline-smoke-file", argv[1]);
	snprintf(dir, sizeof(dir), "%s/inline-smoke-dir", argv[1]);
	fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello\n", 6) != 6)
		return 2;
	close(fd);
	mkdir(dir, 0755);
	/* relative to DIR: the VM's root is 9p, whose lookups never are cached */
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 2;

	write_file(TRACING "/events/io_uring/io_uring_queue_async_work/enable",
		   "1");
	if (io_uring_queue_init(8, &ring, 0))
		return 2;
	if (io_uring_register_files(&ring, slots, 4))
		return 2;

	/* warm: the file was just created */
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &h.fh, &mnt_id, 0);
	run(&ring, "name_to_handle warm", 1);

	hd.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       dname, &hd.fh, &mnt_id, 0);
	run(&ring, "name_to_handle warm dir", 1);

	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_RDONLY);
	res = run(&ring, "open_by_handle warm", 1);
	if (res >= 0)
		close(res);

	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &hd.fh, O_RDONLY | O_DIRECTORY);
	res = run(&ring, "open_by_handle warm dir", 1);
	if (res >= 0)
		close(res);

	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle_direct(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT,
				      dfd, &h.fh, O_RDONLY,
				      IORING_FILE_INDEX_ALLOC);
	run(&ring, "open_by_handle warm direct alloc", 1);

	/* the flags of 6.12: same path, same inline rules */
	hd.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &hd.fh, &mnt_id, AT_HANDLE_FID);
	run(&ring, "name_to_handle AT_HANDLE_FID", 1);
	hd.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &hd.fh, &mnt_id_unique,
			       AT_HANDLE_MNT_ID_UNIQUE);
	run(&ring, "name_to_handle AT_HANDLE_MNT_ID_UNIQUE", 1);

	/* opens that take write access to the filesystem go to io-wq */
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_WRONLY | O_TRUNC);
	res = run(&ring, "open_by_handle O_TRUNC", 1);
	if (res >= 0)
		close(res);
	hd.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       dname, &hd.fh, &mnt_id, 0);
	run(&ring, "name_to_handle warm dir (again)", 1);
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &hd.fh, O_TMPFILE | O_RDWR);
	res = run(&ring, "open_by_handle dir O_TMPFILE", 1);
	if (res >= 0)
		close(res);
	/* the fixed file would keep the inode cached */
	io_uring_unregister_files(&ring);

	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_RDONLY);
	sqe->flags |= IOSQE_ASYNC;
	res = run(&ring, "open_by_handle IOSQE_ASYNC", 1);
	if (res >= 0)
		close(res);

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &h.fh, &mnt_id, 0);
	sqe->flags |= IOSQE_ASYNC;
	run(&ring, "name_to_handle IOSQE_ASYNC", 1);

	/* cold: nothing of the file cached */
	drop_caches();
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_RDONLY);
	res = run(&ring, "open_by_handle cold", 1);
	if (res >= 0)
		close(res);
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_RDONLY);
	res = run(&ring, "open_by_handle again", 1);
	if (res >= 0)
		close(res);

	drop_caches();
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &hd.fh, O_RDONLY | O_DIRECTORY);
	res = run(&ring, "open_by_handle cold dir", 1);
	if (res >= 0)
		close(res);

	drop_caches();
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &h.fh, &mnt_id, 0);
	run(&ring, "name_to_handle cold", 1);
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	sqe = io_uring_get_sqe(&ring);
	fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
			       fname, &h.fh, &mnt_id, 0);
	run(&ring, "name_to_handle again", 1);

	/* a FIFO: O_NONBLOCK would change its open, so io-wq unless O_PATH */
	if (mkfifoat(dfd, "inline-smoke-fifo", 0600) == 0) {
		hd.fh.handle_bytes = MAX_HANDLE_SZ;
		sqe = io_uring_get_sqe(&ring);
		fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
				       "inline-smoke-fifo", &hd.fh, &mnt_id, 0);
		run(&ring, "name_to_handle fifo", 1);
		sqe = io_uring_get_sqe(&ring);
		fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
				       &hd.fh, O_RDWR);
		res = run(&ring, "open_by_handle fifo O_RDWR", 1);
		if (res >= 0)
			close(res);
		sqe = io_uring_get_sqe(&ring);
		fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
				       &hd.fh, O_PATH);
		res = run(&ring, "open_by_handle fifo O_PATH", 1);
		if (res >= 0)
			close(res);
		unlinkat(dfd, "inline-smoke-fifo", 0);
	}

	/* stale: on tmpfs decided inline, elsewhere possibly in io-wq */
	unlink(file);
	drop_caches();
	sqe = io_uring_get_sqe(&ring);
	fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
			       &h.fh, O_RDONLY);
	res = run(&ring, "open_by_handle removed file", 0);
	if (res != -ESTALE) {
		printf("  FAIL: expected -ESTALE\n");
		failures++;
	}

	rmdir(dir);
	io_uring_queue_exit(&ring);
	write_file(TRACING "/events/io_uring/io_uring_queue_async_work/enable",
		   "0");
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
