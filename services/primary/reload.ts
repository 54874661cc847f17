// Zone-file reload: the difference between the stored zone and the file becomes one `reload` event.

import { compareSerial, serialNext } from '../../shared/dns/serial.ts';
import { zoneChanged, zoneCreated } from '../../shared/events/codec.ts';
import type { Actor, NewEvent } from '../../shared/events/types.ts';
import { diff, isEmptyChange } from '../../shared/zone/changeset.ts';
import { soaOf, soaSerial, withSerial, type Zone } from '../../shared/zone/zone.ts';

export type ReloadDecision =
  | { kind: 'create'; event: NewEvent; serial: number }
  | { kind: 'change'; event: NewEvent; serialFrom: number; serialTo: number; removed: number; added: number; bumped: boolean }
  | { kind: 'unchanged'; serial: number }
  | { kind: 'refused'; reason: string };

/**
 * Decides what loading `file` over `current` means. Pure: the caller appends the event.
 *
 * The file's serial must move forward (RFC 1982). When the data changed but the serial did
 * not, the serial is bumped by one, as Knot's `zonefile-load: difference-no-serial` does,
 * because secondaries would otherwise never see the change. A serial that went backwards, or
 * jumped by 2^31 (incomparable), is refused.
 */
export function decideReload(current: Zone | null, file: Zone, actor: Actor, now = new Date()): ReloadDecision {
  const fileSoa = soaOf(file);
  if (!fileSoa) return { kind: 'refused', reason: `zone ${file.origin} has no SOA` };
  const fileSerial = soaSerial(fileSoa.rdata);
  if (current === null) return { kind: 'create', event: zoneCreated(file, 'import', actor, now), serial: fileSerial };
  const curSoa = soaOf(current)!;
  const curSerial = soaSerial(curSoa.rdata);
  let change = diff(current, file);
  if (isEmptyChange(change)) return { kind: 'unchanged', serial: curSerial };
  let bumped = false;
  const order = compareSerial(fileSerial, curSerial);
  if (order === 'eq') {
    const next = serialNext(curSerial);
    change = { ...change, soaTo: { ...change.soaTo, rdata: withSerial(change.soaTo.rdata, next) } };
    bumped = true;
  } else if (order !== 'gt') {
    return { kind: 'refused', reason: `the file's serial ${fileSerial} is ${order === 'lt' ? 'behind' : 'incomparable with (2^31 away from)'} the stored serial ${curSerial}; secondaries would not follow. Raise it above ${curSerial}.` };
  }
  const serialTo = soaSerial(change.soaTo.rdata);
  return {
    kind: 'change', event: zoneChanged(change, 'reload', actor, now), serialFrom: curSerial, serialTo,
    removed: change.removed.length, added: change.added.length, bumped,
  };
}
