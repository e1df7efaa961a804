// SPDX-License-Identifier: GPL-2.0
/*
 * Every sqe field an opcode does not use must be zero, so that it can be
 * given a meaning later: each one set (to 1 and to all ones), with every
 * other field valid, fails with -EINVAL at prep, for both opcodes; the same
 * sqe with the field zero succeeds.  Encode uses fd, addr, addr2, addr3 and
 * open_flags; open uses fd, addr, open_flags and file_index.
 */
#include "ktest.h"
#include <stddef.h>

#define FIELD(op, f) { op, #f, offsetof(struct io_uring_sqe, f), \
		       sizeof(((struct io_uring_sqe *)0)->f) }

static const struct field {
	int op;
	const char *name;
	size_t off, size;
} unused[] = {
	FIELD(KT_OP_ENCODE, ioprio),
	FIELD(KT_OP_ENCODE, len),
	FIELD(KT_OP_ENCODE, buf_index),
	FIELD(KT_OP_ENCODE, file_index),
	FIELD(KT_OP_ENCODE, splice_fd_in),
	FIELD(KT_OP_ENCODE, __pad2[0]),
	FIELD(KT_OP_OPEN, ioprio),
	FIELD(KT_OP_OPEN, off),		/* = addr2 */
	FIELD(KT_OP_OPEN, len),
	FIELD(KT_OP_OPEN, buf_index),
	FIELD(KT_OP_OPEN, addr3),
	FIELD(KT_OP_OPEN, __pad2[0]),
};

static struct io_uring ring;
static struct file_handle *fh, *out;
static const char *file;
static int mnt;

static struct io_uring_sqe *prep(int op)
{
	out->handle_bytes = KT_MAX_HANDLE_SZ;
	if (op == KT_OP_ENCODE)
		return kt_prep_encode(&ring, AT_FDCWD, file, out, &mnt, 0, 0);
	return kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
}

/* The result of op with field f set to bytes of value byte (0: unset). */
static int run_with(const struct field *f, int byte, int low_one)
{
	struct io_uring_sqe *sqe = prep(f->op);
	int res;

	memset((char *)sqe + f->off, byte, f->size);
	if (low_one)
		*((unsigned char *)sqe + f->off) = 1;	/* little endian */
	res = kt_run(&ring);
	if (res >= 0 && f->op == KT_OP_OPEN)
		close(res);
	return res;
}

int main(int argc, char **argv)
{
	char check[96];
	unsigned int i;
	int res;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "fields\n");
	out = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);

	for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
		const struct field *f = &unused[i];
		const char *op = f->op == KT_OP_ENCODE ? "encode" : "open";

		res = run_with(f, 0, 0);
		snprintf(check, sizeof(check), "%s with sqe->%s zero", op,
			 f->name);
		if (res < 0)
			kt_fail("%s (control): %s", check, kt_res_str(res));
		snprintf(check, sizeof(check), "%s with sqe->%s = 1", op,
			 f->name);
		kt_expect_res(check, run_with(f, 0, 1), -EINVAL);
		snprintf(check, sizeof(check), "%s with sqe->%s all ones", op,
			 f->name);
		kt_expect_res(check, run_with(f, 0xff, 0), -EINVAL);
	}

	free(fh);
	free(out);
	io_uring_queue_exit(&ring);
	kt_pass();
}
