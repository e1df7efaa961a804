// SPDX-License-Identifier: GPL-2.0
/*
 * fhandle-probe: the first thing to run.  Says whether the running kernel
 * has the two proposed io_uring file-handle opcodes and whether they
 * behave, then does one encode and one open through the ring.
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
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || *end || end == arg || v > 255) {
		fprintf(stderr, "fhandle-probe: bad opcode '%s' (0..255)\n",
			arg);
		return -1;
	}
	*op = v;
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

static void print_handle(const struct file_handle *fh, int mount_id)
{
	unsigned int i;

	say("    handle type %d, %u bytes, mount id %d: ", fh->handle_type,
	    fh->handle_bytes, mount_id);
	for (i = 0; i < fh->handle_bytes; i++)
		say("%02x", fh->f_handle[i]);
	say("\n");
}

/* One encode and one open through the ring, checked by the syscalls. */
static int encode_and_open(struct io_uring *ring, const char *path)
{
	struct fh_handle_buf h;
	int mount_id, mount_fd, res = 0, verdict;

	verdict = fh_opcode_encodes(ring, opts.encode_op, path, 0, &res);
	if (verdict < 0) {
		fprintf(stderr, "fhandle-probe: name_to_handle_at(%s): %s\n",
			path, strerror(-verdict));
		return 1;
	}
	say("  encode %s through the ring: res=%d, %s\n", path, res,
	    verdict ? "the same handle as name_to_handle_at(2)"
		    : "NOT what name_to_handle_at(2) gives: misbehaves");
	if (!verdict)
		return 1;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return 1;
	print_handle(&h.fh, mount_id);
	mount_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mount_fd < 0) {
		fprintf(stderr, "fhandle-probe: open(%s): %s\n", path,
			strerror(errno));
		return 1;
	}
	verdict = fh_opcode_opens(ring, opts.open_op, mount_fd, &h.fh, path,
				  &res);
	close(mount_fd);
	if (res == -EPERM)
		say("  open by handle through the ring: -EPERM: it needs "
		    "CAP_DAC_READ_SEARCH (run as root)\n");
	else
		say("  open by handle through the ring: res=%d, %s\n", res,
		    verdict ? "the same inode as the file"
			    : "NOT the file: misbehaves");
	return verdict == 1 ? 0 : 1;
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
