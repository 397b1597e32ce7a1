#!/usr/bin/env python3
"""vlan-relay.py TRUNK ACCESS VID: a switch's access port for the VM
tests (the host's kernel has neither 8021q nor bridge VLAN filtering).
Frames tagged VID that arrive on TRUNK leave ACCESS untagged; frames
from ACCESS leave TRUNK tagged VID; untagged frames and other VLANs on
TRUNK are dropped. Raw AF_PACKET sockets; the kernel hands a received
tag over as auxiliary data (PACKET_AUXDATA) rather than in the frame."""
import select
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_CSUMNOTREADY = 1 << 3
TP_STATUS_VLAN_VALID = 1 << 4
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((ifname, 0))
    return s


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def fix_l4(frame):
    """The TCP or UDP checksum filled in: a frame the peer's kernel sent
    on a veth carries a partial one (checksum offload), which the
    receiving guest would drop."""
    kind = frame[12:14]
    if kind == b"\x08\x00":
        ihl = (frame[14] & 0xF) * 4
        proto, l4 = frame[23], 14 + ihl
        total = struct.unpack("!H", frame[16:18])[0]
        seg = frame[l4:14 + total]
        pseudo = frame[26:34] + struct.pack("!BBH", 0, proto, len(seg))
    elif kind == b"\x86\xdd":
        proto, l4 = frame[20], 54
        seg = frame[l4:54 + struct.unpack("!H", frame[18:20])[0]]
        pseudo = frame[22:54] + struct.pack("!IxxxB", len(seg), proto)
    else:
        return frame
    off = {6: 16, 17: 6}.get(proto)
    if off is None or len(seg) < off + 2:
        return frame
    seg = seg[:off] + b"\0\0" + seg[off + 2:]
    c = csum(pseudo + seg) or (0xFFFF if proto == 17 else 0)
    return frame[:l4] + seg[:off] + struct.pack("!H", c) + seg[off + 2:]


def recv(s):
    """(frame, vid or None), or None for a frame this host sent."""
    data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(32))
    if addr[2] == PACKET_OUTGOING:
        return None
    for level, kind, blob in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(blob) >= 20:
            status, _, _, _, _, tci, _ = struct.unpack("=IIIHHHH", blob[:20])
            if status & TP_STATUS_CSUMNOTREADY:
                data = fix_l4(data)
            if status & TP_STATUS_VLAN_VALID:
                return data, tci & 0xFFF
    if len(data) >= 18 and data[12:14] == b"\x81\x00":
        tci = struct.unpack("!H", data[14:16])[0]
        return data[:12] + data[16:], tci & 0xFFF
    return data, None


def main():
    trunk_name, access_name, vid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    trunk, access = open_raw(trunk_name), open_raw(access_name)
    tag = struct.pack("!HH", 0x8100, vid)
    print("relaying %s (VLAN %d) <-> %s" % (trunk_name, vid, access_name), flush=True)
    while True:
        ready, _, _ = select.select([trunk, access], [], [])
        for s in ready:
            got = recv(s)
            if got is None:
                continue
            frame, fvid = got
            try:
                if s is trunk and fvid == vid:
                    access.send(frame)
                elif s is access and fvid is None:
                    trunk.send(frame[:12] + tag + frame[12:])
            except OSError:
                pass


if __name__ == "__main__":
    main()
