// SPDX-License-Identifier: GPL-2.0
/*
 * rawloop: the operations with nothing around them.  The operations of the
 * engine, on a file set like fio's, with no fio: a loop that times them and
 * prints one line of JSON: operations per second from the first operation
 * to the last, latency percentiles, the CPU the process spent (every
 * thread, io_uring's io-wq workers and SQPOLL thread included), and the
 * reads the device did.  Through io_uring (-r) or as syscalls, from one
 * thread or a pool (-j), warm or cold (-c), so that the ring's own cost and
 * its break-even against threads can be told from fio's.
 *
 * The file set: DIR/PREFIX0 .. DIR/PREFIX(N*K-1), of which the operations
 * use every K-th (-k K: files 0, K, 2K, ...), so that with K at least the
 * inodes a disk block holds, no two used files share an inode block (a
 * cold operation then has its own read).  Encodes and opens by name name
 * a file by an fd on DIR and its name, as the engine's fh_resolve=parent
 * (-F: DIR/NAME from AT_FDCWD, as fh_resolve=full).  Files are picked at
 * random (uniform, with repeats), in order (-s), or each once in a random
 * order (-u: a shuffle of seed -S, repeated every N operations).
 *
 * Cold (-c): before the timed phase, every cache is dropped (syncfs, then
 * 3 into drop_caches) and a fraction 1 - MISS (-m) of the used files,
 * chosen with the seed, is read back by name (dentry, inode and data
 * cached); after an idle second (the drop's deferred work) the timed phase
 * does each used file once, shuffled, so that MISS of the operations must
 * read the device (with -m 0, -n operations: the set again and again).
 *
 * Through the ring: DEPTH (-q) requests in flight from one thread; an open
 * is followed by the close of its fd (and, for open_read, a read of bs
 * bytes hard-linked to it), each batch of new requests submitted with the
 * previous completions' follow-ups in one io_uring_enter that waits for
 * one completion.  -o nop is the ring's floor (DIR and N unused).
 *
 * usage: rawloop -o encode|open|open_read|openat|nop [-r] [-q DEPTH]
 *                [-j THREADS] [-t SECONDS | -n OPS] [-s | -u] [-S SEED]
 *                [-c [-m MISS]] [-k STRIDE] [-F] [-p PREFIX]
 *                [-D BLOCKDEV] [-W BOUNDED,UNBOUNDED] DIR N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <liburing.h>

#include "fhandle_uring.h"

#define READ_BYTES	4096

enum op { OP_ENCODE, OP_OPEN, OP_OPEN_READ, OP_OPENAT, OP_NOP, OP_COUNT };

static const char *const op_names[] = {
	[OP_ENCODE] = "encode",
	[OP_OPEN] = "open",
	[OP_OPEN_READ] = "open_read",
	[OP_OPENAT] = "openat",
	[OP_NOP] = "nop",
};

struct config {
	enum op op;
	bool ring, full, cold;
	int order;		/* 'r' random, 's' in order, 'u' shuffled */
	unsigned int depth, threads, stride, nrfiles;
	unsigned int iowq[2];
	double miss, seconds;
	uint64_t max_ops, seed;
	const char *dir, *prefix, *blockdev;
};

/* The file set: names, handles (opens by handle) and the order of use. */
struct fileset {
	char **path;		/* DIR/NAME */
	char **name;		/* NAME, or DIR/NAME with -F */
	int dirfd;		/* an fd on DIR: mount fd, names' dirfd */
	int at;			/* where names resolve: dirfd, or AT_FDCWD */
	unsigned char *arena;	/* every handle, as the engine keeps them */
	size_t *off;
	unsigned int *order;	/* the shuffle (-u), or NULL */
};

/* What the threads share: the next operation, when to stop, samples. */
struct run {
	const struct config *cfg;
	struct fileset *fs;
	atomic_uint_fast64_t next;	/* operations handed out */
	uint64_t deadline;		/* -t: ns on CLOCK_MONOTONIC */
	atomic_bool stop;
	uint32_t *lat;			/* a latency per operation */
	uint64_t cap;
	atomic_uint_fast64_t n;
	/* the threads start together; the last to finish stamps the end */
	pthread_barrier_t go;
	atomic_uint running;
	uint64_t end, end_idle;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The CPUs' idle time so far, in ns, and their number: the sum of the
 * .idle_sleeptime and .iowait_sleeptime of /proc/timer_list (the nohz
 * idle accounting; root only), or 0 CPUs without it.
 */
static uint64_t idle_ns(unsigned int *ncpu)
{
	unsigned long long v, sum = 0;
	char line[256];
	FILE *f = fopen("/proc/timer_list", "re");

	*ncpu = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " .idle_sleeptime : %llu", &v) == 1) {
			sum += v;
			(*ncpu)++;
		} else if (sscanf(line, " .iowait_sleeptime: %llu", &v) == 1) {
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "rawloop: %s(%s): %s\n", what, path ? path : "",
		strerror(errno));
	exit(1);
}

static void die_res(const char *what, const char *path, int res)
{
	errno = -res;
	die(what, path);
}

/* xorshift64*: cheap enough not to show up next to a syscall (the state
 * is the seed mixed, never 0) */
static uint64_t rnd(uint64_t *state)
{
	if (!*state)
		*state = 0x9e3779b97f4a7c15ULL;
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* Fisher-Yates: every file once, in the order of seed */
static unsigned int *make_shuffle(unsigned int n, uint64_t seed)
{
	unsigned int *perm = malloc(n * sizeof(*perm)), i, j, t;

	if (!perm)
		die("malloc", NULL);
	for (i = 0; i < n; i++)
		perm[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = rnd(&seed) % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	return perm;
}

static void make_names(struct fileset *fs, const struct config *cfg)
{
	size_t skip = strlen(cfg->dir) + 1;
	unsigned int i;

	fs->path = calloc(cfg->nrfiles, sizeof(*fs->path));
	fs->name = calloc(cfg->nrfiles, sizeof(*fs->name));
	if (!fs->path || !fs->name)
		die("calloc", NULL);
	for (i = 0; i < cfg->nrfiles; i++) {
		if (asprintf(&fs->path[i], "%s/%s%llu", cfg->dir, cfg->prefix,
			     (unsigned long long)i * cfg->stride) < 0)
			die("asprintf", NULL);
		fs->name[i] = cfg->full ? fs->path[i] : fs->path[i] + skip;
	}
	fs->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->dirfd < 0)
		die("open", cfg->dir);
	fs->at = cfg->full ? AT_FDCWD : fs->dirfd;
}

static struct file_handle *handle_of(struct fileset *fs, unsigned int i)
{
	return (struct file_handle *)(fs->arena + fs->off[i]);
}

/* Every used file's handle, encoded before the caches are dropped. */
static void encode_all(struct fileset *fs, unsigned int n)
{
	struct fh_handle_buf buf;
	size_t len, used = 0, cap = 4096;
	unsigned int i;
	int mount_id;

	fs->arena = malloc(cap);
	fs->off = calloc(n, sizeof(*fs->off));
	if (!fs->arena || !fs->off)
		die("malloc", NULL);
	for (i = 0; i < n; i++) {
		if (name_to_handle_at(AT_FDCWD, fs->path[i],
				      fh_handle_ready(&buf), &mount_id,
				      AT_SYMLINK_FOLLOW))
			die("name_to_handle_at", fs->path[i]);
		len = (sizeof(buf.fh) + buf.fh.handle_bytes + 7) & ~(size_t)7;
		while (used + len > cap) {
			cap *= 2;
			fs->arena = realloc(fs->arena, cap);
			if (!fs->arena)
				die("realloc", NULL);
		}
		memcpy(fs->arena + used, &buf, sizeof(buf.fh) +
		       buf.fh.handle_bytes);
		fs->off[i] = used;
		used += len;
	}
}

/*
 * syncfs, not sync: a global sync also waits for the VM's other
 * filesystems, whose host-served writes take any number of guest ticks
 * under icount
 */
static void drop_caches(int dirfd)
{
	int fd;

	syncfs(dirfd);
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3", 1) != 1)
		die("drop_caches", "/proc/sys/vm/drop_caches");
	close(fd);
}

/* Cold: 1 - miss of the used files back in the caches, by name. */
static void prewarm(struct fileset *fs, const struct config *cfg)
{
	unsigned int n = cfg->nrfiles, warm = (unsigned int)(n * (1 - cfg->miss)
						     + 0.5), i;
	unsigned int *pick = make_shuffle(n, cfg->seed ^ 0x5bd1e995);
	char buf[READ_BYTES];
	int fd;

	for (i = 0; i < warm; i++) {
		fd = openat(fs->dirfd, fs->name[pick[i]], O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
			die("prewarm", fs->path[pick[i]]);
		close(fd);
	}
	free(pick);
}

/* The device's reads completed so far (/sys/block/DEV/stat), or 0. */
static uint64_t device_reads(const char *dev)
{
	unsigned long long reads = 0;
	char path[256];
	FILE *f;

	if (!dev)
		return 0;
	snprintf(path, sizeof(path), "/sys/block/%s/stat", dev);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu", &reads) != 1)
		die("read", path);
	fclose(f);
	return reads;
}

/*
 * The next operation's file, or -1 when the run is over: at most max_ops
 * (every thread counted), or until the deadline.
 */
static long next_file(struct run *r, uint64_t *rstate)
{
	const struct config *cfg = r->cfg;
	uint64_t k;

	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return -1;
	k = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
	if (cfg->max_ops ? k >= cfg->max_ops : now_ns() >= r->deadline) {
		atomic_store(&r->stop, true);
		return -1;
	}
	if (cfg->order == 'r')
		return (long)(rnd(rstate) % cfg->nrfiles);
	k %= cfg->nrfiles;
	return r->fs->order ? r->fs->order[k] : (long)k;
}

static void sample(struct run *r, uint64_t ns)
{
	uint64_t i = atomic_fetch_add_explicit(&r->n, 1, memory_order_relaxed);

	if (i < r->cap)
		r->lat[i] = ns > UINT32_MAX ? UINT32_MAX : ns;
}

/* ---- syscalls ------------------------------------------------------- */

static void do_op(const struct config *cfg, struct fileset *fs,
		  unsigned int i, char *buf)
{
	struct fh_handle_buf out;
	int fd, mount_id;

	switch (cfg->op) {
	case OP_ENCODE:
		if (name_to_handle_at(fs->at, fs->name[i],
				      fh_handle_ready(&out), &mount_id,
				      AT_SYMLINK_FOLLOW))
			die("name_to_handle_at", fs->path[i]);
		return;
	case OP_OPEN:
	case OP_OPEN_READ:
		fd = open_by_handle_at(fs->dirfd, handle_of(fs, i), O_RDONLY);
		if (fd < 0)
			die("open_by_handle_at", fs->path[i]);
		if (cfg->op == OP_OPEN_READ &&
		    pread(fd, buf, READ_BYTES, 0) < 0)
			die("pread", fs->path[i]);
		break;
	default:
		fd = openat(fs->at, fs->name[i], O_RDONLY);
		if (fd < 0)
			die("openat", fs->path[i]);
		break;
	}
	if (close(fd))
		die("close", fs->path[i]);
}

struct worker {
	struct run *run;
	uint64_t rstate;
	pthread_t tid;
};

/* The last thread to finish: when, and the CPU spent by then. */
static void finished(struct run *r)
{
	unsigned int ncpu;

	if (atomic_fetch_sub(&r->running, 1) == 1) {
		r->end = now_ns();
		r->end_idle = idle_ns(&ncpu);
	}
}

static void *syscall_worker(void *arg)
{
	struct worker *w = arg;
	char buf[READ_BYTES];
	uint64_t t0;
	long f;

	pthread_barrier_wait(&w->run->go);
	while ((f = next_file(w->run, &w->rstate)) >= 0) {
		t0 = now_ns();
		do_op(w->run->cfg, w->run->fs, (unsigned int)f, buf);
		sample(w->run, now_ns() - t0);
	}
	finished(w->run);
	return NULL;
}

/* ---- the ring ------------------------------------------------------- */

/* user_data: the slot of a request, and what step of it completes */
enum step { STEP_OP, STEP_READ, STEP_CLOSE };
#define UD(slot, step)		((uint64_t)(slot) << 2 | (step))
#define UD_SLOT(ud)		((unsigned int)((ud) >> 2))
#define UD_STEP(ud)		((enum step)((ud) & 3))

/* One request in flight: its file, when it went out, what is left. */
struct slot {
	long file;
	uint64_t issued;
	int pending;
	struct fh_handle_buf out;
	union fh_mount_id mnt;
	char buf[READ_BYTES];
};

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	/* the ring holds 3 SQEs per slot: it cannot be full */
	if (!sqe) {
		errno = EBUSY;
		die("io_uring_get_sqe", NULL);
	}
	return sqe;
}

/* The first request of an operation on file f, in slot i. */
static void ring_start(struct io_uring *ring, struct run *r, struct slot *sl,
		       unsigned int i, long f)
{
	struct fileset *fs = r->fs;
	struct io_uring_sqe *sqe = get_sqe(ring);

	switch (r->cfg->op) {
	case OP_ENCODE:
		fh_prep_name_to_handle(sqe, FHANDLE_OP_NAME_TO_HANDLE_AT,
				       fs->at, fs->name[f],
				       fh_handle_ready(&sl->out), &sl->mnt,
				       AT_SYMLINK_FOLLOW);
		break;
	case OP_OPEN:
	case OP_OPEN_READ:
		fh_prep_open_by_handle(sqe, FHANDLE_OP_OPEN_BY_HANDLE_AT,
				       fs->dirfd, handle_of(fs, f), O_RDONLY);
		break;
	case OP_OPENAT:
		io_uring_prep_openat(sqe, fs->at, fs->name[f], O_RDONLY, 0);
		break;
	default:
		io_uring_prep_nop(sqe);
	}
	io_uring_sqe_set_data64(sqe, UD(i, STEP_OP));
	sl->file = f;
	sl->pending = 1;
	sl->issued = now_ns();
}

/* An open completed: its read (open_read) and close, hard-linked. */
static void ring_follow(struct io_uring *ring, const struct config *cfg,
			struct slot *sl, unsigned int i, int fd)
{
	struct io_uring_sqe *sqe;

	if (cfg->op == OP_OPEN_READ) {
		sqe = get_sqe(ring);
		io_uring_prep_read(sqe, fd, sl->buf, READ_BYTES, 0);
		io_uring_sqe_set_data64(sqe, UD(i, STEP_READ));
		sqe->flags |= IOSQE_IO_HARDLINK;
		sl->pending++;
	}
	sqe = get_sqe(ring);
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, UD(i, STEP_CLOSE));
	sl->pending++;
}

static const char *slot_path(struct run *r, struct slot *sl)
{
	return r->cfg->op == OP_NOP ? NULL : r->fs->path[sl->file];
}

/* Reap what completed; the slots whose operation is done go to free[]. */
static unsigned int ring_reap(struct io_uring *ring, struct run *r,
			      struct slot *slots, unsigned int *free_slots,
			      unsigned int nfree)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, i;
	struct slot *sl;
	uint64_t ud;

	io_uring_for_each_cqe(ring, head, cqe) {
		ud = io_uring_cqe_get_data64(cqe);
		i = UD_SLOT(ud);
		sl = &slots[i];
		seen++;
		if (cqe->res < 0)
			die_res(UD_STEP(ud) == STEP_OP ? op_names[r->cfg->op] :
				UD_STEP(ud) == STEP_READ ? "read" : "close",
				slot_path(r, sl), cqe->res);
		sl->pending--;
		if (UD_STEP(ud) == STEP_OP && (r->cfg->op == OP_OPEN ||
		    r->cfg->op == OP_OPEN_READ || r->cfg->op == OP_OPENAT))
			ring_follow(ring, r->cfg, sl, i, cqe->res);
		if (!sl->pending) {
			sample(r, now_ns() - sl->issued);
			free_slots[nfree++] = i;
		}
	}
	io_uring_cq_advance(ring, seen);
	return nfree;
}

static void ring_setup(struct io_uring *ring, const struct config *cfg)
{
	int ret = io_uring_queue_init(3 * cfg->depth, ring, 0);

	if (ret < 0)
		die_res("io_uring_queue_init", NULL, ret);
	if (cfg->iowq[0] || cfg->iowq[1]) {
		unsigned int vals[2] = { cfg->iowq[0], cfg->iowq[1] };

		ret = io_uring_register_iowq_max_workers(ring, vals);
		if (ret < 0)
			die_res("io_uring_register_iowq_max_workers", NULL, ret);
	}
}

/*
 * DEPTH requests in flight: each io_uring_enter submits the new requests
 * and the follow-ups of what completed, and waits for one completion.
 */
static void ring_loop(struct run *r, struct io_uring *ring)
{
	unsigned int depth = r->cfg->depth, nfree = depth, inflight = 0, i;
	struct slot *slots = calloc(depth, sizeof(*slots));
	unsigned int *free_slots = malloc(depth * sizeof(*free_slots));
	uint64_t rstate = r->cfg->seed;
	long f;
	int ret;

	if (!slots || !free_slots)
		die("calloc", NULL);
	for (i = 0; i < depth; i++)
		free_slots[i] = i;
	for (;;) {
		while (nfree && (f = next_file(r, &rstate)) >= 0) {
			i = free_slots[--nfree];
			ring_start(ring, r, &slots[i], i, f);
			inflight++;
		}
		if (!inflight)
			break;
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR)
			die_res("io_uring_submit_and_wait", NULL, ret);
		i = nfree;
		nfree = ring_reap(ring, r, slots, free_slots, nfree);
		inflight -= nfree - i;
	}
	free(slots);
	free(free_slots);
}

/* ---- main ----------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: rawloop -o encode|open|open_read|openat|nop [-r] "
		"[-q DEPTH] [-j THREADS]\n"
		"               [-t SECONDS | -n OPS] [-s | -u] [-S SEED] "
		"[-c [-m MISS]] [-k STRIDE]\n"
		"               [-F] [-p PREFIX] [-D BLOCKDEV] "
		"[-W BOUNDED,UNBOUNDED] DIR N\n"
		"  -r  through io_uring, DEPTH (-q, default 1) in flight from "
		"one thread\n"
		"  -j  syscalls from THREADS threads (default 1)\n"
		"  -t  run SECONDS (default 2)   -n  run OPS operations (with "
		"-c: N)\n"
		"  -s  files in order   -u  each once, shuffled with SEED (-S)\n"
		"  -c  drop every cache, then read 1 - MISS (-m, default 1) of "
		"the files back\n"
		"  -k  use every STRIDE-th file of DIR   -F  full names from "
		"AT_FDCWD\n"
		"  -D  count the reads of /sys/block/BLOCKDEV   -W  io-wq's "
		"worker limits (-r)\n");
	exit(2);
}

static unsigned int parse_uint(const char *arg, unsigned int lo,
			       unsigned int hi)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 0);

	if (*end || end == arg || v < lo || v > hi) {
		fprintf(stderr, "rawloop: '%s' is not a number from %u to "
			"%u\n", arg, lo, hi);
		exit(2);
	}
	return (unsigned int)v;
}

static void parse_args(struct config *cfg, int argc, char **argv)
{
	char *comma;
	int c;

	while ((c = getopt(argc, argv, "o:rq:j:t:n:suS:cm:k:Fp:D:W:")) != -1) {
		switch (c) {
		case 'o':
			for (cfg->op = 0; cfg->op < OP_COUNT; cfg->op++)
				if (!strcmp(optarg, op_names[cfg->op]))
					break;
			if (cfg->op == OP_COUNT)
				usage();
			break;
		case 'r': cfg->ring = true; break;
		case 'q': cfg->depth = parse_uint(optarg, 1, 4096); break;
		case 'j': cfg->threads = parse_uint(optarg, 1, 1024); break;
		case 't': cfg->seconds = atof(optarg); break;
		case 'n': cfg->max_ops = strtoull(optarg, NULL, 0); break;
		case 's': case 'u': cfg->order = c; break;
		case 'S': cfg->seed = strtoull(optarg, NULL, 0); break;
		case 'c': cfg->cold = true; break;
		case 'm': cfg->miss = atof(optarg); break;
		case 'k': cfg->stride = parse_uint(optarg, 1, 1U << 20); break;
		case 'F': cfg->full = true; break;
		case 'p': cfg->prefix = optarg; break;
		case 'D': cfg->blockdev = optarg; break;
		case 'W':
			comma = strchr(optarg, ',');
			if (!comma)
				usage();
			*comma = '\0';
			cfg->iowq[0] = parse_uint(optarg, 0, 1U << 16);
			cfg->iowq[1] = parse_uint(comma + 1, 0, 1U << 16);
			break;
		default: usage();
		}
	}
	if (argc - optind != 2 || cfg->seconds <= 0 || cfg->miss < 0 ||
	    cfg->miss > 1 || (cfg->ring && cfg->threads > 1))
		usage();
	cfg->dir = argv[optind];
	cfg->nrfiles = parse_uint(argv[optind + 1], 1, 1U << 30);
	if (cfg->op == OP_NOP)
		cfg->ring = true;
	if (cfg->cold) {
		/* each used file once: MISS of them cold (or with no miss,
		 * any number of times: -n) */
		cfg->order = 'u';
		if (cfg->miss > 0 || !cfg->max_ops)
			cfg->max_ops = cfg->nrfiles;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Room for a latency per operation: a fast one takes ~1 us. */
static void samples_init(struct run *r)
{
	const struct config *cfg = r->cfg;

	r->cap = cfg->max_ops ? cfg->max_ops :
		 (uint64_t)(cfg->seconds * 4e6) + 1024;
	if (r->cap > 64ULL << 20)
		r->cap = 64ULL << 20;
	r->lat = malloc(r->cap * sizeof(*r->lat));
	if (!r->lat)
		die("malloc", NULL);
}

/*
 * span: first operation to last; busy: what the CPUs ran meanwhile (every
 * CPU's span less its idle time: io-wq workers, interrupts and deferred
 * work included, idle excluded), or 0 where that is not known
 */
static void report(const struct config *cfg, struct run *r, uint64_t span,
		   uint64_t busy, uint64_t reads)
{
	uint64_t ops = atomic_load(&r->n), n = ops < r->cap ? ops : r->cap;
	uint64_t sum = 0, i;
	uint32_t p50 = 0, p99 = 0, p999 = 0;

	qsort(r->lat, n, sizeof(*r->lat), cmp_u32);
	for (i = 0; i < n; i++)
		sum += r->lat[i];
	if (n) {
		p50 = r->lat[(n - 1) * 50 / 100];
		p99 = r->lat[(n - 1) * 99 / 100];
		p999 = r->lat[(n - 1) * 999 / 1000];
	}
	printf("{\"tool\": \"rawloop\", \"op\": \"%s\", \"ring\": %d, "
	       "\"depth\": %u, \"threads\": %u, \"names\": \"%s\", "
	       "\"files\": %u, \"stride\": %u, \"order\": \"%s\", "
	       "\"cold\": %d, \"miss\": %.4f, \"seed\": %llu, "
	       "\"ops\": %llu, \"seconds\": %.9f, \"ops_per_sec\": %.1f, "
	       "\"ns_per_op\": %.2f, \"busy_ns\": %llu, "
	       "\"busy_ns_per_op\": %.2f, "
	       "\"reads\": %llu, \"reads_per_op\": %.4f, \"mean_ns\": %.1f, "
	       "\"p50_ns\": %u, \"p99_ns\": %u, \"p99_9_ns\": %u}\n",
	       op_names[cfg->op], cfg->ring, cfg->ring ? cfg->depth : 1,
	       cfg->ring ? 1 : cfg->threads, cfg->full ? "full" : "parent",
	       cfg->nrfiles, cfg->stride, cfg->order == 's' ? "sequential" :
	       cfg->order == 'u' ? "shuffled" : "random", cfg->cold,
	       cfg->cold ? cfg->miss : 0.0, (unsigned long long)cfg->seed,
	       (unsigned long long)ops, span / 1e9, ops / (span / 1e9),
	       (double)span / ops, (unsigned long long)busy,
	       (double)busy / ops, (unsigned long long)reads,
	       (double)reads / ops, n ? (double)sum / n : 0.0,
	       p50, p99, p999);
}

int main(int argc, char **argv)
{
	struct config cfg = {
		.op = OP_OPEN, .order = 'r', .depth = 1, .threads = 1,
		.stride = 1, .seconds = 2, .miss = 1, .seed = 1,
		.prefix = "f.",
	};
	struct fileset fs = { .dirfd = -1, .at = AT_FDCWD };
	struct run r = { .cfg = &cfg, .fs = &fs };
	struct io_uring ring;
	struct worker *w;
	uint64_t t0, t1, i0, rd0, rd1;
	unsigned int i, nw, ncpu;

	parse_args(&cfg, argc, argv);
	/*
	 * Dropping the page cache evicts this program's and its libraries'
	 * pages too, and reading them back inside the timed phase (in the
	 * VM over 9p, in a random guest time) is no part of an operation
	 */
	if (cfg.cold && mlockall(MCL_CURRENT))
		die("mlockall", NULL);
	if (cfg.op != OP_NOP)
		make_names(&fs, &cfg);
	if (cfg.op == OP_OPEN || cfg.op == OP_OPEN_READ)
		encode_all(&fs, cfg.nrfiles);
	if (cfg.order == 'u')
		fs.order = make_shuffle(cfg.nrfiles, cfg.seed);
	if (cfg.ring)
		ring_setup(&ring, &cfg);
	if (cfg.cold) {
		drop_caches(fs.dirfd);
		prewarm(&fs, &cfg);
		/* nothing of the set's to write back inside the timed phase */
		syncfs(fs.dirfd);
		/*
		 * and none of the drop's deferred work (RCU callbacks freeing
		 * the inodes and dentries it dropped): an idle second lets it
		 * run first (under icount an idle second costs no host time)
		 */
		sleep(1);
	}
	nw = cfg.ring ? 1 : cfg.threads;
	w = calloc(nw, sizeof(*w));
	if (!w)
		die("calloc", NULL);
	for (i = 0; i < nw; i++) {
		w[i].run = &r;
		w[i].rstate = cfg.seed + i;
	}
	samples_init(&r);
	/* the pool's threads exist before the timed phase begins */
	if (pthread_barrier_init(&r.go, NULL, nw))
		die("pthread_barrier_init", NULL);
	atomic_store(&r.running, nw);
	for (i = 1; i < nw; i++)
		if (pthread_create(&w[i].tid, NULL, syscall_worker, &w[i]))
			die("pthread_create", NULL);
	rd0 = device_reads(cfg.blockdev);
	i0 = idle_ns(&ncpu);
	t0 = now_ns();
	r.deadline = t0 + (uint64_t)(cfg.seconds * 1e9);
	if (cfg.ring) {
		ring_loop(&r, &ring);
		finished(&r);
	} else {
		syscall_worker(&w[0]);
	}
	for (i = 1; i < nw; i++)
		pthread_join(w[i].tid, NULL);
	t1 = r.end;
	rd1 = device_reads(cfg.blockdev);
	if (cfg.ring)
		io_uring_queue_exit(&ring);
	report(&cfg, &r, t1 - t0, ncpu ? ncpu * (t1 - t0) -
	       (r.end_idle - i0) : 0, rd1 - rd0);
	return 0;
}
