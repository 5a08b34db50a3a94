/*
 * libFuzzer harness: `vxcr img show / json / verify / size` (lib/img/text.c)
 * on the input, each with a fresh reader as the command runs it.  Besides
 * the sanitizers, two properties of the output are checked: `img json` of
 * an image it accepts is one valid JSON document (strings valid UTF-8, no
 * raw control characters), and `img show` prints no control character but
 * newlines, whatever bytes the image holds.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "img/img.h"
#include "img/text.h"
#include "lf/fuzz.h"

#define JSON_MAX_DEPTH	64

struct json {
	const unsigned char *p, *end;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
		j->p++;
}

static bool json_lit(struct json *j, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
		return false;
	j->p += n;
	return true;
}

/* One UTF-8 sequence at j->p (well-formed, shortest form, no surrogates). */
static bool json_utf8(struct json *j)
{
	unsigned char c = *j->p;
	int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
	uint32_t cp = c & (0x3f >> n);

	if (c < 0xc2 || c > 0xf4 || j->end - j->p <= n)
		return false;
	for (int i = 1; i <= n; i++) {
		if ((j->p[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (j->p[i] & 0x3f);
	}
	j->p += n + 1;
	return cp >= (n == 1 ? 0x80u : n == 2 ? 0x800u : 0x10000u) &&
	       (cp < 0xd800 || cp > 0xdfff) && cp <= 0x10ffff;
}

static bool json_string(struct json *j)
{
	if (!json_lit(j, "\""))
		return false;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20)
			return false;
		if (*j->p >= 0x80) {
			if (!json_utf8(j))
				return false;
		} else if (*j->p++ == '\\') {
			if (j->p >= j->end || !strchr("\"\\/bfnrtu", *j->p) || !*j->p)
				return false;
			if (*j->p++ == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p))
						return false;
			}
		}
	}
	return json_lit(j, "\"");
}

static bool json_number(struct json *j)
{
	const unsigned char *s = j->p;

	json_lit(j, "-");
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	while (j->p < j->end && strchr("0123456789.eE+-", *j->p) && *j->p)
		j->p++;
	return j->p > s;
}

/* An object (close '}') or array (close ']') after its opening bracket. */
static bool json_members(struct json *j, bool object)
{
	json_ws(j);
	if (json_lit(j, object ? "}" : "]"))
		return true;
	do {
		json_ws(j);
		if (object && (!json_string(j) || (json_ws(j), !json_lit(j, ":"))))
			return false;
		if (!json_value(j))
			return false;
		json_ws(j);
	} while (json_lit(j, ","));
	return json_lit(j, object ? "}" : "]");
}

static bool json_value(struct json *j)
{
	bool ok;

	json_ws(j);
	if (j->p >= j->end || j->depth > JSON_MAX_DEPTH)
		return false;
	if (*j->p == '{' || *j->p == '[') {
		j->depth++;
		ok = json_members(j, *j->p++ == '{');
		j->depth--;
		return ok;
	}
	if (*j->p == '"')
		return json_string(j);
	return json_lit(j, "true") || json_lit(j, "false") || json_lit(j, "null") ||
	       json_number(j);
}

/* Runs one `img` subcommand on the input; its output in *out (malloc'd). */
static int run(int (*fn)(struct img_reader *, FILE *), const uint8_t *data, size_t size,
	       char **out, size_t *len)
{
	struct img_reader *r;
	FILE *f;
	int fd = fuzz_input_fd(data, size), ret;

	*out = NULL;
	*len = 0;
	if (fd < 0 || img_reader_open(fd, &r))
		return -1;
	f = open_memstream(out, len);
	if (!f) {
		img_reader_free(r);
		return -1;
	}
	ret = fn(r, f);
	fclose(f);
	img_reader_free(r);
	return ret;
}

static void check_json(const char *s, size_t len)
{
	struct json j = { (const unsigned char *)s, (const unsigned char *)s + len, 0 };

	if (json_value(&j) && (json_ws(&j), j.p == j.end))
		return;
	fprintf(stderr, "img json: invalid JSON at byte %zu of %zu\n",
		(size_t)(j.p - (const unsigned char *)s), len);
	abort();
}

static void check_text(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c < 0x20 && c != '\n') || c == 0x7f) {
			fprintf(stderr, "img show: control byte %#x at %zu\n", c, i);
			abort();
		}
	}
}

int fuzz_img_text(const uint8_t *data, size_t size)
{
	char *out;
	size_t len;

	if (!run(img_text_show, data, size, &out, &len))
		check_text(out, len);
	free(out);
	if (!run(img_text_json, data, size, &out, &len))
		check_json(out, len);
	free(out);
	run(img_text_verify, data, size, &out, &len);
	free(out);
	run(img_text_size, data, size, &out, &len);
	free(out);
	return 0;
}
