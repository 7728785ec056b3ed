"""Reads TensorBoard event files on its own, as the export's oracle.

usage: read_tfevents.py DIR

Finds every events.out.tfevents.* file under DIR, checks the TFRecord framing
(both masked CRC-32Cs of every record, computed here, not by flopwise) and
decodes each record as a tensorflow.Event with a descriptor built below from
the public field numbers of Event and Summary. Prints one JSON object per
scalar: {"run": folder relative to DIR, "step", "tag", "value", "wall_time"}
("nan" or "inf" as a string for a value that is not finite).
Exits 1 naming the file and the offset of the first bad record.
"""
import json
import math
import os
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

try:
    import crc32c as _crc32c_module  # Debian's python3-crc32c

    def crc32c(data):
        return _crc32c_module.crc32c(data)
except ImportError:
    def crc32c(data):
        """Bitwise CRC-32C (reflected polynomial 0x82F63B78), no table."""
        crc = 0xFFFFFFFF
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    """tensorflow.Event with only wall_time, step, file_version and summary."""
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="oracle_event.proto", package="oracle", syntax="proto3")
    summary = proto.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.field.add(name="tag", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=F.TYPE_FLOAT,
                    label=F.LABEL_OPTIONAL, oneof_index=0)
    value.oneof_decl.add(name="value")
    summary.field.add(name="value", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=".oracle.Summary.Value")
    event = proto.message_type.add(name="Event")
    event.field.add(name="wall_time", number=1, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=F.TYPE_STRING,
                    label=F.LABEL_OPTIONAL, oneof_index=0)
    event.field.add(name="summary", number=5, type=F.TYPE_MESSAGE,
                    label=F.LABEL_OPTIONAL, oneof_index=0, type_name=".oracle.Summary")
    event.oneof_decl.add(name="what")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.MessageFactory(pool).GetPrototype(
        pool.FindMessageTypeByName("oracle.Event"))


def records(path):
    """Each record's data; raises ValueError at a bad one."""
    data = open(path, "rb").read()
    offset = 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise ValueError(f"{path}: truncated header at offset {offset}")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if masked(crc32c(header)) != length_crc:
            raise ValueError(f"{path}: length CRC mismatch at offset {offset}")
        start = offset + 12
        if start + length + 4 > len(data):
            raise ValueError(f"{path}: truncated record at offset {offset}")
        body = data[start:start + length]
        (body_crc,) = struct.unpack("<I", data[start + length:start + length + 4])
        if masked(crc32c(body)) != body_crc:
            raise ValueError(f"{path}: data CRC mismatch at offset {offset}")
        yield body
        offset = start + length + 4


def main(root):
    if crc32c(b"123456789") != 0xE3069283:
        raise SystemExit("read_tfevents: the CRC-32C check value is wrong")
    Event = event_class()
    files = 0
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            if not name.startswith("events.out.tfevents."):
                continue
            files += 1
            path = os.path.join(folder, name)
            run = os.path.relpath(folder, root)
            try:
                for index, body in enumerate(records(path)):
                    event = Event.FromString(body)
                    if index == 0:
                        if event.file_version != "brain.Event:2":
                            raise ValueError(f"{path}: first record is not brain.Event:2")
                        continue
                    if event.WhichOneof("what") != "summary":
                        raise ValueError(f"{path}: record {index} holds no summary")
                    for value in event.summary.value:
                        number = value.simple_value
                        print(json.dumps({"run": run, "step": event.step, "tag": value.tag,
                                          "value": number if math.isfinite(number) else str(number),
                                          "wall_time": event.wall_time}))
            except ValueError as error:
                print(f"read_tfevents: {error}", file=sys.stderr)
                return 1
    if files == 0:
        print(f"read_tfevents: no event files under {root}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
