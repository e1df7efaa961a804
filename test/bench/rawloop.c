// SPDX-License-Identifier: GPL-2.0
/*
 * rawloop: the operations with nothing around them.  The same operations
 * as the engine, on the same file set as fio's, with no fio: a tight loop
 * that times them with clock_gettime and prints ops/s and latency
 * percentiles as one line of JSON.  With -r they go through io_uring, as
 * the engine's uring backend sends them, so that the ring's own cost can
 * be told from fio's.
 *
 * The file set is fio's: DIR/PREFIX0 .. DIR/PREFIX(N-1).  Encodes and
 * opens by name name a file by an fd on DIR and its name, as the engine's
 * fh_resolve=parent (-F: by DIR/NAME from AT_FDCWD, as fh_resolve=full).
 * Files are picked at random (uniform, with repeats, as fio's
 * file_service_type=random), or in order (-s), or each once in a random
 * order (-u, a shuffle repeated every NRFILES ops).
 *
 * -r: batches of DEPTH (-q) requests (NAME_TO_HANDLE_AT, OPEN_BY_HANDLE_AT
 * or OPENAT, with the closes of the previous batch's fds), each batch
 * submitted and waited for with one io_uring_enter, as fio's uring
 * backend does at that iodepth; an "operation" is one request and its
 * latency is its batch's.  -o nop is the ring's floor: batches of
 * IORING_OP_NOP; DIR and NRFILES are then not used.
 *
 * usage: rawloop -o encode|open|openat|nop [-r] [-t SECONDS | -n OPS]
 *                [-s | -u] [-c] [-F] [-q DEPTH] [-p PREFIX] DIR NRFILES
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fhandle_uring.h"

enum op { OP_ENCODE, OP_OPEN, OP_OPENAT, OP_NOP, OP_COUNT };

static const char *const op_names[] = {
	[OP_ENCODE] = "encode",
	[OP_OPEN] = "open",
	[OP_OPENAT] = "openat",
	[OP_NOP] = "nop",
};

/* every handle in one arena, found by offset, as the engine keeps them */
struct handles {
	unsigned char *arena;
	size_t *off;
	int mount_fd;
};

/* How encodes and openat name file i: a dirfd and a name. */
struct names {
	char **path;	/* DIR/NAME */
	char **name;	/* NAME, or DIR/NAME with -F */
	int dirfd;	/* an fd on DIR, or AT_FDCWD with -F */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: cheap enough not to show up next to a syscall */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "rawloop: %s(%s): %s\n", what, path ? path : "",
		strerror(errno));
	exit(1);
}

/* Fisher-Yates: every file once, in a random order */
static unsigned int *make_shuffle(unsigned int n)
{
	unsigned int *perm = malloc(n * sizeof(*perm)), i, j, t;

	if (!perm)
		die("malloc", NULL);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = rnd() % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	return perm;
}

static void make_names(struct names *nm, const char *dir, const char *prefix,
		       unsigned int n, bool full)
{
	size_t skip = strlen(dir) + 1;
	unsigned int i;

	nm->path = calloc(n, sizeof(*nm->path));
	nm->name = calloc(n, sizeof(*nm->name));
	if (!nm->path || !nm->name)
		die("calloc", NULL);
	for (i = 0; i < n; i++) {
		if (asprintf(&nm->path[i], "%s/%s%u", dir, prefix, i) < 0)
			die("asprintf", NULL);
		nm->name[i] = full ? nm->path[i] : nm->path[i] + skip;
	}
	nm->dirfd = AT_FDCWD;
	if (!full) {
		nm->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nm->dirfd < 0)
			die("open", dir);
	}
}

static void encode_all(struct handles *h, char **paths, unsigned int n,
		       const char *dir)
{
	struct fh_handle_buf buf;
	size_t len, used = 0, cap = 4096;
	unsigned int i;
	int mount_id;

	h->arena = malloc(cap);
	h->off = calloc(n, sizeof(*h->off));
	if (!h->arena || !h->off)
		die("malloc", NULL);
	for (i = 0; i < n; i++) {
		if (name_to_handle_at(AT_FDCWD, paths[i], fh_handle_ready(&buf),
				      &mount_id, AT_SYMLINK_FOLLOW))
			die("name_to_handle_at", paths[i]);
		len = (sizeof(buf.fh) + buf.fh.handle_bytes + 7) & ~(size_t)7;
		if (used + len > cap) {
			cap *= 2;
			h->arena = realloc(h->arena, cap);
			if (!h->arena)
				die("realloc", NULL);
		}
		memcpy(h->arena + used, &buf, sizeof(buf.fh) +
		       buf.fh.handle_bytes);
		h->off[i] = used;
		used += len;
	}
	h->mount_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->mount_fd < 0)
		die("open", dir);
}

static void drop_caches(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "2", 1) != 1)
		die("drop_caches", "/proc/sys/vm/drop_caches");
	close(fd);
}

static struct file_handle *handle_of(struct handles *h, unsigned int i)
{
	return (struct file_handle *)(h->arena + h->off[i]);
}

static void do_op(enum op op, struct handles *h, struct names *nm,
		  unsigned int i)
{
	struct fh_handle_buf buf;
	int fd, mount_id;

	switch (op) {
	case OP_ENCODE:
		if (name_to_handle_at(nm->dirfd, nm->name[i],
				      fh_handle_ready(&buf), &mount_id,
				      AT_SYMLINK_FOLLOW))
			die("name_to_handle_at", nm->path[i]);
		return;
	case OP_OPEN:
		fd = open_by_handle_at(h->mount_fd, handle_of(h, i), O_RDONLY);
		if (fd < 0)
			die("open_by_handle_at", nm->path[i]);
		break;
	default:
		fd = openat(nm->dirfd, nm->name[i], O_RDONLY);
		if (fd < 0)
			die("openat", nm->path[i]);
		break;
	}
	if (close(fd))
		die("close", nm->path[i]);
}

static void usage(void)
{
	fprintf(stderr, "usage: rawloop -o encode|open|openat|nop [-r] "
		"[-t SECONDS | -n OPS] [-s | -u] [-c] [-F] [-q DEPTH] "
		"[-p PREFIX] DIR NRFILES\n"
		"  -r  through io_uring (-o nop always)\n"
		"  -t  run for SECONDS (default 2)     -n  run OPS operations\n"
		"  -s  files in order, not at random   -u  each file once, "
		"shuffled\n  -c  drop dentry and inode caches first\n"
		"  -F  name files DIR/NAME from AT_FDCWD, not by an fd on DIR\n"
		"  -q  io_uring requests per batch (-r; default 1)\n"
		"  -p  file name prefix (default \"f.\")\n");
	exit(2);
}

/* the latency samples (one per operation, or per batch of NOPs), their
 * sum, and the number of operations */
struct samples {
	uint32_t *lat;
	uint64_t cap, n, sum, max_ops, ops, start, end, deadline;
};

/* records COUNT operations done together in NS; true when it is time to
 * stop */
static bool sample(struct samples *s, uint64_t ns, unsigned int count)
{
	s->lat[s->n++] = ns > UINT32_MAX ? UINT32_MAX : ns;
	s->sum += ns;
	s->ops += count;
	return s->n == s->cap || (s->max_ops && s->ops >= s->max_ops) ||
	       (!s->max_ops && s->end >= s->deadline);
}

/* The next file: at random, or the next in order or in the shuffle. */
static unsigned int next_file(unsigned int *i, unsigned int nrfiles,
			      int order, const unsigned int *perm)
{
	unsigned int f;

	if (order == 'r')
		return rnd() % nrfiles;
	if (*i == nrfiles)
		*i = 0;
	f = perm ? perm[*i] : *i;
	(*i)++;
	return f;
}

static void syscall_loop(struct samples *s, enum op op, struct handles *h,
			 struct names *nm, unsigned int nrfiles, int order,
			 const unsigned int *perm)
{
	uint64_t t0 = s->start;
	unsigned int i = 0;

	for (;;) {
		do_op(op, h, nm, next_file(&i, nrfiles, order, perm));
		s->end = now_ns();
		if (sample(s, s->end - t0, 1))
			break;
		t0 = s->end;
	}
}

/* user_data of a close: the fd it closes has no file index */
#define CLOSE_TAG	(1ULL << 63)

/* The request of op on file f, into sqe. */
static void prep_op(struct io_uring_sqe *sqe, enum op op, struct handles *h,
		    struct names *nm, unsigned int f,
		    struct fh_handle_buf *out, union fh_mount_id *mnt)
{
	switch (op) {
	case OP_ENCODE:
		fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT,
				       nm->dirfd, nm->name[f],
				       fh_handle_ready(out), mnt,
				       AT_SYMLINK_FOLLOW);
		break;
	case OP_OPEN:
		fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT,
				       h->mount_fd, handle_of(h, f), O_RDONLY);
		break;
	case OP_OPENAT:
		io_uring_prep_openat(sqe, nm->dirfd, nm->name[f], O_RDONLY, 0);
		break;
	default:
		io_uring_prep_nop(sqe);
	}
	io_uring_sqe_set_data64(sqe, f);
}

/* Reap a batch's CQEs: the fds its opens made into fds[]; how many. */
static unsigned int reap(struct io_uring *ring, enum op op, struct names *nm,
			 int *fds)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, nfd = 0;
	uint64_t ud;

	io_uring_for_each_cqe(ring, head, cqe) {
		ud = io_uring_cqe_get_data64(cqe);
		seen++;
		if (cqe->res < 0) {
			errno = -cqe->res;
			die(ud & CLOSE_TAG ? "IORING_OP_CLOSE" : op_names[op],
			    nm && !(ud & CLOSE_TAG) ? nm->path[ud] : NULL);
		}
		if (!(ud & CLOSE_TAG) && (op == OP_OPEN || op == OP_OPENAT))
			fds[nfd++] = cqe->res;
	}
	io_uring_cq_advance(ring, seen);
	return nfd;
}

/*
 * Batches of DEPTH requests: one io_uring_enter submits a batch, with the
 * closes of the previous batch's fds, and waits for all of them.
 */
static void ring_loop(struct samples *s, enum op op, struct handles *h,
		      struct names *nm, unsigned int nrfiles, int order,
		      const unsigned int *perm, unsigned int depth)
{
	struct fh_handle_buf *out = calloc(depth, sizeof(*out));
	union fh_mount_id *mnt = calloc(depth, sizeof(*mnt));
	int *fds = calloc(depth, sizeof(*fds));
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	uint64_t t0 = s->start;
	unsigned int i, nfd = 0, next = 0;
	int ret;

	if (!out || !mnt || !fds)
		die("calloc", NULL);
	ret = io_uring_queue_init(2 * depth, &ring, 0);
	if (ret < 0) {
		errno = -ret;
		die("io_uring_queue_init", NULL);
	}
	for (;;) {
		for (i = 0; i < nfd; i++) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_close(sqe, fds[i]);
			io_uring_sqe_set_data64(sqe, CLOSE_TAG);
		}
		for (i = 0; i < depth; i++)
			prep_op(io_uring_get_sqe(&ring), op, h, nm,
				op == OP_NOP ? 0 :
				next_file(&next, nrfiles, order, perm),
				&out[i], &mnt[i]);
		ret = io_uring_submit_and_wait(&ring, depth + nfd);
		if (ret < 0) {
			errno = -ret;
			die("io_uring_submit_and_wait", NULL);
		}
		nfd = reap(&ring, op, op == OP_NOP ? NULL : nm, fds);
		s->end = now_ns();
		if (sample(s, s->end - t0, depth))
			break;
		t0 = s->end;
	}
	/* the last batch's fds, untimed */
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	io_uring_queue_exit(&ring);
	free(out);
	free(mnt);
	free(fds);
}

int main(int argc, char **argv)
{
	const char *prefix = "f.", *dir;
	double seconds = 2, elapsed;
	struct samples s = { 0 };
	unsigned int nrfiles, depth = 1;
	int c, order = 'r', cold = 0;
	bool ring = false, full = false;
	unsigned int *perm = NULL;
	enum op op = OP_OPEN;
	struct handles h = { 0 };
	struct names nm = { 0 };

	while ((c = getopt(argc, argv, "o:rt:n:sucFq:p:")) != -1) {
		switch (c) {
		case 'o':
			for (op = 0; op < OP_COUNT; op++)
				if (!strcmp(optarg, op_names[op]))
					break;
			if (op == OP_COUNT)
				usage();
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			s.max_ops = strtoull(optarg, NULL, 0);
			break;
		case 's':
		case 'u':
			order = c;
			break;
		case 'c':
			cold = 1;
			break;
		case 'r':
			ring = true;
			break;
		case 'F':
			full = true;
			break;
		case 'q':
			depth = strtoul(optarg, NULL, 0);
			if (depth < 1 || depth > 4096) {
				fprintf(stderr, "rawloop: -q wants 1 to 4096, "
					"not '%s'\n", optarg);
				exit(2);
			}
			break;
		case 'p':
			prefix = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || seconds <= 0)
		usage();
	dir = argv[optind];
	nrfiles = strtoul(argv[optind + 1], NULL, 0);
	if (!nrfiles)
		usage();

	if (op == OP_NOP)
		ring = true;
	if (op != OP_NOP)
		make_names(&nm, dir, prefix, nrfiles, full);
	if (op == OP_OPEN)
		encode_all(&h, nm.path, nrfiles, dir);
	if (order == 'u')
		perm = make_shuffle(nrfiles);
	if (cold)
		drop_caches();

	/* room for every sample: a fast op is ~1 us, so 64M covers 30 s+ */
	s.cap = s.max_ops ? s.max_ops : (uint64_t)(seconds * 4e6) + 1024;
	if (s.cap > 64ULL << 20)
		s.cap = 64ULL << 20;
	s.lat = malloc(s.cap * sizeof(*s.lat));
	if (!s.lat)
		die("malloc", NULL);

	s.start = now_ns();
	s.deadline = s.start + (uint64_t)(seconds * 1e9);
	if (ring)
		ring_loop(&s, op, &h, &nm, nrfiles, order, perm, depth);
	else
		syscall_loop(&s, op, &h, &nm, nrfiles, order, perm);
	elapsed = (s.end - s.start) / 1e9;
	qsort(s.lat, s.n, sizeof(*s.lat), cmp_u32);
	printf("{\"tool\": \"rawloop\", \"op\": \"%s\", \"ring\": %d, "
	       "\"names\": \"%s\", \"files\": %u, "
	       "\"order\": \"%s\", \"cold\": %d, \"depth\": %u, \"ops\": %llu, "
	       "\"seconds\": %.6f, \"ops_per_sec\": %.1f, \"mean_ns\": %.1f, "
	       "\"p50_ns\": %u, \"p99_ns\": %u, \"p99_9_ns\": %u}\n",
	       op_names[op], ring, full ? "full" : "parent", nrfiles,
	       order == 's' ? "sequential" :
	       order == 'u' ? "shuffled" : "random", cold, depth,
	       (unsigned long long)s.ops, elapsed, s.ops / elapsed,
	       (double)s.sum / s.n, s.lat[(s.n - 1) * 50 / 100],
	       s.lat[(s.n - 1) * 99 / 100], s.lat[(s.n - 1) * 999 / 1000]);
	return 0;
}
