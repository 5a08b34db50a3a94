/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
 * ext4 and btrfs.  crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Two implementations, picked once at load time:
 *  - x86_64 with SSE4.2: the crc32 instruction, three independent streams
 *    over 4 KiB lanes so the 3-cycle latency of the instruction is hidden,
 *    the lanes joined with precomputed "shift by 4 KiB of zeros" tables;
 *  - elsewhere: slice-by-8 tables.
 *
 * Convention: the state is inverted on entry and exit, so calls chain:
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, a || b, n + m).
 */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "img/img.h"

#define CRC32C_POLY 0x82F63B78u
#define LANE_BYTES 4096u

static uint32_t sw_table[8][256];
static uint32_t (*crc_impl)(uint32_t state, const uint8_t *p, size_t len);

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* Byte-wise and slice-by-8 table tables derived from the polynomial. */
static void sw_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
		sw_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			sw_table[k][i] = (sw_table[k - 1][i] >> 8) ^
					 sw_table[0][sw_table[k - 1][i] & 0xff];
}

/* Advances the raw (non-inverted) state over len bytes, 8 at a time. */
static uint32_t sw_update(uint32_t c, const uint8_t *p, size_t len)
{
	uint64_t v;

	while (len && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ sw_table[0][(c ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		v = load_le64(p) ^ c;
		c = sw_table[7][v & 0xff] ^ sw_table[6][(v >> 8) & 0xff] ^
		    sw_table[5][(v >> 16) & 0xff] ^ sw_table[4][(v >> 24) & 0xff] ^
		    sw_table[3][(v >> 32) & 0xff] ^ sw_table[2][(v >> 40) & 0xff] ^
		    sw_table[1][(v >> 48) & 0xff] ^ sw_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ sw_table[0][(c ^ *p++) & 0xff];
	return c;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~sw_update(~crc, buf, len);
}

#if defined(__x86_64__)

/* shift_table[k][b]: the raw state b << 8k advanced over LANE_BYTES zeros. */
static uint32_t shift_table[4][256];

__attribute__((target("sse4.2"))) static uint32_t hw_update_1(uint32_t c, const uint8_t *p,
							      size_t len)
{
	uint64_t c64 = c;

	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		c64 = __builtin_ia32_crc32di(c64, load_le64(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
	return (uint32_t)c64;
}

static inline uint32_t shift_lane(uint32_t c)
{
	return shift_table[0][c & 0xff] ^ shift_table[1][(c >> 8) & 0xff] ^
	       shift_table[2][(c >> 16) & 0xff] ^ shift_table[3][c >> 24];
}

/* Three interleaved streams over consecutive lanes, then joined. */
__attribute__((target("sse4.2"))) static uint32_t hw_update(uint32_t c, const uint8_t *p,
							    size_t len)
{
	uint64_t c0, c1, c2;
	size_t i;

	while (len >= 3 * LANE_BYTES) {
		c0 = c;
		c1 = 0;
		c2 = 0;
		for (i = 0; i < LANE_BYTES; i += 8) {
			c0 = __builtin_ia32_crc32di(c0, load_le64(p + i));
			c1 = __builtin_ia32_crc32di(c1, load_le64(p + LANE_BYTES + i));
			c2 = __builtin_ia32_crc32di(c2, load_le64(p + 2 * LANE_BYTES + i));
		}
		c = shift_lane(shift_lane((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * LANE_BYTES;
		len -= 3 * LANE_BYTES;
	}
	return hw_update_1(c, p, len);
}

/*
 * Shifting a crc over LANE_BYTES zero bytes is linear over GF(2), so the
 * table for each byte value is the XOR of the shifts of its single bits:
 * 32 shifts at start-up instead of 1024 (this runs in every vxcr process).
 */
static void hw_init(void)
{
	static const uint8_t zeros[LANE_BYTES];
	uint32_t bit[32];
	int k, b, j;

	for (j = 0; j < 32; j++)
		bit[j] = hw_update_1(1u << j, zeros, LANE_BYTES);
	for (k = 0; k < 4; k++) {
		for (b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (j = 0; j < 8; j++)
				if (b & (1 << j))
					v ^= bit[8 * k + j];
			shift_table[k][b] = v;
		}
	}
}

bool crc32c_hw_available(void)
{
	return __builtin_cpu_supports("sse4.2");
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return ~hw_update(~crc, buf, len);
}

#else

bool crc32c_hw_available(void)
{
	return false;
}

uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return crc32c_sw(crc, buf, len);
}

#endif

__attribute__((constructor)) static void crc32c_init(void)
{
	sw_init();
	crc_impl = sw_update;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		hw_init();
		crc_impl = hw_update;
	}
#endif
}

/* crc32c of buf continuing from crc (0 to start).  Never fails. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_impl(~crc, buf, len);
}
