/**
 * The IPVS generic netlink family, as include/uapi/linux/ip_vs.h defines it
 * (Linux 6.1). Group names follow the header's enums.
 */

/** IPVS_GENL_NAME, IPVS_GENL_VERSION */
export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

/** enum IPVS_CMD_* */
export const Cmd = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

/** enum IPVS_CMD_ATTR_*: the first level of every command. */
export const CmdAttr = {
  SERVICE: 1,
  DEST: 2,
  DAEMON: 3,
  TIMEOUT_TCP: 4,
  TIMEOUT_TCP_FIN: 5,
  TIMEOUT_UDP: 6,
} as const;

/** enum IPVS_SVC_ATTR_*: inside IPVS_CMD_ATTR_SERVICE. */
export const SvcAttr = {
  AF: 1, // u16
  PROTOCOL: 2, // u16
  ADDR: 3, // union nf_inet_addr, 16 bytes
  PORT: 4, // be16
  FWMARK: 5, // u32
  SCHED_NAME: 6, // string
  FLAGS: 7, // struct ip_vs_flags { u32 flags; u32 mask; }
  TIMEOUT: 8, // u32 seconds
  NETMASK: 9, // be32 for IPv4, prefix length (u32) for IPv6
  STATS: 10, // nested, 32-bit counters
  PE_NAME: 11, // string
  STATS64: 12, // nested, 64-bit counters
} as const;

/** enum IPVS_DEST_ATTR_*: inside IPVS_CMD_ATTR_DEST. */
export const DestAttr = {
  ADDR: 1, // 16 bytes
  PORT: 2, // be16
  FWD_METHOD: 3, // u32, IP_VS_CONN_F_* & FWD_MASK
  WEIGHT: 4, // u32 (int in the kernel)
  U_THRESH: 5, // u32
  L_THRESH: 6, // u32
  ACTIVE_CONNS: 7, // u32
  INACT_CONNS: 8, // u32
  PERSIST_CONNS: 9, // u32
  STATS: 10,
  ADDR_FAMILY: 11, // u16
  STATS64: 12,
  TUN_TYPE: 13, // u8
  TUN_PORT: 14, // be16
  TUN_FLAGS: 15, // u16
} as const;

/** enum IPVS_DAEMON_ATTR_*: inside IPVS_CMD_ATTR_DAEMON. */
export const DaemonAttr = {
  STATE: 1, // u32
  MCAST_IFN: 2, // string
  SYNC_ID: 3, // u32
  SYNC_MAXLEN: 4, // u16
  MCAST_GROUP: 5, // in_addr (4 bytes, network order)
  MCAST_GROUP6: 6, // in6_addr
  MCAST_PORT: 7, // u16, host order (unlike service ports)
  MCAST_TTL: 8, // u8
} as const;

/** enum IPVS_STATS_ATTR_*: inside the STATS / STATS64 nests. */
export const StatsAttr = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;

/** enum IPVS_INFO_ATTR_* in the GET_INFO reply. */
export const InfoAttr = {
  VERSION: 1,
  CONN_TAB_SIZE: 2,
} as const;

/** Virtual service flags, IP_VS_SVC_F_*. */
export const SvcFlag = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;

/** Forwarding methods, IP_VS_CONN_F_* within IP_VS_CONN_F_FWD_MASK. */
export const ConnFlag = {
  FWD_MASK: 0x0007,
  MASQ: 0x0000,
  LOCALNODE: 0x0001,
  TUNNEL: 0x0002,
  DROUTE: 0x0003,
  BYPASS: 0x0004,
} as const;

/** IP_VS_CONN_F_TUNNEL_TYPE_* */
export const TunnelType = { IPIP: 0, GUE: 1, GRE: 2 } as const;

/** IP_VS_TUNNEL_ENCAP_FLAG_* */
export const TunnelFlag = { NOCSUM: 0, CSUM: 1, REMCSUM: 2 } as const;

/** IP_VS_STATE_* */
export const DaemonState = { NONE: 0, MASTER: 1, BACKUP: 2 } as const;

/** IP_VS_SCHEDNAME_MAXLEN, IP_VS_PENAME_MAXLEN, IP_VS_IFNAME_MAXLEN (with the NUL). */
export const SCHEDNAME_MAXLEN = 16;
export const PENAME_MAXLEN = 16;
export const IFNAME_MAXLEN = 16;

/** Address families and IP protocol numbers (linux/socket.h, netinet/in.h). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
