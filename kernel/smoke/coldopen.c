// SPDX-License-Identifier: GPL-2.0
/*
 * Cold opens by handle or cold encodes of N files of DIR (f0, fS, f2S, ...
 * for a stride S) in a fixed shuffled order, after dropping the caches,
 * through one ring with QD in flight, or with the syscalls from T threads
 * (each taking the next file of the shared order): how fast requests that
 * must read the disk get through, on equal footing.  kernel/smoke/iowq.sh
 * runs it in the VM's exact mode to decide where the requests should wait
 * in io-wq (bound or unbound workers), and to compare the ring with
 * threads.
 *
 *   coldopen [-s STRIDE] [-w BOUND:UNBOUND] DIR N ring QD open|encode
 *   coldopen [-s STRIDE] DIR N sync T open|encode
 *
 * -w sets the ring's io-wq worker limits (IORING_REGISTER_IOWQ_MAX_WORKERS;
 * 0 keeps a limit as it is) first.  Prints one line:
 *
 *   op=open mode=ring qd=16 n=1024 stride=1 maxw=0:0 ms=123.4 ops_s=8300
 *   workers=17 reads=33
 *
 * workers: the most io-wq threads seen at once (sampled at each reap);
 * reads: completed reads of DIR's device during the run (its sysfs stat).
 * The timed phase is marked in the trace (trace_marker) where tracefs is.
 * Build: gcc -O2 -Wall -Iengines -o coldopen kernel/smoke/coldopen.c \
 *	-luring -pthread
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "fhandle_uring.h"

static void die(const char *what)
{
	fprintf(stderr, "coldopen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int count_workers(void)
{
	char path[300], comm[32];
	struct dirent *e;
	int n = 0, fd;
	ssize_t len;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[len > 0 ? len : 0] = 0;
		n += !strncmp(comm, "iou-wrk-", 8);
	}
	closedir(d);
	return n;
}

/* Completed reads of the device under dir (field 1 of its stat), or -1. */
static long device_reads(const char *dir)
{
	char path[128];
	struct stat st;
	long reads = -1;
	FILE *f;

	if (stat(dir, &st) || !major(st.st_dev))
		return -1;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &reads) != 1)
			reads = -1;
		fclose(f);
	}
	return reads;
}

static void mark(const char *what)
{
	int fd = open("/sys/kernel/tracing/trace_marker", O_WRONLY);

	/* no tracefs: nothing to mark */
	if (fd >= 0 && write(fd, what, strlen(what)) >= 0)
		close(fd);
	else if (fd >= 0)
		close(fd);
}

/* the sync threads: each takes the next file of the shared order */
static struct fh_handle_buf *h;
static char (*names)[32];
static int *order, nfiles, dfd, encode;
static int next_file;
static pthread_barrier_t go;

static void *sync_thread(void *arg)
{
	struct fh_handle_buf out;
	int k, fd, mnt;

	(void)arg;
	pthread_barrier_wait(&go);	/* made before the timed phase */
	while ((k = __atomic_fetch_add(&next_file, 1, __ATOMIC_RELAXED)) <
	       nfiles) {
		k = order[k];
		if (encode) {
			if (name_to_handle_at(dfd, names[k],
					      fh_handle_ready(&out), &mnt, 0))
				die("name_to_handle_at");
		} else {
			fd = open_by_handle_at(dfd, &h[k].fh, O_RDONLY);
			if (fd < 0)
				die("open_by_handle_at");
			close(fd);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned int limits[2] = { 0, 0 }, maxb = 0, maxu = 0;
	int n, qd, i, next = 0, done = 0, inflight = 0, stride = 1;
	int mnt, workers = 0, w, sync_mode, opt;
	struct fh_handle_buf out;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	pthread_t *tids = NULL;
	long r0, r1;
	double t0, t1;
	FILE *f;

	while ((opt = getopt(argc, argv, "s:w:")) != -1) {
		if (opt == 's')
			stride = atoi(optarg);
		else if (opt != 'w' || sscanf(optarg, "%u:%u", &maxb, &maxu) != 2)
			goto usage;
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc != 6 || (strcmp(argv[3], "ring") && strcmp(argv[3], "sync")))
		goto usage;
	nfiles = n = atoi(argv[2]);
	sync_mode = !strcmp(argv[3], "sync");
	qd = atoi(argv[4]);
	encode = !strcmp(argv[5], "encode");
	if (n < 1 || qd < 1 || stride < 1 ||
	    (!encode && strcmp(argv[5], "open")) ||
	    (sync_mode && (maxb || maxu))) {
usage:
		fprintf(stderr, "usage: coldopen [-s STRIDE] [-w BOUND:UNBOUND] "
			"DIR N ring QD open|encode\n"
			"       coldopen [-s STRIDE] DIR N sync THREADS "
			"open|encode\n");
		return 2;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die(argv[1]);
	h = calloc(n, sizeof(*h));
	names = calloc(n, sizeof(*names));
	order = calloc(n, sizeof(*order));
	if (!h || !names || !order)
		die("calloc");
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i * stride);
		if (name_to_handle_at(dfd, names[i], fh_handle_ready(&h[i]),
				      &mnt, 0))
			die(names[i]);
		order[i] = i;
	}
	/* the same shuffle every run */
	srandom(1);
	for (i = n - 1; i > 0; i--) {
		int j = random() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (sync_mode) {
		tids = calloc(qd, sizeof(*tids));
		if (!tids || pthread_barrier_init(&go, NULL, qd + 1))
			die("calloc");
		for (i = 0; i < qd; i++)
			if (pthread_create(&tids[i], NULL, sync_thread, NULL))
				die("pthread_create");
	}
	if (!sync_mode && io_uring_queue_init(qd * 2 > 8 ? qd * 2 : 8, &ring,
					      0))
		die("io_uring_queue_init");
	if (!sync_mode && (maxb || maxu)) {
		limits[0] = maxb;
		limits[1] = maxu;
		if (io_uring_register_iowq_max_workers(&ring, limits))
			die("IORING_REGISTER_IOWQ_MAX_WORKERS");
	}
	/*
	 * Dropping the caches also drops this program's and libc's pages,
	 * which the VM reads back from the host over 9p, a wait that under
	 * icount lasts a random guest time (seconds, once 110 s): keep them
	 * (not MCL_FUTURE, which would fault in every thread's whole stack).
	 */
	if (mlockall(MCL_CURRENT))
		die("mlockall");
	/*
	 * sync leaves the metadata of files made just before dirty in the
	 * journal or log, where dropping the caches cannot drop it; a freeze
	 * writes it all in place first.
	 */
	sync();
	if (!ioctl(dfd, FIFREEZE, 0))
		ioctl(dfd, FITHAW, 0);
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (!f || fputs("3", f) < 0 || fclose(f))
		die("drop_caches");

	r0 = device_reads(argv[1]);
	mark("coldopen: start");
	t0 = now_ms();
	if (sync_mode) {
		pthread_barrier_wait(&go);
		for (i = 0; i < qd; i++)
			pthread_join(tids[i], NULL);
		done = n;
	}
	while (done < n) {
		while (inflight < qd && next < n) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			int k = order[next++];

			if (encode)
				fh_prep_name_to_handle(sqe,
					FHANDLE_OP_NAME_TO_HANDLE_AT, dfd,
					names[k], fh_handle_ready(&out), &mnt,
					0);
			else
				fh_prep_open_by_handle(sqe,
					FHANDLE_OP_OPEN_BY_HANDLE_AT, dfd,
					&h[k].fh, O_RDONLY);
			inflight++;
		}
		if (io_uring_submit_and_wait(&ring, 1) < 0)
			die("io_uring_submit_and_wait");
		w = count_workers();
		if (w > workers)
			workers = w;
		while (!io_uring_peek_cqe(&ring, &cqe)) {
			if (cqe->res < 0) {
				errno = -cqe->res;
				die(encode ? "encode" : "open");
			}
			if (!encode)
				close(cqe->res);
			io_uring_cqe_seen(&ring, cqe);
			inflight--;
			done++;
		}
	}
	t1 = now_ms();
	mark("coldopen: end");
	r1 = device_reads(argv[1]);
	printf("op=%s mode=%s %s=%d n=%d stride=%d maxw=%u:%u ms=%.1f "
	       "ops_s=%.0f workers=%d reads=%ld\n", argv[5], argv[3],
	       sync_mode ? "threads" : "qd", qd, n, stride, maxb, maxu,
	       t1 - t0, n / ((t1 - t0) / 1e3), workers,
	       r0 < 0 ? -1 : r1 - r0);
	if (!sync_mode)
		io_uring_queue_exit(&ring);
	return 0;
}
