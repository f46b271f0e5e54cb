/**
 * The Linux TUN edge, public face: `TunDevice` (the real `Tun`), its options and errors, and the
 * ioctl-based interface configuration it uses.
 */
export {
  DEFAULT_NAME_PATTERN,
  MAX_PACKETS_PER_DRAIN,
  READ_SLACK_BYTES,
  TunDevice,
  type TunDeviceStats,
  type TunOpenOptions,
} from "./tun_device.ts";
export { IFNAME_MAX_BYTES, TunError, validateIfName } from "./tun_errors.ts";
export {
  MAX_MTU_BYTES,
  MIN_MTU_BYTES,
  parseIpv4,
  prefixToNetmask,
  setIpv4Address,
  setMtu,
  setUp,
} from "./netif_config.ts";
