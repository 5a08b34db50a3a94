/*
 * What the libFuzzer harnesses of tests/fuzz/lf/ share (see NOTES,
 * "Fuzzing"): each fuzz-NAME.c defines fuzz_NAME(), the body of one
 * harness; fuzz.c, compiled with -DFUZZ_ENTRY=fuzz_NAME, makes it a
 * libFuzzer binary (entry points, logging switch, the two mutation modes);
 * input.c puts an input into a memfd.  tests/unit/test_fuzz_regress.c
 * links the fuzz_NAME() functions without libFuzzer and replays
 * tests/fuzz/regress/ through all of them.
 *
 * Mutation modes of the libFuzzer binaries:
 *
 *   repair (default)  LLVMFuzzerCustomMutator decodes the image (codec.c),
 *                     mutates one record payload, the header or the record
 *                     list with libFuzzer's own mutator, or one protobuf
 *                     field with mutate-image's hostile values
 *                     (structured.c), and frames it again with correct
 *                     crcs, trailer and zstd frames;
 *   raw               VXCR_FUZZ_MODE=raw: libFuzzer's byte mutations of the
 *                     whole file, so the framing and checksum checks are
 *                     what gets exercised.
 *
 * Inputs saved by either mode replay with any binary: the mode only decides
 * how new inputs are made.  VXCR_FUZZ_LOG=1 shows the library's messages.
 */
#ifndef VXCR_FUZZ_LF_H
#define VXCR_FUZZ_LF_H

#include <stddef.h>
#include <stdint.h>

/* The harnesses: run one input, return 0 (libFuzzer's convention); a
 * property that does not hold aborts. */
int fuzz_reader(const uint8_t *data, size_t size);
int fuzz_img_text(const uint8_t *data, size_t size);
int fuzz_plan(const uint8_t *data, size_t size);
/* A memfd holding data, at offset 0; owned by input.c, valid until the next
 * call.  -1 if it cannot be made (the input is then skipped). */
int fuzz_input_fd(const uint8_t *data, size_t size);

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

#endif
