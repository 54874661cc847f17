// Zone-file reload: the difference between the stored zone and the file becomes one `reload` event.

import { nameKey } from '../../shared/dns/name.ts';
import { compareSerial, serialNext } from '../../shared/dns/serial.ts';
import { zoneChanged, zoneCreated } from '../../shared/events/codec.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';
import { diff } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial, withSerial, type Zone } from '../../shared/zone/zone.ts';

export type ReloadDecision =
  | { kind: 'create'; event: NewEvent; serial: number }
  | { kind: 'change'; event: NewEvent; serialFrom: number; serialTo: number; removed: number; added: number; bumped: boolean }
  | { kind: 'unchanged'; serial: number }
  | { kind: 'refused'; reason: string };

export interface ReloadContext {
  /**
   * The serial the file carried at the last reload that zonelog stored under a raised serial
   * (the `fileSerial` of that event), if the zone's latest event is such a reload.
   */
  lastFileSerial?: number;
}

/**
 * Decides what loading `file` over `current` means. Pure: the caller appends the event.
 *
 * Data is compared without the SOA serial. When the data changed but the file's serial did not
 * move forward, the serial is raised by one (and the file's serial recorded), as Knot's
 * `zonefile-load: difference-no-serial` does, because secondaries would otherwise never see
 * the change. That applies to a file at the stored serial, or still at the serial of the last
 * raised reload. A file behind the zone any other way is most likely an old copy and is
 * refused, so that it cannot silently undo later changes.
 */
export function decideReload(current: Zone | null, file: Zone, actor: Actor, ctx: ReloadContext = {}, now = new Date()): ReloadDecision {
  const fileSoa = soaOf(file);
  if (!fileSoa) return { kind: 'refused', reason: `zone ${file.origin} has no SOA` };
  const fileSerial = soaSerial(fileSoa.rdata);
  if (current === null) return { kind: 'create', event: zoneCreated(file, 'import', actor, now), serial: fileSerial };
  if (nameKey(current.origin) !== nameKey(file.origin)) return { kind: 'refused', reason: `the file is for ${file.origin}, not ${current.origin}` };
  const curSerial = soaSerial(soaOf(current)!.rdata);
  const change = diff(current, file);
  const order = compareSerial(fileSerial, curSerial);
  const soaSameButSerial = change.soaFrom !== null && change.soaFrom.ttl === change.soaTo.ttl &&
    Buffer.compare(withSerial(change.soaTo.rdata, curSerial), change.soaFrom.rdata) === 0;
  const dataSame = change.removed.length === 0 && change.added.length === 0 && soaSameButSerial;
  // Only a serial raised in the file (an operator forcing a transfer) is a change without data.
  if (dataSame && order !== 'gt') return { kind: 'unchanged', serial: curSerial };

  let bumped = false;
  let stored = change;
  if (order !== 'gt') {
    const sameFile = order === 'eq' || ctx.lastFileSerial === fileSerial;
    if (!sameFile) {
      const how = order === 'lt' ? 'behind' : 'incomparable with (2^31 away from)';
      return { kind: 'refused', reason: `the file's serial ${fileSerial} is ${how} the stored serial ${curSerial}; it looks like an older copy. Raise its serial above ${curSerial} to load it.` };
    }
    stored = { ...change, soaTo: { ...change.soaTo, rdata: withSerial(change.soaTo.rdata, serialNext(curSerial)) } };
    bumped = true;
  }
  const serialTo = soaSerial(stored.soaTo.rdata);
  return {
    kind: 'change', event: zoneChanged(stored, 'reload', actor, now, bumped ? { fileSerial } : {}), serialFrom: curSerial, serialTo,
    removed: stored.removed.length, added: stored.added.length, bumped,
  };
}
