// `syndicate-ctl status`: one line per service, optionally coloured, or JSON.
import { displayState, type ServiceView } from './service-model.ts';
import { allCycles } from './why.ts';
import { compareText } from './text-order.ts';

const COLOURS: { [state: string]: string } = { ready: '32', complete: '32', started: '33', starting: '33', failed: '31', waiting: '36', held: '35' };

/** "3m12s" style duration from an RFC 3339 time to now. */
export function age(since: string | undefined, now = Date.now()): string {
  if (since === undefined) return '-';
  const ms = now - Date.parse(since);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** The row of one service: name, state, time in state, pid, restarts, last exit. */
export function statusRow(s: ServiceView, now = Date.now()): string[] {
  const state = displayState(s);
  return [s.text, state, age(s.since.get(state), now), String(s.status?.pid ?? '-'), String(s.status?.restarts ?? '-'), s.status?.lastExit ?? s.error ?? '-'];
}

/** The table as aligned text lines; `colour` adds ANSI colours to the state column. */
export function statusTable(services: Map<string, ServiceView>, colour = false, now = Date.now()): string[] {
  const rows = [['SERVICE', 'STATE', 'FOR', 'PID', 'RESTARTS', 'LAST EXIT']];
  const list = [...services.values()].sort((a, b) => compareText(a.text, b.text));
  for (const s of list) rows.push(statusRow(s, now));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, ri) => r.map((c, i) => {
    const cell = i === r.length - 1 ? c : c.padEnd(widths[i]);
    return colour && ri > 0 && i === 1 && COLOURS[c] ? `\x1b[${COLOURS[c]}m${cell}\x1b[0m` : cell;
  }).join('  ').trimEnd());
}

/** The table as JSON records. */
export function statusJson(services: Map<string, ServiceView>): unknown[] {
  return [...services.values()].sort((a, b) => compareText(a.text, b.text)).map((s) => ({
    service: s.text, state: displayState(s), states: s.states, since: s.since.get(displayState(s)) ?? null,
    required: s.required, running: s.running, held: s.held,
    pid: s.status?.pid ?? null, restarts: s.status?.restarts ?? null, lastExit: s.status?.lastExit ?? s.error ?? null,
    nextAttempt: s.status?.nextAttempt ?? null,
    dependsOn: s.dependsOn.map((d) => ({ on: d.dependee ?? d.text, state: d.wantedState ?? null, holds: d.holds })),
    cycles: allCycles(services).filter((c) => c.includes(s.text)),
  }));
}

/** One line per dependency cycle, to follow the table (services on a cycle never start). */
export function cycleLines(services: Map<string, ServiceView>): string[] {
  return allCycles(services).map((c) => `dependency cycle: ${c.join(' -> ')} (none of these can start)`);
}
