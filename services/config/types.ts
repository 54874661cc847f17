// The server's configuration once loaded and checked: the shape every service reads.

import type { Name } from '../../shared/dns/name.ts';

export type SerialPolicy = 'increment' | 'unixtime' | 'dateserial';

/** An address and port to listen on or send to. IPv6 addresses are written without brackets. */
export interface Endpoint {
  address: string;
  port: number;
}

export interface KeyConfig {
  /** Key name as an absolute DNS name, e.g. "ddns-key." */
  name: Name;
  algorithm: string;
  /** Base64 secret. */
  secret: string;
}

/**
 * One grant. It matches a request when every given condition holds: signed with `key`, sent
 * from inside `address` (a prefix such as 127.0.0.0/8 or ::1/128, or a single address). For
 * updates, `names` (absolute names; a leading "*." means any name strictly below) and `types`
 * (type numbers) narrow what the grant lets the requester change; absent means anything.
 */
export interface Grant {
  key?: Name;
  address?: string;
  names?: Name[];
  types?: number[];
}

/** Where a NOTIFY goes, and the key that signs it. */
export interface NotifyTarget extends Endpoint {
  key?: Name;
}

/** How IXFR is served (services/primary/transfer-out.ts). */
export interface IxfrPolicy {
  /** One difference sequence for the whole range, additions and removals cancelled out. */
  condensed: boolean;
  /** Past this share of the zone's records, an incremental answer is sent AXFR-style; null: never. */
  maxRatio: number | null;
  /** Served incrementally only this many changes back (null: all). */
  horizonChanges: number | null;
  /** ...and only changes this recent (ms; null: all). */
  horizonAgeMs: number | null;
  /** Peers that always get AXFR-style answers. */
  axfrOnly: Grant[];
}

/** A primary a secondary zone transfers from. */
export interface PrimaryConfig extends Endpoint {
  /** False for a primary that cannot serve IXFR. */
  requestIxfr: boolean;
}

/** SOA timer clamps for secondary zones (ms). */
export interface TimerClamps {
  minRefresh: number;
  maxRefresh: number;
  minRetry: number;
  maxRetry: number;
}

export interface ZoneConfig {
  /** Absolute, as written (case kept). */
  name: Name;
  /** Absolute path of the zone file (primary zones). */
  file?: string;
  /** Secondary zones: where to transfer from (empty for a primary zone). */
  primaries: PrimaryConfig[];
  /** Secondary zones: the key for SOA queries and transfers. */
  transferKey?: Name;
  /** Secondary zones: who may NOTIFY. */
  allowNotify: Grant[];
  timers: TimerClamps;
  serialPolicy: SerialPolicy;
  allowUpdate: Grant[];
  allowTransfer: Grant[];
  notify: NotifyTarget[];
  /** Also notify the zone's NS hosts with in-zone addresses. */
  notifyNs: boolean;
  /** Wait this long after a change before notifying (ms). */
  notifyDelayMs: number;
  ixfr: IxfrPolicy;
}

export interface ServerConfig {
  /** Absolute path of the file this came from, for messages. */
  source: string;
  listen: Endpoint[];
  http: Endpoint | null;
  /** sqlite:ABSOLUTE_PATH or postgres://... */
  store: string;
  keys: KeyConfig[];
  zones: ZoneConfig[];
  /** Extra threads answering UDP queries beside the main one (0: the main thread only). */
  queryThreads: number;
  /** UDP through the batched addon (recvmmsg/sendmmsg), node:dgram, or whichever is there. */
  udpIo: 'auto' | 'batched' | 'dgram';
  /** Idle TCP connections are closed after this long (RFC 7766 §6.2.3). */
  tcpIdleTimeoutMs: number;
  /** Most updates decided and made durable together in one group commit. */
  maxBatch: number;
  /** Snapshot a zone once it is this many versions past its last snapshot... */
  snapshotEvery: number;
  /** ...and at least this long after it. */
  snapshotMinIntervalMs: number;
  /** Or, for a zone with any change since, once this long has passed (ms; 0 never). */
  snapshotIntervalMs: number;
  /** How often to read other writers' events from a shared store (ms). */
  pollMs: number;
  logLevel: string;
  /** Most secondary checks and transfers at once. */
  transfersIn: number;
  /** Absolute path of the file holding the zones added at run time. */
  runtimeZones: string;
}
