// SPDX-License-Identifier: GPL-2.0
/*
 * rawloop: the single-thread ceiling for the benchmarks.  The same syscalls
 * as the engine's sync backend, on the same file set as fio's, with no fio
 * around them: a tight loop that times every operation with clock_gettime
 * and prints ops/s and latency percentiles as one line of JSON.
 *
 * The file set is fio's: DIR/PREFIX0 .. DIR/PREFIX(N-1), given by full path
 * as fio gives them to the engine.  Files are picked at random (uniform,
 * with repeats, as fio's file_service_type=random), or in order (-s), or
 * each once in a random order (-u, a shuffle repeated every NRFILES ops).
 *
 * -o nop is the ring's floor: batches of DEPTH (-q) IORING_OP_NOP requests,
 * each batch submitted and waited for with one io_uring_enter, as fio's
 * uring backend does at that iodepth; an "operation" is one request and
 * its latency is its batch's.  DIR and NRFILES are then not used.
 *
 * usage: rawloop -o encode|open|openat|nop [-t SECONDS | -n OPS] [-s | -u]
 *                [-c] [-q DEPTH] [-p PREFIX] DIR NRFILES
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

static char **make_paths(const char *dir, const char *prefix, unsigned int n)
{
	char **paths = calloc(n, sizeof(*paths));
	unsigned int i;

	if (!paths)
		die("calloc", NULL);
	for (i = 0; i < n; i++)
		if (asprintf(&paths[i], "%s/%s%u", dir, prefix, i) < 0)
			die("asprintf", NULL);
	return paths;
}

static void encode_all(struct handles *h, char **paths, unsigned int n,
		       const char *dir)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} buf;
	size_t len, used = 0, cap = 4096;
	unsigned int i;
	int mount_id;

	h->arena = malloc(cap);
	h->off = calloc(n, sizeof(*h->off));
	if (!h->arena || !h->off)
		die("malloc", NULL);
	for (i = 0; i < n; i++) {
		buf.fh.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, paths[i], &buf.fh, &mount_id,
				      0))
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

static void do_op(enum op op, struct handles *h, char **paths, unsigned int i)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} buf;
	int fd, mount_id;

	switch (op) {
	case OP_ENCODE:
		buf.fh.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, paths[i], &buf.fh, &mount_id,
				      0))
			die("name_to_handle_at", paths[i]);
		return;
	case OP_OPEN:
		fd = open_by_handle_at(h->mount_fd, (struct file_handle *)
				       (h->arena + h->off[i]), O_RDONLY);
		if (fd < 0)
			die("open_by_handle_at", paths[i]);
		break;
	default:
		fd = openat(AT_FDCWD, paths[i], O_RDONLY);
		if (fd < 0)
			die("openat", paths[i]);
		break;
	}
	if (close(fd))
		die("close", paths[i]);
}

static void usage(void)
{
	fprintf(stderr, "usage: rawloop -o encode|open|openat|nop "
		"[-t SECONDS | -n OPS] [-s | -u] [-c] [-q DEPTH] [-p PREFIX] "
		"DIR NRFILES\n"
		"  -t  run for SECONDS (default 2)     -n  run OPS operations\n"
		"  -s  files in order, not at random   -u  each file once, "
		"shuffled\n  -c  drop dentry and inode caches first\n"
		"  -q  io_uring NOPs per batch (-o nop; default 1)\n"
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

static void syscall_loop(struct samples *s, enum op op, struct handles *h,
			 char **paths, unsigned int nrfiles, int order,
			 const unsigned int *perm)
{
	uint64_t t0 = s->start;
	unsigned int i = 0;

	for (;;) {
		if (order == 'r')
			i = rnd() % nrfiles;
		else if (i == nrfiles)
			i = 0;
		do_op(op, h, paths, perm ? perm[i] : i);
		i++;
		s->end = now_ns();
		if (sample(s, s->end - t0, 1))
			break;
		t0 = s->end;
	}
}

/* batches of DEPTH NOPs: one io_uring_enter submits and waits for each */
static void nop_loop(struct samples *s, unsigned int depth)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	uint64_t t0 = s->start;
	unsigned int i, head, seen;
	int ret;

	ret = io_uring_queue_init(depth, &ring, 0);
	if (ret < 0) {
		errno = -ret;
		die("io_uring_queue_init", NULL);
	}
	for (;;) {
		for (i = 0; i < depth; i++)
			io_uring_prep_nop(io_uring_get_sqe(&ring));
		ret = io_uring_submit_and_wait(&ring, depth);
		if (ret < 0) {
			errno = -ret;
			die("io_uring_submit_and_wait", NULL);
		}
		seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			if (cqe->res < 0) {
				errno = -cqe->res;
				die("IORING_OP_NOP", NULL);
			}
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
		s->end = now_ns();
		if (sample(s, s->end - t0, depth))
			break;
		t0 = s->end;
	}
	io_uring_queue_exit(&ring);
}

int main(int argc, char **argv)
{
	const char *prefix = "f.", *dir;
	double seconds = 2, elapsed;
	struct samples s = { 0 };
	unsigned int nrfiles, depth = 1;
	int c, order = 'r', cold = 0;
	unsigned int *perm = NULL;
	enum op op = OP_OPEN;
	struct handles h = { 0 };
	char **paths = NULL;

	while ((c = getopt(argc, argv, "o:t:n:sucq:p:")) != -1) {
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

	if (op != OP_NOP)
		paths = make_paths(dir, prefix, nrfiles);
	if (op == OP_OPEN)
		encode_all(&h, paths, nrfiles, dir);
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
	if (op == OP_NOP)
		nop_loop(&s, depth);
	else
		syscall_loop(&s, op, &h, paths, nrfiles, order, perm);
	elapsed = (s.end - s.start) / 1e9;
	qsort(s.lat, s.n, sizeof(*s.lat), cmp_u32);
	printf("{\"tool\": \"rawloop\", \"op\": \"%s\", \"files\": %u, "
	       "\"order\": \"%s\", \"cold\": %d, \"depth\": %u, \"ops\": %llu, "
	       "\"seconds\": %.6f, \"ops_per_sec\": %.1f, \"mean_ns\": %.1f, "
	       "\"p50_ns\": %u, \"p99_ns\": %u, \"p99_9_ns\": %u}\n",
	       op_names[op], nrfiles, order == 's' ? "sequential" :
	       order == 'u' ? "shuffled" : "random", cold, depth,
	       (unsigned long long)s.ops, elapsed, s.ops / elapsed,
	       (double)s.sum / s.n, s.lat[(s.n - 1) * 50 / 100],
	       s.lat[(s.n - 1) * 99 / 100], s.lat[(s.n - 1) * 999 / 1000]);
	return 0;
}
