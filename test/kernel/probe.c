// SPDX-License-Identifier: GPL-2.0
/*
 * IORING_REGISTER_PROBE: opcodes 63 and 64 (and nothing past them) are
 * supported; the placeholders between the base kernel's last opcode and 63
 * (49..62 on 6.1, 58..62 on 6.12) are reported unsupported, and each one,
 * submitted, fails with -EINVAL, as does the first opcode past 64.
 */
#include "ktest.h"

#define KT_OP_LAST_RESERVED	(KT_OP_ENCODE - 1)

/* The base kernel's IORING_OP_LAST, where known. */
static int first_reserved_of(void)
{
	if (kt_kernel_at_least(6, 12) && !kt_kernel_at_least(6, 13))
		return 58;	/* IORING_OP_LISTEN is 57 */
	if (kt_kernel_at_least(6, 1) && !kt_kernel_at_least(6, 2))
		return 49;	/* IORING_OP_SENDMSG_ZC is 48 */
	return -1;
}

/* Submit opcode op with every other field zero: its result. */
static int submit_op(struct io_uring *ring, int op)
{
	struct io_uring_sqe *sqe = kt_sqe(ring);

	io_uring_prep_nop(sqe);
	sqe->opcode = op;
	return kt_run(ring);
}

int main(int argc, char **argv)
{
	struct io_uring_probe *p;
	struct io_uring ring;
	int op, first, want;
	char check[64];

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	p = io_uring_get_probe_ring(&ring);
	if (!p)
		kt_fail("io_uring_get_probe_ring failed after kt_require");
	for (first = KT_OP_LAST_RESERVED + 1; first > 0; first--)
		if (io_uring_opcode_supported(p, first - 1))
			break;
	want = first_reserved_of();
	if (first > KT_OP_LAST_RESERVED)
		kt_fail("probe: opcode %d, the last placeholder, reported "
			"supported", KT_OP_LAST_RESERVED);
	if (want > 0 && first != want)
		kt_fail("probe: placeholders reported from %d to %d; on %s "
			"they are %d to %d", first, KT_OP_LAST_RESERVED,
			kt_release(), want, KT_OP_LAST_RESERVED);
	if (want < 0 && first < 49)
		kt_fail("probe: opcodes %d to %d reported unsupported",
			first, KT_OP_LAST_RESERVED);
	if (!io_uring_opcode_supported(p, KT_OP_ENCODE) ||
	    !io_uring_opcode_supported(p, KT_OP_OPEN))
		kt_fail("probe: opcode %d/%d not supported on second probe",
			KT_OP_ENCODE, KT_OP_OPEN);
	if (p->last_op < KT_OP_OPEN)
		kt_fail("probe: last_op %u < %d", p->last_op, KT_OP_OPEN);
	if (io_uring_opcode_supported(p, KT_OP_OPEN + 1))
		kt_fail("probe: opcode %d past the new ones reported supported",
			KT_OP_OPEN + 1);
	io_uring_free_probe(p);

	for (op = first; op <= KT_OP_LAST_RESERVED; op++) {
		snprintf(check, sizeof(check), "placeholder opcode %d", op);
		kt_expect_res(check, submit_op(&ring, op), -EINVAL);
	}
	kt_expect_res("opcode 65", submit_op(&ring, KT_OP_OPEN + 1), -EINVAL);
	printf("placeholders %d..%d: -EINVAL\n", first, KT_OP_LAST_RESERVED);
	io_uring_queue_exit(&ring);
	kt_pass();
}
