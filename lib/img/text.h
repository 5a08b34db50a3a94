/*
 * Human- and machine-readable views of an image, for `vxcr img`.  Each
 * function reads the rest of the image from an open reader and prints to
 * out; it returns 0, or -errno with img_reader_error(r) describing the
 * first problem (reading, or a protobuf payload that does not parse).
 */
#ifndef VXCR_IMG_TEXT_H
#define VXCR_IMG_TEXT_H

#include <stdio.h>
#include <protobuf-c/protobuf-c.h>

#include "img/img.h"

/* Header, one line per record (index, type, length, fields), trailer, and
 * the size summary. */
int img_text_show(struct img_reader *r, FILE *out);
/* One JSON document: {"header":{..},"records":[..],"trailer":{..}}. */
int img_text_json(struct img_reader *r, FILE *out);
/* Reads and checks every record; prints "ok: N records, X bytes of pages". */
int img_text_verify(struct img_reader *r, FILE *out);
/* Bytes and records per record type. */
int img_text_size(struct img_reader *r, FILE *out);

/* A message as compact `field=value` text / as a JSON object, generically
 * from its descriptor. */
/* Bytes one value of protobuf-c type t takes in an unpacked message. */
size_t img_pb_value_size(ProtobufCType t);

void img_text_msg(FILE *out, const ProtobufCMessage *m);
void img_json_msg(FILE *out, const ProtobufCMessage *m);

#endif
