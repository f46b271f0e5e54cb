/**
 * A small, bounded reader of classic pcap files (as `tcpdump -w` writes them), returning the IPv4
 * UDP datagrams inside. Used to replay genuine encrypted datagrams at an agent.
 *
 * File layout (all fields in the writer's byte order, told by the magic):
 *
 *   global header (24 bytes)
 *   +-------------+-------+-------+---------+---------+---------+----------+
 *   | magic (4)   | major | minor | zone(4) | sigfigs | snaplen | linktype |
 *   |             |  (2)  |  (2)  |         |   (4)   |   (4)   |   (4)    |
 *   +-------------+-------+-------+---------+---------+---------+----------+
 *   then per record:
 *   +---------+----------+-----------+----------+------------------------+
 *   | sec (4) | frac (4) | incl (4)  | orig (4) | incl bytes of link data |
 *   +---------+----------+-----------+----------+------------------------+
 *
 * Link types understood: 1 Ethernet (with 802.1Q tags), 113 Linux cooked v1, 276 Linux cooked v2,
 * 101 / 228 raw IPv4. Other frames, non-IPv4, non-UDP and IP fragments are skipped.
 */

/** A malformed pcap file. */
export class PcapError extends Error {
  override name = "PcapError";
}

/** One UDP datagram found in a capture. */
export interface CapturedDatagram {
  /** Source IPv4 address, dotted. */
  src: string;
  /** Destination IPv4 address, dotted. */
  dst: string;
  srcPort: number;
  dstPort: number;
  /** The UDP payload (a copy). */
  payload: Uint8Array;
}

/** The most records read from one file. */
export const MAX_PCAP_RECORDS = 1_000_000;
/** The largest record accepted, in bytes. */
export const MAX_PCAP_RECORD_BYTES = 262_144;

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_IPV4 = 228;
const LINKTYPE_LINUX_SLL2 = 276;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const IPPROTO_UDP = 17;

/** Parses a pcap file and returns its IPv4 UDP datagrams in capture order. */
export function parsePcapUdp(file: Uint8Array): CapturedDatagram[] {
  if (file.length < 24) throw new PcapError("Pcap file shorter than its header");
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicBE = view.getUint32(0, false);
  let little: boolean;
  if (magicBE === 0xa1b2c3d4 || magicBE === 0xa1b23c4d) little = false;
  else if (magicBE === 0xd4c3b2a1 || magicBE === 0x4d3cb2a1) little = true;
  else throw new PcapError(`Not a pcap file (magic 0x${magicBE.toString(16)})`);
  const linktype = view.getUint32(20, little) & 0x0fffffff;
  const out: CapturedDatagram[] = [];
  let off = 24;
  let records = 0;
  while (off < file.length) {
    if (off + 16 > file.length) throw new PcapError(`Truncated record header at ${off}`);
    const incl = view.getUint32(off + 8, little);
    if (incl > MAX_PCAP_RECORD_BYTES) throw new PcapError(`Record of ${incl} bytes at ${off}`);
    if (off + 16 + incl > file.length) throw new PcapError(`Truncated record at ${off}`);
    if (++records > MAX_PCAP_RECORDS) throw new PcapError("Too many records");
    const frame = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ip = ipv4Of(frame, linktype);
    if (ip === undefined) continue;
    const d = udpOf(ip);
    if (d !== undefined) out.push(d);
  }
  return out;
}

/** The IPv4 packet inside a link-layer frame, or undefined. */
function ipv4Of(frame: Uint8Array, linktype: number): Uint8Array | undefined {
  const u16 = (i: number) => (frame[i]! << 8) | frame[i + 1]!;
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      let at = 12;
      if (frame.length < at + 2) return undefined;
      let type = u16(at);
      while (type === ETHERTYPE_VLAN) {
        at += 4;
        if (frame.length < at + 2) return undefined;
        type = u16(at);
      }
      return type === ETHERTYPE_IPV4 ? frame.subarray(at + 2) : undefined;
    }
    case LINKTYPE_LINUX_SLL:
      if (frame.length < 16) return undefined;
      return u16(14) === ETHERTYPE_IPV4 ? frame.subarray(16) : undefined;
    case LINKTYPE_LINUX_SLL2:
      if (frame.length < 20) return undefined;
      return u16(0) === ETHERTYPE_IPV4 ? frame.subarray(20) : undefined;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return frame;
    default:
      return undefined;
  }
}

/** The UDP datagram in an IPv4 packet, or undefined (not UDP, fragment, truncated). */
function udpOf(ip: Uint8Array): CapturedDatagram | undefined {
  if (ip.length < 20 || ip[0]! >> 4 !== 4) return undefined;
  const ihl = (ip[0]! & 0x0f) * 4;
  const totalLen = (ip[2]! << 8) | ip[3]!;
  const fragment = ((ip[6]! & 0x3f) << 8) | ip[7]!; // MF flag + offset
  if (ihl < 20 || totalLen < ihl + 8 || totalLen > ip.length) return undefined;
  if (ip[9] !== IPPROTO_UDP || fragment !== 0) return undefined;
  const udp = ip.subarray(ihl, totalLen);
  const udpLen = (udp[4]! << 8) | udp[5]!;
  if (udpLen < 8 || udpLen > udp.length) return undefined;
  return {
    src: ip.subarray(12, 16).join("."),
    dst: ip.subarray(16, 20).join("."),
    srcPort: (udp[0]! << 8) | udp[1]!,
    dstPort: (udp[2]! << 8) | udp[3]!,
    payload: udp.slice(8, udpLen),
  };
}
