// SPDX-License-Identifier: GPL-2.0
/*
 * Special files by handle.  A FIFO: O_RDWR and O_NONBLOCK opens as the
 * syscall (no O_NONBLOCK left behind), and a blocking O_WRONLY (O_RDONLY)
 * open waits for a reader (writer) exactly as open_by_handle_at(2) does -
 * an open that completes at once (e.g. -ENXIO, from an O_NONBLOCK forced
 * for an inline attempt) is a FAIL.  A character device (mknod 1:3, like
 * /dev/null) opens and works; a unix socket gives the syscall's error,
 * and opens with O_PATH.
 */
#include "ktest.h"
#include <pthread.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#define WAIT_MS		300

static struct io_uring ring;
static int syscall_res;
static bool syscall_done;
static struct file_handle *sys_fh;
static int sys_flags;

static void *sys_open_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&syscall_res, kt_sys_open(kt.dirfd, sys_fh,
						   sys_flags),
			 __ATOMIC_SEQ_CST);
	__atomic_store_n(&syscall_done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/* 0 and *res if a completion came within ms, else -ETIME. */
static int wait_ms(int ms, int *res)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L,
	};
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);

	if (ret == -ETIME)
		return ret;
	if (ret)
		kt_fail("io_uring_wait_cqe_timeout: %s", strerror(-ret));
	*res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return 0;
}

/*
 * Open the FIFO's handle with a blocking flags (ring, sqe_flags, and the
 * syscall in a thread): neither may complete before the other end opens.
 */
static void fifo_blocking(const char *check, const char *fifo,
			  struct file_handle *fh, int flags, int other_flags,
			  unsigned int sqe_flags)
{
	int res = 0, fd, other, sfd;
	pthread_t tid;

	sys_fh = fh;
	sys_flags = flags;
	syscall_done = false;
	if (pthread_create(&tid, NULL, sys_open_thread, NULL))
		kt_fail("pthread_create failed");
	kt_prep_open(&ring, kt.dirfd, fh, flags, sqe_flags);
	kt_submit(&ring, 1);
	if (!wait_ms(WAIT_MS, &res))
		kt_fail("%s: completed with %s without the other end open; "
			"open_by_handle_at(2) waits (done yet: %s)", check,
			kt_res_str(res),
			__atomic_load_n(&syscall_done, __ATOMIC_SEQ_CST) ?
			kt_res_str(syscall_res) : "no, it waits");
	if (__atomic_load_n(&syscall_done, __ATOMIC_SEQ_CST))
		kt_fail("%s: the syscall did not wait: %s (set-up?)", check,
			kt_res_str(syscall_res));

	other = kt_openf(fifo, other_flags);
	if (wait_ms(10 * 1000, &res))
		kt_fail("%s: no completion 10s after the other end opened",
			check);
	pthread_join(tid, NULL);
	sfd = syscall_res;
	if (res < 0 || sfd < 0)
		kt_fail("%s: once the other end opened: ring %s, syscall %s",
			check, kt_res_str(res), kt_res_str(sfd));
	fd = res;
	kt_expect_inode_of(check, fd, fifo);
	if (fcntl(fd, F_GETFL) != fcntl(sfd, F_GETFL))
		kt_fail("%s: F_GETFL ring %#x, syscall %#x", check,
			fcntl(fd, F_GETFL), fcntl(sfd, F_GETFL));
	close(sfd);
	close(fd);
	close(other);
}

static void test_fifo(void)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *fh;
	const char *fifo = kt_path("fifo");
	char check[96];
	unsigned int i;
	int fd;

	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	kt_expect_res("fifo: encode", kt_encode_both("fifo: encode", &ring,
			AT_FDCWD, fifo, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);

	for (i = 0; i < 2; i++) {
		snprintf(check, sizeof(check), "fifo%s: O_RDWR",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		fd = kt_open_both(check, &ring, kt.dirfd, fh, O_RDWR,
				  sqe_flags[i]);
		kt_expect_inode_of(check, fd, fifo);
		close(fd);
		snprintf(check, sizeof(check), "fifo%s: O_RDONLY|O_NONBLOCK",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		fd = kt_open_both(check, &ring, kt.dirfd, fh,
				  O_RDONLY | O_NONBLOCK, sqe_flags[i]);
		kt_expect_inode_of(check, fd, fifo);
		close(fd);
		snprintf(check, sizeof(check),
			 "fifo%s: O_WRONLY|O_NONBLOCK, no reader",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		kt_expect_res(check, kt_open_both(check, &ring, kt.dirfd, fh,
				O_WRONLY | O_NONBLOCK, sqe_flags[i]), -ENXIO);

		snprintf(check, sizeof(check), "fifo%s: O_WRONLY waits for "
			 "a reader", sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		fifo_blocking(check, fifo, fh, O_WRONLY,
			      O_RDONLY | O_NONBLOCK, sqe_flags[i]);
		snprintf(check, sizeof(check), "fifo%s: O_RDONLY waits for "
			 "a writer", sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		fifo_blocking(check, fifo, fh, O_RDONLY, O_RDWR,
			      sqe_flags[i]);
	}
	free(fh);
}

static void test_chardev(void)
{
	const char *dev = kt_path("null");
	struct file_handle *fh;
	int fd;

	if (mknod(dev, S_IFCHR | 0600, makedev(1, 3))) {
		printf("note: mknod: %s: character device not checked\n",
		       strerror(errno));
		return;
	}
	kt_expect_res("chardev: encode", kt_encode_both("chardev: encode",
			&ring, AT_FDCWD, dev, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	fd = kt_open_both("chardev: O_RDWR", &ring, kt.dirfd, fh, O_RDWR, 0);
	if (fd < 0) {
		printf("note: chardev open: %s (as the syscall)\n",
		       kt_res_str(fd));
	} else {
		kt_expect_inode_of("chardev: O_RDWR", fd, dev);
		if (write(fd, "x", 1) != 1)
			kt_fail("chardev: write: %s", strerror(errno));
		close(fd);
	}
	free(fh);
}

static void test_socket(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *sock = kt_path("sock");
	struct file_handle *fh;
	int s, fd;

	if (strlen(sock) >= sizeof(sun.sun_path)) {
		printf("note: path too long for a unix socket: not checked\n");
		return;
	}
	strcpy(sun.sun_path, sock);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)))
		kt_fail("unix socket: %s", strerror(errno));
	kt_expect_res("socket: encode", kt_encode_both("socket: encode",
			&ring, AT_FDCWD, sock, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	fd = kt_open_both("socket: O_RDWR", &ring, kt.dirfd, fh, O_RDWR, 0);
	if (fd >= 0)
		kt_fail("socket: O_RDWR opened, want the syscall's error");
	fd = kt_open_both("socket: O_PATH", &ring, kt.dirfd, fh, O_PATH, 0);
	kt_expect_inode_of("socket: O_PATH", fd, sock);
	close(fd);
	close(s);
	free(fh);
}

int main(int argc, char **argv)
{
	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	test_fifo();
	test_chardev();
	test_socket();

	io_uring_queue_exit(&ring);
	kt_pass();
}
