// SPDX-License-Identifier: GPL-2.0
/*
 * fhandle-probe: the first thing to run.  Says whether the running kernel
 * has the two proposed io_uring file-handle opcodes and whether they
 * behave (checked on a scratch file, in a child process), then does one
 * encode and one open of FILE through the ring.
 *
 * Usage: fhandle-probe [-e ENCODE_OPCODE] [-o OPEN_OPCODE] [-q] [FILE]
 * Exit: 0 both opcodes work, 2 the kernel lacks one, 1 one misbehaves or
 * an error, 64 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "fhandle_uring.h"

#define EXIT_ABSENT	2
#define EXIT_USAGE	64

struct probe_opts {
	unsigned int encode_op;
	unsigned int open_op;
	bool quiet;
	const char *file;
};

static struct probe_opts opts = {
	.encode_op = FHANDLE_OP_NAME_TO_HANDLE_AT,
	.open_op = FHANDLE_OP_OPEN_BY_HANDLE_AT,
};

#define say(...)	do { if (!opts.quiet) printf(__VA_ARGS__); } while (0)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: fhandle-probe [-e OPCODE] [-o OPCODE] [-q] [FILE]\n"
		"  -e OPCODE  IORING_OP_NAME_TO_HANDLE_AT's number (default 63)\n"
		"  -o OPCODE  IORING_OP_OPEN_BY_HANDLE_AT's number (default 64)\n"
		"  -q         print nothing, only set the exit status\n"
		"  FILE       file to encode and open (default: a temporary\n"
		"             file in $TMPDIR, removed afterwards)\n"
		"exit: 0 both work, 2 the kernel lacks one, 1 misbehaves\n");
}

static int parse_opcode(const char *arg, unsigned int *op)
{
	const char *other;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || *end || end == arg || v > 255 ||
	    !(arg[0] >= '0' && arg[0] <= '9')) {
		fprintf(stderr, "fhandle-probe: bad opcode '%s' (0..255)\n",
			arg);
		return -1;
	}
	other = fh_liburing_opcode_name((unsigned int)v);
	if (other) {
		fprintf(stderr, "fhandle-probe: opcode %lu is %s on every "
			"kernel (liburing's header)\n", v, other);
		return -1;
	}
	*op = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "e:o:qh")) != -1) {
		switch (c) {
		case 'e':
			if (parse_opcode(optarg, &opts.encode_op))
				return -1;
			break;
		case 'o':
			if (parse_opcode(optarg, &opts.open_op))
				return -1;
			break;
		case 'q':
			opts.quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc)
		opts.file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "fhandle-probe: one FILE at most\n");
		return -1;
	}
	return 0;
}

/* Is each opcode in the probe?  Returns how many are missing. */
static int report_probe(struct io_uring *ring)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	const struct { const char *name; unsigned int op; } ops[] = {
		{ "IORING_OP_NAME_TO_HANDLE_AT", opts.encode_op },
		{ "IORING_OP_OPEN_BY_HANDLE_AT", opts.open_op },
	};
	int missing = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		bool has = probe && io_uring_opcode_supported(probe, ops[i].op);

		say("  %-28s opcode %3u: %s\n", ops[i].name, ops[i].op,
		    has ? "in the probe" : "not supported by this kernel");
		missing += !has;
	}
	io_uring_free_probe(probe);
	return missing;
}

static void print_handle(const struct file_handle *fh, uint64_t mount_id)
{
	unsigned int i;

	say("    handle type %d, %u bytes, mount id %llu: ", fh->handle_type,
	    fh->handle_bytes, (unsigned long long)mount_id);
	for (i = 0; i < fh->handle_bytes; i++)
		say("%02x", fh->f_handle[i]);
	say("\n");
}

/* One opcode's verdict from the isolated check; 0 if it behaves. */
static int report_verdict(const char *what, unsigned int opcode,
			  const struct fh_opcode_verdict *v)
{
	if (v->verdict < 0) {
		fprintf(stderr, "fhandle-probe: the reference syscall fails on "
			"a scratch file in $TMPDIR: %s\n", strerror(-v->verdict));
		return 1;
	}
	if (v->verdict == 0 && v->res == -EPERM) {
		say("  %s (opcode %u): -EPERM: it needs CAP_DAC_READ_SEARCH "
		    "(run as root)\n", what, opcode);
		return 1;
	}
	say("  %s (opcode %u) on a scratch file: %s (res=%d)\n", what, opcode,
	    v->verdict ? "behaves as the syscall" : "MISBEHAVES", v->res);
	return !v->verdict;
}

/*
 * Do the opcodes behave?  Checked on a scratch file in a child process
 * (fh_check_opcodes_isolated): a wrong number never touches FILE.
 */
static int check_behaviour(void)
{
	struct fh_opcode_check c = {
		.encode_op = opts.encode_op,
		.open_op = opts.open_op,
		.check_encode = true,
		.check_open = true,
	};

	if (fh_check_opcodes_isolated(&c)) {
		fprintf(stderr, "fhandle-probe: cannot check the opcodes: %s: "
			"%s\n", c.failed, strerror(c.err));
		return 1;
	}
	return report_verdict("encode", opts.encode_op, &c.encode) |
	       report_verdict("open by handle", opts.open_op, &c.open);
}

/* With opcodes that behave: one encode and one open of path, shown. */
static int encode_and_open(struct io_uring *ring, const char *path)
{
	union fh_mount_id mount_id = { 0 };
	struct fh_handle_buf h;
	struct stat want, got;
	int mount_fd, fd, ret;

	fh_prep_name_to_handle(io_uring_get_sqe(ring), opts.encode_op,
			       AT_FDCWD, path, fh_handle_ready(&h), &mount_id,
			       AT_SYMLINK_FOLLOW);
	ret = fh_ring_run_one(ring);
	say("  encode %s through the ring: res=%d\n", path, ret);
	if (ret < 0)
		return 1;
	print_handle(&h.fh, mount_id.any);
	mount_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mount_fd < 0 || fstat(mount_fd, &want)) {
		fprintf(stderr, "fhandle-probe: open(%s): %s\n", path,
			strerror(errno));
		if (mount_fd >= 0)
			close(mount_fd);
		return 1;
	}
	fh_prep_open_by_handle(io_uring_get_sqe(ring), opts.open_op, mount_fd,
			       &h.fh, O_RDONLY | O_CLOEXEC);
	fd = fh_ring_run_one(ring);
	ret = fd >= 0 && !fstat(fd, &got) && got.st_ino == want.st_ino &&
	      got.st_dev == want.st_dev;
	say("  open it by that handle through the ring: res=%d, %s\n", fd,
	    ret ? "the same inode" : "NOT the file");
	if (fd >= 0)
		close(fd);
	close(mount_fd);
	return !ret;
}

static int make_temp_file(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/fhandle-probe.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "fhandle-probe: mkstemp(%s): %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char tmp[4096];
	struct io_uring ring;
	struct utsname u;
	const char *path;
	int ret;

	if (parse_args(argc, argv)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	uname(&u);
	say("kernel %s\n", u.release);
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "fhandle-probe: io_uring_queue_init: %s\n",
			strerror(-ret));
		return 1;
	}
	if (report_probe(&ring)) {
		say("this kernel lacks the opcodes: use fh_backend=sync, or "
		    "the patched kernel in the VM (make vm-run CMD=...)\n");
		io_uring_queue_exit(&ring);
		return EXIT_ABSENT;
	}
	if (check_behaviour()) {
		io_uring_queue_exit(&ring);
		say("verdict: the opcodes do not behave as proposed\n");
		return 1;
	}
	path = opts.file;
	if (!path) {
		if (make_temp_file(tmp, sizeof(tmp))) {
			io_uring_queue_exit(&ring);
			return 1;
		}
		path = tmp;
	}
	ret = encode_and_open(&ring, path);
	if (!opts.file)
		unlink(tmp);
	io_uring_queue_exit(&ring);
	say("%s\n", ret ? "verdict: the opcodes do not behave as proposed"
			: "verdict: both opcodes work");
	return ret;
}
